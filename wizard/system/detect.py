"""What kind of box this is: which strongSwan, which network configuration, which iptables.

The AWS document assumes Ubuntu 16.04: the `ipsec` starter, ifupdown, rc.local.
Today's Ubuntu has netplan and, from 26.04, a strongSwan without the starter.
`detect` looks (read-only) and returns `HostFacts`; `defaults_for` turns
them into the backend and persistence the wizard proposes. The two are kept
apart so the decision is a pure function tests can drive with any facts.

The probes look for files under the target root (`/usr/sbin/ipsec`,
`/etc/netplan/*.yaml`...), so `--root DIR` describes DIR rather than this
machine; commands (`ipsec --version`, `iptables --version`) run only when the
root is the host, and through an injectable runner so tests need neither.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.model import Backend, Persistence, Setup
from wizard.system.paths import Root

IptablesVariant = Literal["nf_tables", "legacy"]

Runner = Callable[[Sequence[str]], "str | None"]
"""Runs an argv read-only; returns its combined output, or None if it could not run."""

_BIN_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
_VERSION = re.compile(r"strongSwan\D*?(\d+\.\d+(?:\.\d+)?)")
_IPTABLES_VARIANT = re.compile(r"\((nf_tables|legacy)\)")


@dataclass(frozen=True)
class HostFacts:
    """What the probes found; every field has a "don't know" value.

    Attributes:
        starter: the `ipsec` starter script is installed (stroke backend possible).
        swanctl: `swanctl` is installed (vici backend possible).
        charon_systemd: charon-systemd is installed (the daemon of swanctl-only boxes).
        strongswan_version: e.g. "5.9.13"; None when unknown.
        netplan: netplan is installed *and* has configuration in /etc/netplan.
        networkd: systemd-networkd is enabled or has .network files in /etc.
        ifupdown: `ifup` is installed, so /etc/network/interfaces is read at boot.
        systemd: systemd is PID 1.
        iptables: "nf_tables" or "legacy" flavour of `iptables`; None when unknown.
        netfilter_persistent: netfilter-persistent (rules.v4 at boot) is installed.
    """

    starter: bool = False
    swanctl: bool = False
    charon_systemd: bool = False
    strongswan_version: str | None = None
    netplan: bool = False
    networkd: bool = False
    ifupdown: bool = False
    systemd: bool = False
    iptables: IptablesVariant | None = None
    netfilter_persistent: bool = False

    @property
    def major_version(self) -> int | None:
        """strongSwan's major version (5 or 6), when known."""
        if not self.strongswan_version:
            return None
        return int(self.strongswan_version.split(".", 1)[0])


# --------------------------------------------------------------------------- decisions


def choose_backend(facts: HostFacts) -> Backend:
    """The document's starter when it is there, swanctl when only swanctl is.

    strongSwan 6 (Ubuntu 26.04) ships no starter by default; a box with only
    `swanctl` and charon-systemd can run nothing else. Where both exist, the
    document's stroke layout is kept: it is what the operator's guide shows.
    With nothing installed, a strongSwan 6 version (from the package list)
    still points at swanctl; otherwise the document's default stands and the
    preflight asks for strongSwan to be installed.
    """
    if facts.starter:
        return "stroke"
    if facts.swanctl or facts.charon_systemd:
        return "swanctl"
    if facts.major_version is not None and facts.major_version >= 6:
        return "swanctl"
    return "stroke"


def choose_persistence(facts: HostFacts) -> Persistence:
    """netplan where it configures the box, else networkd, else the document's ifupdown.

    netplan renders to systemd-networkd, so a box with netplan gets netplan
    files (writing networkd files beside netplan's own would be a second
    source of truth). "none" only when nothing that runs at boot was found.
    """
    if facts.netplan:
        return "netplan"
    if facts.networkd and facts.systemd:
        return "networkd"
    if facts.ifupdown:
        return "seed"
    return "none"


def defaults_for(facts: HostFacts) -> tuple[Backend, Persistence]:
    """The (backend, persistence) the wizard proposes for a box with these facts."""
    return choose_backend(facts), choose_persistence(facts)


SOURCE_DETECTED = "detected"
"""The `sources` value for a choice taken from the box rather than from a file or default."""


def detected_choices(facts: HostFacts) -> dict[str, str]:
    """The choices the box gives positive evidence for, to replace untouched defaults.

    Narrower than `defaults_for` on purpose: only what is *there* moves a
    default (no starter but swanctl: backend swanctl; netplan configured:
    netplan; networkd under systemd: networkd). Finding nothing changes
    nothing, so a `--root` directory without these files plans as before.
    """
    found: dict[str, str] = {}
    if not facts.starter and (facts.swanctl or facts.charon_systemd):
        found["backend"] = "swanctl"
    persistence = choose_persistence(facts)
    if persistence in ("netplan", "networkd"):
        found["persistence"] = persistence
    return found


def apply_detected(
    setup: Setup, sources: dict[str, str], facts: HostFacts
) -> tuple[Setup, dict[str, str]]:
    """`setup` with each choice still at its default replaced by what the box says.

    A value the operator gave (answers file, TUI) is never overridden; the
    replaced ones are marked `detected` in the returned sources.
    """
    from dataclasses import replace

    from wizard.answers import SOURCE_DEFAULT

    changes = {
        key: value
        for key, value in detected_choices(facts).items()
        if sources.get(f"choices.{key}", SOURCE_DEFAULT) == SOURCE_DEFAULT
    }
    if not changes:
        return setup, sources
    choices = replace(setup.choices, **changes)  # type: ignore[arg-type]
    new_sources = dict(sources)
    new_sources.update({f"choices.{key}": SOURCE_DETECTED for key in changes})
    return replace(setup, choices=choices), new_sources


def describe(facts: HostFacts) -> str:
    """One line for `plan` and the preflight screen: what was found, what that suggests."""
    strongswan = []
    if facts.starter:
        strongswan.append("ipsec starter")
    if facts.swanctl:
        strongswan.append("swanctl")
    if facts.charon_systemd:
        strongswan.append("charon-systemd")
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
    backend, persistence = defaults_for(facts)
    return f"{'; '.join(parts)} -> backend {backend}, persistence {persistence}"


# --------------------------------------------------------------------------- probes


def run_readonly(argv: Sequence[str]) -> str | None:
    """Run a version query; its output, or None when it is missing or hangs."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=10,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (proc.stdout or "") + (proc.stderr or "")


def _local(root: Root, target: str) -> Path:
    """The probe's path under the root, symlinks left as they are.

    `Root.path` resolves links and refuses any that leave the root, which is
    right for writing; a probe only looks, and the Debian alternatives it
    reads are absolute links by design.
    """
    return root.root / target.lstrip("/")


def _binary(root: Root, name: str) -> str | None:
    for directory in _BIN_DIRS:
        path = f"{directory}/{name}"
        if _local(root, path).exists():
            return path
    return None


def _has_glob(root: Root, directory: str, pattern: str) -> bool:
    local = _local(root, directory)
    return local.is_dir() and any(local.glob(pattern))


def strongswan_version(text: str | None) -> str | None:
    """"5.9.13" out of `ipsec --version` ("Linux strongSwan U5.9.13/K6.8...") or
    `swanctl --help` ("strongSwan 5.9.13 swanctl")."""
    match = _VERSION.search(text or "")
    return match.group(1) if match else None


def iptables_variant(root: Root, run: Runner | None) -> IptablesVariant | None:
    """From the Debian alternative's target, or from `iptables --version` on the host."""
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


def detect(root: Root, run: Runner | None = run_readonly) -> HostFacts:
    """Look at the box behind `root`; changes nothing.

    Args:
        root: the target root; file probes look under it.
        run: runs version queries; used only when `root` is the host.
            Pass None to probe files only.
    """
    runner = run if root.is_host else None
    starter = _binary(root, "ipsec") is not None
    swanctl = _binary(root, "swanctl") is not None
    charon_systemd = (_binary(root, "charon-systemd") is not None
                      or _local(root, "/usr/lib/ipsec/charon-systemd").exists())
    version = None
    if runner is not None:
        if starter:
            version = strongswan_version(runner(["ipsec", "--version"]))
        if version is None and swanctl:
            version = strongswan_version(runner(["swanctl", "--help"]))
    networkd_enabled = _local(
        root, "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    ).is_symlink()
    return HostFacts(
        starter=starter,
        swanctl=swanctl,
        charon_systemd=charon_systemd,
        strongswan_version=version,
        netplan=_binary(root, "netplan") is not None
        and _has_glob(root, "/etc/netplan", "*.yaml"),
        networkd=networkd_enabled or _has_glob(root, "/etc/systemd/network", "*.network"),
        ifupdown=_binary(root, "ifup") is not None,
        systemd=_local(root, "/run/systemd/system").is_dir(),
        iptables=iptables_variant(root, runner),
        netfilter_persistent=_binary(root, "netfilter-persistent") is not None,
    )
