"""The only code that touches the host: files, netlink, sysctl, iptables, strongSwan, systemd.

`System` bundles one adapter of each kind. Three ways to get one:

* `System.real(root)` - on `/`, the real host (needs root); under any other
  `--root`, real files in that directory and a simulated kernel beside them
  (see `wizard.system.simulated`), so nothing on this machine's network
  changes.
* `System.recording(root)` - reads what is there, records every change in
  `system.log` as the command an operator would type, writes nothing
  anywhere (`--dry-run`, the TUI's dry-run screen).

Every variant appends what it did to `system.log`, so the CLI can show it.

Beside the adapters, one probe says what the box has (`probe` -> `HostFacts`,
`wizard.system.host`), one helper runs commands (`run_argv`, `read_command`)
and one module owns netlink (`wizard.system.netlink`). This package decides
nothing: what the facts mean for the plan is the core's (`wizard.host_defaults`,
`wizard.preflight`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wizard.system.base import (
    Address,
    Frr,
    HostError,
    Iptables,
    LinkInfo,
    Links,
    Strongswan,
    Sysctl,
    Systemd,
    VtiInfo,
    read_command,
    run_argv,
)
from wizard.system.lazy import lazy_names
from wizard.system.paths import Root

if TYPE_CHECKING:
    from wizard.system.files import Files, FileState
    from wizard.system.host import HostFacts, probe
    from wizard.system.interfaces import HostInterface

# The adapters are imported when a `System` is built, not when this package is:
# importing `wizard.system.host` (the probe every front end starts with) would
# otherwise load every adapter, the simulation and the recorders (a third of
# `vpn-wizard plan`'s start-up). The names stay importable from here.
_LAZY = {
    "Files": "wizard.system.files",
    "FileState": "wizard.system.files",
    "RecordingFiles": "wizard.system.files",
    "HostFacts": "wizard.system.host",
    "probe": "wizard.system.host",
    "HostInterface": "wizard.system.interfaces",
    "CommandIptables": "wizard.system.iptables",
    "FrrDaemons": "wizard.system.frr",
    "NetlinkLinks": "wizard.system.netlink",
    "IpsecStrongswan": "wizard.system.strongswan",
    "ProcSysctl": "wizard.system.sysctl",
    "Systemctl": "wizard.system.systemd",
}


__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "Address",
    "FileState",
    "Files",
    "HostError",
    "HostFacts",
    "HostInterface",
    "LinkInfo",
    "Root",
    "System",
    "VtiInfo",
    "probe",
    "read_command",
    "run_argv",
]


@dataclass
class System:
    """One adapter per kind of host state, plus the log of what was done.

    Attributes:
        root: where the target's files live.
        files, links, sysctl, iptables, strongswan, systemd: the adapters.
        log: every change made (or, when recording, that would be made), in
            order, as command lines; never holds a secret.
        dry_run: True when recording; the engine then keeps no journal.
        simulated: True when the kernel side is the file-backed simulation.
    """

    root: Root
    files: Files
    links: Links
    sysctl: Sysctl
    iptables: Iptables
    strongswan: Strongswan
    systemd: Systemd
    log: list[str] = field(default_factory=list)
    dry_run: bool = False
    simulated: bool = False
    frr: Frr | None = None
    """FRR's daemons (BGP); None only for a System built without them."""

    @classmethod
    def real(cls, root: Root) -> System:
        """The host behind `root`: the real one on `/`, a simulated kernel elsewhere."""
        from wizard.system.files import Files
        from wizard.system.frr import FrrDaemons
        from wizard.system.iptables import CommandIptables
        from wizard.system.netlink import NetlinkLinks
        from wizard.system.strongswan import IpsecStrongswan
        from wizard.system.sysctl import ProcSysctl
        from wizard.system.systemd import Systemctl

        log: list[str] = []
        if not root.is_host:
            return cls._simulated(root, log, writable=True)
        return cls(
            root, Files(root, log), NetlinkLinks(log), ProcSysctl(log), CommandIptables(log),
            IpsecStrongswan(log), Systemctl(log), log, frr=FrrDaemons(log),
        )

    @classmethod
    def recording(cls, root: Root) -> System:
        """Reads `root` (and, on `/`, the live kernel); writes nothing anywhere."""
        from wizard.system import recording as rec
        from wizard.system.files import RecordingFiles

        inner = cls.real(root) if root.is_host else cls._simulated(root, [], writable=False)
        log: list[str] = []
        return cls(
            root,
            RecordingFiles(root, log),
            rec.RecordingLinks(inner.links, log),
            rec.RecordingSysctl(inner.sysctl, log),
            rec.RecordingIptables(
                inner.iptables, log, can_check=inner.simulated or rec.privileged()
            ),
            rec.RecordingStrongswan(inner.strongswan, log),
            rec.RecordingSystemd(inner.systemd, log),
            log,
            dry_run=True,
            simulated=inner.simulated,
            frr=rec.RecordingFrr(inner.frr, log) if inner.frr is not None else None,
        )

    @classmethod
    def _simulated(cls, root: Root, log: list[str], *, writable: bool) -> System:
        from wizard.system import simulated as sim
        from wizard.system.files import Files

        state = sim.SimState(root, writable=writable)
        return cls(
            root, Files(root, log), sim.SimLinks(state, log), sim.SimSysctl(state, log),
            sim.SimIptables(state, log), sim.SimStrongswan(state, root, log),
            sim.SimSystemd(state, log), log, simulated=True, frr=sim.SimFrr(state, log),
        )

    def close(self) -> None:
        """Release sockets held by the adapters (netlink)."""
        for adapter in (self.links, getattr(self.links, "inner", None)):
            close = getattr(adapter, "close", None)
            if close:
                close()
