"""The one host probe: what the box behind a root has, gathered once, as one frozen value.

`probe(root)` only reads: files under the target root (`/usr/sbin/ipsec`,
`/etc/netplan/*.yaml`, `/proc/...`, `/sys/module/ip_vti`), read-only version
queries (`ipsec --version`) through `read_command` when the root is this
host, and, when asked, the interfaces over netlink. It never loads a module,
installs or writes anything, and it decides nothing: what the facts mean for
the plan (the backend, persistence, NAT, the preflight checks) is the core's
business (`wizard.host_defaults`, `wizard.preflight`). Tests hand it a fake
root and recorded command outputs, or build a `HostFacts` by hand.
"""

from __future__ import annotations

import gzip
import os
import platform
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from wizard.system.base import read_command
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

#: Commands the plan runs, by the package that ships them on Debian/Ubuntu.
TOOLS: Mapping[str, str] = {"ip": "iproute2", "iptables": "iptables", "sysctl": "procps"}

VtiSupport = Literal["loaded", "builtin", "module", "missing", "unknown"]
IptablesVariant = Literal["nf_tables", "legacy"]

Runner = Callable[[Sequence[str]], "str | None"]
"""Runs an argv read-only; returns its combined output, or None if it could not run."""

InterfaceReader = Callable[[], Sequence[HostInterface]]
"""Lists the host's interfaces (`wizard.system.netlink.read_interfaces`, or canned)."""

_BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_VERSION = re.compile(r"strongSwan\D*?(\d+\.\d+(?:\.\d+)?)")
_IPTABLES_VARIANT = re.compile(r"\((nf_tables|legacy)\)")


@dataclass(frozen=True)
class HostFacts:
    """What the box has; every field has a "don't know" value and none is a decision.

    Attributes:
        is_root: the effective user is root (needed to apply, not to preview).
        strongswan_version: e.g. "5.9.8"; None when no strongSwan command answered.
        starter: the `ipsec` starter script is installed (the stroke backend can run).
        swanctl: `swanctl` is installed (the vici backend can run).
        charon_systemd: charon-systemd, the daemon of swanctl-only boxes, is installed.
        tools: each tool of `TOOLS` -> its path under the root, or None when absent.
        vti: whether the kernel can make VTI interfaces: "loaded" (ip_vti is in),
            "builtin", "module" (present, loads on first use), "missing", or
            "unknown" (no kernel config to read).
        distribution: the os-release PRETTY_NAME, e.g. "Ubuntu 22.04.4 LTS".
        distribution_id: os-release ID and ID_LIKE words, e.g. ("ubuntu", "debian").
        os_release: an os-release file was found, so the root is an installed
            system rather than an empty directory (about which nothing is known).
        systemd: systemd is the running init (/run/systemd/system).
        ifupdown: `ifup` is installed, so /etc/network/interfaces is read at boot.
        netplan: netplan is installed *and* has configuration in /etc/netplan.
        networkd: systemd-networkd is enabled or has .network files in /etc.
        rc_local: /etc/rc.local exists (the seed's persistence appends to it).
        iptables: "nf_tables" or "legacy" flavour of `iptables`; None when unknown.
        netfilter_persistent: netfilter-persistent (rules.v4 at boot) is installed.
        interfaces: the interfaces with their state and IPv4 addresses, default
            route first; None when they were not read (files-only probe, or a
            root that is not this host).
        is_host: the root is this machine's `/`; False for a `--root` directory,
            whose kernel and daemons the engine simulates.
    """

    is_root: bool = False
    strongswan_version: str | None = None
    starter: bool = False
    swanctl: bool = False
    charon_systemd: bool = False
    tools: Mapping[str, str | None] = field(default_factory=dict)
    vti: VtiSupport = "unknown"
    distribution: str = ""
    distribution_id: tuple[str, ...] = ()
    os_release: bool = False
    systemd: bool = False
    ifupdown: bool = False
    netplan: bool = False
    networkd: bool = False
    rc_local: bool = False
    iptables: IptablesVariant | None = None
    netfilter_persistent: bool = False
    interfaces: tuple[HostInterface, ...] | None = None
    is_host: bool = True

    @property
    def major_version(self) -> int | None:
        """strongSwan's major version (5 or 6), when known."""
        if not self.strongswan_version:
            return None
        head = self.strongswan_version.split(".", 1)[0]
        return int(head) if head.isdigit() else None

    def interface(self, name: str) -> HostInterface | None:
        """The interface called `name`, if the probe listed one."""
        return next((i for i in self.interfaces or () if i.name == name), None)

    def with_interfaces(self, found: Sequence[HostInterface]) -> HostFacts:
        """These facts with the interface list read later (the TUI reads it off the first frame)."""
        return replace(self, interfaces=tuple(found))


# --------------------------------------------------------------------------- parsers


def strongswan_version(text: str | None) -> str | None:
    """"5.9.13" out of `ipsec --version` ("Linux strongSwan U5.9.13/K6.8...") or
    `swanctl --version` ("strongSwan swanctl 5.9.13", or "strongSwan 5.9.13 swanctl")."""
    match = _VERSION.search(text or "")
    return match.group(1) if match else None


def version_tuple(version: str) -> tuple[int, ...]:
    """"5.9.8" -> (5, 9, 8); non-numeric parts count as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def os_release(text: str) -> tuple[str, tuple[str, ...]]:
    """(PRETTY_NAME, (ID, *ID_LIKE)) out of an os-release file."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    ids = (values.get("ID", ""), *values.get("ID_LIKE", "").split())
    return values.get("PRETTY_NAME", values.get("NAME", "")), tuple(i for i in ids if i)


# --------------------------------------------------------------------------- file probes


def _local(root: Root, target: str) -> Path:
    """The probe's path under the root, symlinks left as they are.

    `Root.path` resolves links and refuses any that leave the root, which is
    right for writing; a probe only looks, and the Debian alternatives it
    reads are absolute links by design.
    """
    return root.root / target.lstrip("/")


def _read(root: Root, target: str) -> str | None:
    try:
        return _local(root, target).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _binary(root: Root, name: str) -> str | None:
    for directory in _BIN_DIRS:
        path = f"{directory}/{name}"
        if _local(root, path).exists():
            return path
    return None


def _has_glob(root: Root, directory: str, pattern: str) -> bool:
    local = _local(root, directory)
    return local.is_dir() and any(local.glob(pattern))


def _kernel_release(root: Root) -> str:
    text = _read(root, "/proc/sys/kernel/osrelease")
    if text and text.strip():
        return text.strip()
    return platform.release() if root.is_host else ""


def _kernel_config(root: Root, release: str) -> str | None:
    try:
        with gzip.open(_local(root, "/proc/config.gz"), "rt", encoding="utf-8") as fh:
            return str(fh.read())
    except (OSError, EOFError):
        pass
    return _read(root, f"/boot/config-{release}") if release else None


def _vti_support(root: Root) -> VtiSupport:
    if _local(root, "/sys/module/ip_vti").exists():
        return "loaded"
    release = _kernel_release(root)
    modules = f"/lib/modules/{release}"
    config = _kernel_config(root, release)
    if config is not None:
        if re.search(r"^CONFIG_NET_IPVTI=y", config, re.MULTILINE):
            return "builtin"
        if re.search(r"^CONFIG_NET_IPVTI=m", config, re.MULTILINE):
            dep = _read(root, f"{modules}/modules.dep") if release else None
            if dep is None:
                return "unknown"
            return "module" if "ip_vti.ko" in dep else "missing"
        return "missing"
    if not release:
        return "unknown"
    builtin = _read(root, f"{modules}/modules.builtin")
    dep = _read(root, f"{modules}/modules.dep")
    if builtin is None or dep is None:
        return "unknown"
    if "ip_vti.ko" in builtin:
        return "builtin"
    return "module" if "ip_vti.ko" in dep else "missing"


def _iptables_variant(root: Root, run: Runner | None) -> IptablesVariant | None:
    """From the Debian alternative's target, or from `iptables --version`."""
    link = _local(root, "/etc/alternatives/iptables")
    if link.is_symlink():
        target = link.readlink().name
        if target.endswith("-nft"):
            return "nf_tables"
        if target.endswith("-legacy"):
            return "legacy"
    if run is not None:
        match = _IPTABLES_VARIANT.search(run(["iptables", "--version"]) or "")
        if match:
            return match.group(1)  # type: ignore[return-value]
    return None


# --------------------------------------------------------------------------- the probe


def probe(
    root: Root,
    *,
    run: Runner | None = None,
    commands: bool = True,
    interfaces: InterfaceReader | None = None,
) -> HostFacts:
    """Look at the box behind `root`; changes nothing.

    Args:
        root: the target root; every file probe looks under it, so `--root DIR`
            describes DIR rather than this machine.
        run: runs the read-only version queries; by default `read_command`,
            and then only when `root` is this host (a directory's binaries
            are not this machine's). A runner given here is always used
            (tests pass recorded outputs).
        commands: False probes files only (no command runs at all).
        interfaces: lists the interfaces (`wizard.system.netlink.read_interfaces`
            on the host); None leaves `HostFacts.interfaces` unread. A reader
            that fails (OSError) leaves it unread too.
    """
    runner: Runner | None = None
    if commands:
        runner = run if run is not None else (read_command if root.is_host else None)
    starter = _binary(root, "ipsec") is not None
    swanctl = _binary(root, "swanctl") is not None
    charon_systemd = (_binary(root, "charon-systemd") is not None
                      or _local(root, "/usr/lib/ipsec/charon-systemd").exists())
    version = None
    if runner is not None:
        if starter:
            version = strongswan_version(runner(["ipsec", "--version"]))
        if version is None and swanctl:
            version = strongswan_version(runner(["swanctl", "--version"]))
    release_text = _read(root, "/etc/os-release") or _read(root, "/usr/lib/os-release")
    name, ids = os_release(release_text) if release_text is not None else ("", ())
    networkd_enabled = _local(
        root, "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    ).is_symlink()
    found: tuple[HostInterface, ...] | None = None
    if interfaces is not None:
        try:
            found = tuple(interfaces())
        except OSError:
            found = None
    return HostFacts(
        is_root=os.geteuid() == 0,
        strongswan_version=version,
        starter=starter,
        swanctl=swanctl,
        charon_systemd=charon_systemd,
        tools={tool: _binary(root, tool) for tool in TOOLS},
        vti=_vti_support(root),
        distribution=name,
        distribution_id=ids,
        os_release=release_text is not None,
        systemd=_local(root, "/run/systemd/system").is_dir(),
        ifupdown=_binary(root, "ifup") is not None,
        netplan=_binary(root, "netplan") is not None
        and _has_glob(root, "/etc/netplan", "*.yaml"),
        networkd=networkd_enabled or _has_glob(root, "/etc/systemd/network", "*.network"),
        rc_local=_local(root, "/etc/rc.local").exists(),
        iptables=_iptables_variant(root, runner),
        netfilter_persistent=_binary(root, "netfilter-persistent") is not None,
        interfaces=found,
        is_host=root.is_host,
    )


def describe(facts: HostFacts) -> str:
    """One line for `plan`: what the probe found (what it suggests is the core's to say)."""
    strongswan = [name for name, present in (("ipsec starter", facts.starter),
                                             ("swanctl", facts.swanctl),
                                             ("charon-systemd", facts.charon_systemd)) if present]
    version = f"strongSwan {facts.strongswan_version}" if facts.strongswan_version else "strongSwan"
    sw = f"{version} ({', '.join(strongswan)})" if strongswan else "no strongSwan"
    network = [name for name, present in (("netplan", facts.netplan),
                                          ("systemd-networkd", facts.networkd),
                                          ("ifupdown", facts.ifupdown)) if present]
    parts = [
        sw,
        "network by " + (", ".join(network) if network else "nothing the wizard knows"),
        "systemd" if facts.systemd else "no systemd",
        f"iptables {facts.iptables}" if facts.iptables else "iptables flavour unknown",
    ]
    if facts.netfilter_persistent:
        parts.append("netfilter-persistent")
    return "; ".join(parts)
