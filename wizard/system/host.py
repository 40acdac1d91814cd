"""What this box offers the AWS document: root, strongSwan, the tools, VTI support, the distro.

`probe()` only reads (files under /proc, /sys, /etc, and `ipsec --version`); it
never loads a module or installs anything. `preflight()` turns the facts into
checks, each with a fix the operator can type, and says which of them block
applying the plan. Both are plain functions of plain data so that the welcome
screen, the plain prompts and the tests share them, and a test can hand the
screens a canned `HostFacts` instead of the machine it happens to run on.
"""

from __future__ import annotations

import gzip
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

#: The oldest strongSwan the AWS document recommends ("not recommended ... prior to 5.5.1").
MIN_STRONGSWAN = (5, 5, 1)
#: Commands the plan runs, by the package that ships them on Debian/Ubuntu.
TOOLS: Mapping[str, str] = {"ip": "iproute2", "iptables": "iptables", "sysctl": "procps"}

VtiSupport = Literal["loaded", "builtin", "module", "missing", "unknown"]
CheckStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class HostFacts:
    """What the probes found; every field is something a check or a screen shows.

    Attributes:
        is_root: the effective user is root (needed to apply, not to preview).
        strongswan_version: e.g. "5.9.8"; None when no strongSwan binary answered.
        tools: each tool of `TOOLS` -> its path, or None when it is not on PATH.
        vti: whether the kernel can make VTI interfaces: "loaded" (ip_vti is in),
            "builtin", "module" (present, loads on first use), "missing", or
            "unknown" (no kernel config to read).
        distribution: the os-release PRETTY_NAME, e.g. "Ubuntu 22.04.4 LTS".
        distribution_id: os-release ID and ID_LIKE words, e.g. ("ubuntu", "debian"),
            so a fix can name the right package manager.
        ifupdown: `ifup` exists, so /etc/network/interfaces is read at boot
            (the seed's persistence relies on it).
    """

    is_root: bool
    strongswan_version: str | None
    tools: Mapping[str, str | None] = field(default_factory=dict)
    vti: VtiSupport = "unknown"
    distribution: str = ""
    distribution_id: tuple[str, ...] = ()
    ifupdown: bool = False


@dataclass(frozen=True)
class Check:
    """One preflight check, as the welcome screen lists it.

    Attributes:
        id: stable key ("root", "strongswan", "tool.ip", "vti", "distribution", "ifupdown").
        title: what is checked, in a few words.
        status: "pass", "warn" (shown, allowed) or "fail".
        detail: what was found.
        fix: a command or instruction that resolves a warning or failure ("" when passing).
        blocks_apply: a failure that stops the plan from being applied to this box;
            never true in a dry run, which changes nothing.
    """

    id: str
    title: str
    status: CheckStatus
    detail: str
    fix: str = ""
    blocks_apply: bool = False


Runner = Callable[[list[str]], str | None]
"""Runs an argv and returns its combined output, or None if it cannot run."""


def _run(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout or "") + (done.stderr or "")


def parse_strongswan_version(text: str) -> str | None:
    """The version in `ipsec --version` ("Linux strongSwan U5.9.8/K6.1.0") or
    `swanctl --version` ("strongSwan swanctl 5.9.8") output."""
    match = re.search(r"strongSwan\s+(?:U|swanctl\s+)?(\d+\.\d+\.\d+)", text)
    return match.group(1) if match else None


def version_tuple(version: str) -> tuple[int, ...]:
    """"5.9.8" -> (5, 9, 8); non-numeric parts count as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _strongswan_version(run: Runner) -> str | None:
    for argv in (["ipsec", "--version"], ["swanctl", "--version"]):
        if shutil.which(argv[0]) is None:
            continue
        out = run(argv)
        version = parse_strongswan_version(out or "")
        if version:
            return version
    return None


def _kernel_config(release: str) -> str | None:
    try:
        with gzip.open("/proc/config.gz", "rt", encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        pass
    try:
        return Path(f"/boot/config-{release}").read_text(encoding="utf-8")
    except OSError:
        return None


def _vti_support(release: str) -> VtiSupport:
    if Path("/sys/module/ip_vti").exists():
        return "loaded"
    config = _kernel_config(release)
    if config is not None:
        if re.search(r"^CONFIG_NET_IPVTI=y", config, re.MULTILINE):
            return "builtin"
        if re.search(r"^CONFIG_NET_IPVTI=m", config, re.MULTILINE):
            modules = Path(f"/lib/modules/{release}")
            dep = modules / "modules.dep"
            try:
                return "module" if "ip_vti.ko" in dep.read_text(encoding="utf-8") else "missing"
            except OSError:
                return "unknown"
        return "missing"
    try:
        text = Path(f"/lib/modules/{release}/modules.builtin").read_text(encoding="utf-8")
        if "ip_vti.ko" in text:
            return "builtin"
        dep = Path(f"/lib/modules/{release}/modules.dep").read_text(encoding="utf-8")
        return "module" if "ip_vti.ko" in dep else "missing"
    except OSError:
        return "unknown"


def _os_release() -> tuple[str, tuple[str, ...]]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError:
            continue
        values = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip().strip('"')
        ids = (values.get("ID", ""), *values.get("ID_LIKE", "").split())
        return values.get("PRETTY_NAME", values.get("NAME", "")), tuple(i for i in ids if i)
    return "", ()


def probe(run: Runner = _run) -> HostFacts:
    """Read this machine's facts. Read-only: nothing is loaded, installed or written."""
    name, ids = _os_release()
    return HostFacts(
        is_root=os.geteuid() == 0,
        strongswan_version=_strongswan_version(run),
        tools={tool: shutil.which(tool) for tool in TOOLS},
        vti=_vti_support(platform.release()),
        distribution=name,
        distribution_id=ids,
        ifupdown=shutil.which("ifup") is not None,
    )


def install_command(facts: HostFacts, debian_package: str, other_package: str = "") -> str:
    """The command that installs a package on this distribution, as the operator would type it."""
    ids = set(facts.distribution_id)
    if ids & {"debian", "ubuntu"}:
        return f"sudo apt install {debian_package}"
    package = other_package or debian_package
    if ids & {"fedora", "rhel", "centos"}:
        return f"sudo dnf install {package}"
    if ids & {"suse", "opensuse"}:
        return f"sudo zypper install {package}"
    if "arch" in ids:
        return f"sudo pacman -S {package}"
    if "alpine" in ids:
        return f"sudo apk add {package}"
    return f"install {package} with your distribution's package manager"


def preflight(facts: HostFacts, *, dry_run: bool) -> list[Check]:
    """The welcome screen's checks, in the order an operator fixes them.

    A dry run blocks nothing: it records instead of changing, so it needs no
    root, no strongSwan and no VTI support.
    """
    blocks = not dry_run
    checks: list[Check] = []
    if facts.is_root:
        checks.append(Check("root", "Running as root", "pass", "yes"))
    elif dry_run:
        checks.append(Check("root", "Running as root", "pass",
                            "not needed: a dry run changes nothing"))
    else:
        checks.append(Check("root", "Running as root", "fail",
                            "no: the plan writes to /etc and configures the network",
                            "run it again with sudo (sudo vpn-wizard), or add --dry-run", blocks))

    version = facts.strongswan_version
    install = install_command(facts, "strongswan-starter", "strongswan")
    if version is None:
        checks.append(Check("strongswan", "strongSwan installed", "fail",
                            "no 'ipsec' or 'swanctl' command answered", install, blocks))
    elif version_tuple(version) < MIN_STRONGSWAN:
        checks.append(Check("strongswan", "strongSwan installed", "warn",
                            f"version {version}: AWS does not recommend versions before 5.5.1",
                            "install strongSwan 5.5.1 or later (your distribution's "
                            "backports, or a newer release)"))
    else:
        checks.append(Check("strongswan", "strongSwan installed", "pass", f"version {version}"))

    for tool, package in TOOLS.items():
        path = facts.tools.get(tool)
        if path:
            checks.append(Check(f"tool.{tool}", f"'{tool}' command", "pass", path))
        else:
            checks.append(Check(f"tool.{tool}", f"'{tool}' command", "fail", "not found on PATH",
                                install_command(facts, package), blocks))

    vti_title = "Kernel support for VTI (ip_vti)"
    if facts.vti in ("loaded", "builtin"):
        checks.append(Check("vti", vti_title, "pass", f"ip_vti is {facts.vti}"))
    elif facts.vti == "module":
        checks.append(Check("vti", vti_title, "pass", "ip_vti module available (loads on use)"))
    elif facts.vti == "missing":
        checks.append(Check("vti", vti_title, "fail",
                            "this kernel has no ip_vti: 'ip link add ... type vti' will fail",
                            "install a kernel with CONFIG_NET_IPVTI (on Ubuntu: sudo apt "
                            "install linux-modules-extra-$(uname -r))", blocks))
    else:
        checks.append(Check("vti", vti_title, "warn", "no kernel configuration to read",
                            "check with: sudo modprobe ip_vti"))

    if facts.distribution:
        if set(facts.distribution_id) & {"debian", "ubuntu"}:
            checks.append(Check("distribution", "Distribution", "pass", facts.distribution))
        else:
            checks.append(Check("distribution", "Distribution", "warn",
                                f"{facts.distribution}: AWS tested the document on Ubuntu only",
                                "paths and package names may differ; review the plan closely"))
    else:
        checks.append(Check("distribution", "Distribution", "warn", "no /etc/os-release",
                            "review the plan closely"))

    if facts.ifupdown:
        checks.append(Check("ifupdown", "ifupdown (for persistence)", "pass", "ifup found"))
    else:
        checks.append(Check("ifupdown", "ifupdown (for persistence)", "warn",
                            "no 'ifup': /etc/network/interfaces is not read at boot, so the "
                            "seed's persistence would not bring the tunnels back",
                            install_command(facts, "ifupdown")
                            + ", or choose persistence netplan or systemd-networkd"))
    return checks


def blocking(checks: list[Check]) -> list[Check]:
    """The failed checks that stop the plan from being applied."""
    return [c for c in checks if c.status == "fail" and c.blocks_apply]
