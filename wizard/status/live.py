"""The live status source: reads a target through its readers, acts only through a `System`.

On this machine one `snapshot()` reads over one vici session and one
netlink socket, both kept open from one refresh to the next (or runs `ipsec
statusall` when there is no vici socket), asks the kernel whether the mangle
table changed and runs `iptables -t mangle -S` only when it did
(`wizard.system.iptables_status.MangleReader`); or reads one JSON file under
`--root`; and reads the heartbeat's small state file. The keys' actions (`initiate`, `terminate`,
`block_peer`, `unblock_peer`) go through the same `System` seam apply uses,
chosen in one place, `open_status`: `System.recording` under `--dry-run`
only records the command, the simulated kernel under `--root` changes only
its file, and only `System.real` on `/` acts on this machine.

It is imported on its own (`wizard.status.live`), not through the package's
face: it builds on `wizard.system`, whose readers build on this package's
leaf model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from wizard.heartbeat import STATE_FILE, read_state
from wizard.status.assembly import build_snapshot
from wizard.status.bgp import read_bgp
from wizard.status.model import (
    THIS_BOX,
    BgpReading,
    Expected,
    ExpectedTunnel,
    LinkStatus,
    Route,
    StatusSnapshot,
    StrongswanReading,
    Target,
)
from wizard.status.sources import StatusReaders
from wizard.system import (
    System,
    iptables_status,
    netlink_status,
    statusall,
    vici_source,
)
from wizard.system.base import HostError
from wizard.system.frr import FrrDaemons
from wizard.system.paths import Root
from wizard.system.simulated import SimStatusReaders

VICI_SOCKET = "/var/run/charon.vici"
FAILOVER_TABLE = "filter"
FAILOVER_CHAIN = "INPUT"
MAX_RULE_COPIES = 16
"""`unblock_peer` removes at most this many copies of the DROP rule (a loop bound, not a limit
anyone should reach: `block_peer` adds one only when none is there)."""


class HostReaders:
    """This machine's strongSwan, kernel and iptables, read without changing anything.

    Args:
        vici_socket: charon's vici socket.
    """

    def __init__(self, vici_socket: str = VICI_SOCKET) -> None:
        self.vici_socket = vici_socket
        self._vici = vici_source.ViciReader(vici_socket)
        self._netlink: netlink_status.NetlinkReader | None = None
        self._mangle = iptables_status.MangleReader()

    def strongswan(self, notes: list[str]) -> StrongswanReading:
        """vici when charon serves it, else `ipsec statusall`."""
        if Path(self.vici_socket).exists():
            try:
                reading = self._vici.read()
            except ConnectionRefusedError:
                return "vici", False, "its vici socket refuses connections", [], None
            except (OSError, vici_source.ViciError) as err:
                notes.append(f"vici: {err}")
                return "vici", False, f"vici failed: {err}", [], None
            return "vici", True, f"strongSwan {reading.version}", list(reading.sas), list(
                reading.conns
            )
        try:
            result = statusall.read_statusall()
        except FileNotFoundError:
            return "none", False, "not installed: no vici socket and no ipsec command", [], None
        except (HostError, OSError, ValueError) as err:
            return "ipsec statusall", False, f"ipsec statusall failed: {err}", [], None
        if not result.running:
            return "ipsec statusall", False, "", [], None
        return (
            "ipsec statusall",
            True,
            f"strongSwan {result.version}",
            list(result.sas),
            list(result.conns),
        )

    def links(self, names: Sequence[str]) -> tuple[dict[str, LinkStatus], list[Route]]:
        if self._netlink is None:
            self._netlink = netlink_status.NetlinkReader()
        return self._netlink.read(names)

    def close(self) -> None:
        """Close the kept vici session, netlink socket and the mangle table's probe."""
        self._vici.close()
        self._mangle.close()
        if self._netlink is not None:
            self._netlink.close()
            self._netlink = None

    def mangle(self) -> tuple[list[str] | None, str]:
        """`iptables -t mangle -S`, run only when the kernel says the table changed."""
        return self._mangle.read()

    @property
    def rules_watch(self) -> str:
        """How a change of the mangle rules is told between two `-S` (`MangleReader.watch`)."""
        return self._mangle.watch

    def bgp(self) -> BgpReading:
        """FRR's BGP neighbors, for a BGP setup (`vtysh -c 'show bgp neighbors json'`)."""
        return read_bgp(FrrDaemons([]))

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        vici_source.listen(self.vici_socket, stop, notify)

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        netlink_status.watch(stop, notify)


def drop_rule(address: str) -> list[str]:
    """The document's failover test rule for one VGW address (`iptables -A INPUT` ... this)."""
    return ["-s", address, "-j", "DROP"]


class LiveStatus:
    """A target's tunnels, read by `readers` and changed only through a `System`.

    It is safe to call from any thread; the status panel calls it from a
    worker thread. Nothing here can reach the host except through `system`
    and `readers`.

    Args:
        expected: the tunnels to report on.
        system: what the keys act through; None for this machine's (made on first use).
        readers: what the snapshots read; None for this machine's (`HostReaders`).
        target: which box this is, shown by the panel and `status`.
        heartbeat_file: local path of the heartbeat's state file.
        vici_socket: charon's vici socket, for the default `HostReaders`.
        clock: wall-clock time, for `taken_at`.
    """

    def __init__(
        self,
        expected: Expected,
        *,
        system: System | None = None,
        readers: StatusReaders | None = None,
        target: Target = THIS_BOX,
        heartbeat_file: str = STATE_FILE,
        vici_socket: str = VICI_SOCKET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.expected = expected
        self._system = system
        self.readers: StatusReaders = readers or HostReaders(vici_socket)
        self.target = target
        self.heartbeat_file = heartbeat_file
        self.clock = clock
        self._lock = threading.Lock()

    @property
    def system(self) -> System:
        """The seam the keys act through (this machine's real one unless given)."""
        if self._system is None:
            self._system = System.real(Root("/"))
        return self._system

    # -- reading ---------------------------------------------------------------

    def snapshot(self) -> StatusSnapshot:
        """Read everything once."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> StatusSnapshot:
        notes: list[str] = []
        source, running, detail, sas, loaded = self.readers.strongswan(notes)
        names = [t.name for t in self.expected.tunnels]
        links: dict[str, LinkStatus] | None = {}
        routes: list[Route] | None = []
        mangle: list[str] | None = None
        rules_source = "not read: no tunnels to check"
        rules_watch = ""
        if names:
            try:
                links, routes = self.readers.links(names)
            except Exception as err:  # pyroute2 raises its own errors for netlink failures
                links, routes = None, None
                notes.append(f"netlink could not be read: {err}")
            mangle, rules_source = self.readers.mangle()
            rules_watch = getattr(self.readers, "rules_watch", "")  # the host's readers have one
            if mangle is None and any(t.rules for t in self.expected.tunnels):
                notes.append(f"mangle rules not checked: {rules_source}")
        try:
            beat = read_state(self.heartbeat_file)
        except (OSError, ValueError) as err:
            beat = None
            notes.append(f"heartbeat state unreadable: {err}")
        bgp = None
        read_bgp = getattr(self.readers, "bgp", None)  # readers without FRR have none
        if read_bgp is not None and any(t.bgp_neighbor for t in self.expected.tunnels):
            bgp = read_bgp()
        return build_snapshot(
            self.expected,
            taken_at=self.clock(),
            source=source,
            daemon_running=running,
            daemon_detail=detail,
            sas=sas,
            loaded_conns=loaded,
            links=links,
            routes=routes,
            mangle=mangle,
            rules_source=rules_source,
            rules_watch=rules_watch,
            heartbeat=beat,
            heartbeat_file=self.heartbeat_file,
            notes=notes,
            target=self.target,
            bgp=bgp,
        )

    def close(self) -> None:
        """Let go of what the readers keep open between refreshes (sockets, a thread)."""
        close = getattr(self.readers, "close", None)
        if close is not None:
            close()

    # -- controls --------------------------------------------------------------

    def _tunnel(self, name: str) -> ExpectedTunnel:
        for tunnel in self.expected.tunnels:
            if tunnel.name == name:
                return tunnel
        raise KeyError(name)

    def _peer(self, name: str) -> str:
        peer = self._tunnel(name).aws_outside_ip
        if not peer:
            raise KeyError(f"{name}: its AWS endpoint is not known")
        return peer

    def _did(self, action: Callable[[System], None], done: str) -> str:
        """Run one key's action through the seam; say what was done, or only recorded."""
        system = self.system
        before = len(system.log)
        action(system)
        commands = "; ".join(system.log[before:]) or "nothing (already so)"
        if self.target.dry_run:
            return f"Dry run: would run {commands}. Nothing was changed."
        if self.target.root is not None:
            return f"{done} in the simulated kernel under --root {self.target.root} ({commands})"
        return done

    def initiate(self, name: str) -> str:
        """Ask charon to bring tunnel `name` up (vici `initiate`, returning at once)."""
        self._tunnel(name)
        return self._did(lambda s: s.strongswan.initiate(name),
                         f"asked strongSwan to bring {name} up")

    def terminate(self, name: str) -> str:
        """Ask charon to take tunnel `name` down (vici `terminate` of its IKE SA)."""
        self._tunnel(name)
        return self._did(lambda s: s.strongswan.terminate(name),
                         f"asked strongSwan to take {name} down")

    def block_peer(self, name: str) -> str:
        """The document's failover test: drop everything from this tunnel's VGW address, once."""
        peer = self._peer(name)
        rule = drop_rule(peer)

        def block(system: System) -> None:
            if not system.iptables.present(FAILOVER_TABLE, FAILOVER_CHAIN, rule):
                system.iptables.append(FAILOVER_TABLE, FAILOVER_CHAIN, rule)

        return self._did(block, f"dropping all packets from {peer} ({name}'s AWS endpoint)")

    def unblock_peer(self, name: str) -> str:
        """Undo `block_peer` (every copy of its rule)."""
        peer = self._peer(name)
        rule = drop_rule(peer)

        def unblock(system: System) -> None:
            # A recording System answers `present` as the box would be after what it
            # recorded, so a dry run's recorded block is undone by a recorded delete.
            for _ in range(MAX_RULE_COPIES):
                if not system.iptables.present(FAILOVER_TABLE, FAILOVER_CHAIN, rule):
                    return
                system.iptables.delete(FAILOVER_TABLE, FAILOVER_CHAIN, rule)

        return self._did(unblock, f"no longer dropping packets from {peer}")

    def peer_blocked(self, name: str) -> bool:
        """Whether the failover test's DROP rule for this tunnel is in place."""
        peer = self._tunnel(name).aws_outside_ip
        return bool(peer) and self.system.iptables.present(
            FAILOVER_TABLE, FAILOVER_CHAIN, drop_rule(peer or "")
        )

    # -- events ----------------------------------------------------------------

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        """Call `notify` on every IKE/CHILD SA up or down event until `stop` is set.

        Returns at once when there is nothing to listen to (no vici socket, a
        simulated daemon): the panel then keeps to its interval refresh.
        """
        self.readers.watch_strongswan(stop, notify)

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        """Call `notify` on every link, address or route change until `stop` is set."""
        self.readers.watch_netlink(stop, notify)


def open_status(expected: Expected, root: Root, *, dry_run: bool) -> LiveStatus:
    """The status source for a target, acting and reading only where the target allows.

    The one place that turns `--dry-run`/`--root` into a source, for the TUI
    and `vpn-wizard status` alike, with the same choice apply makes:
    `System.recording(root)` for a dry run, `System.real(root)` otherwise
    (a simulated kernel under any root but `/`); and the simulated kernel's
    readers under a root, this machine's only on `/`.
    """
    system = System.recording(root) if dry_run else System.real(root)
    readers: StatusReaders = SimStatusReaders(root) if system.simulated else HostReaders()
    target = Target(dry_run=dry_run, root=None if root.is_host else str(root.root))
    return LiveStatus(
        expected,
        system=system,
        readers=readers,
        target=target,
        heartbeat_file=str(root.path(STATE_FILE)),
    )
