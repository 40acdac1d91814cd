"""Recorded status data for tests: strongSwan's replies from the lab, and canned snapshots.

The files under tests/data/status/ were recorded in the UML lab (strongSwan
5.9.8, the seed's settings, the lab's documentation-range addresses):

* `*_both_up`: both tunnels ESTABLISHED/INSTALLED, after pings over each VTI;
* `*_tunnel1_connecting`: tunnel 1's VGW address blocked with iptables until
  DPD gave up on it and charon started reconnecting (CONNECTING, no CHILD SA);
* `*_tunnel2_no_child`: tunnel 2's phase 2 proposal changed on our side to one
  the VGW refuses: IKE ESTABLISHED, no CHILD SA.

`vici_*.json` hold `{"version": ..., "sas": [list-sa events], "conns": [...]}`
with vici's byte strings decoded; `FakeViciSession` turns them back into bytes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from wizard.heartbeat import HeartbeatState, TargetState
from wizard.model import Choices, Connection, Setup, Tunnel
from wizard.secret import Secret
from wizard.status.assembly import build_snapshot
from wizard.status.desired import expected_from_setup
from wizard.status.model import Expected, LinkStatus, Route, StatusSnapshot
from wizard.system.statusall import parse_statusall
from wizard.system.vici_source import sas_from_events

DATA = Path(__file__).resolve().parent / "data" / "status"
TAKEN_AT = 1_800_000_000.0
"""A fixed wall-clock time for canned snapshots (no real clock on screen)."""
LAB_PSKS = ("lab.Tunnel1_k3y", "lab.Tunnel2_k3y")


def lab_setup(mode: str = "manual") -> Setup:
    """The seed's two tunnels at the lab's addresses (documentation ranges only)."""
    tunnels = (
        Tunnel(
            name="Tunnel1",
            customer_outside_ip=IPv4Address("198.51.100.10"),
            aws_outside_ip=IPv4Address("198.51.100.1"),
            customer_inside_cidr=IPv4Interface("169.254.23.6/30"),
            aws_inside_cidr=IPv4Interface("169.254.23.5/30"),
            psk=Secret(LAB_PSKS[0]),
            mark=100,
        ),
        Tunnel(
            name="Tunnel2",
            customer_outside_ip=IPv4Address("198.51.100.10"),
            aws_outside_ip=IPv4Address("198.51.100.2"),
            customer_inside_cidr=IPv4Interface("169.254.22.74/30"),
            aws_inside_cidr=IPv4Interface("169.254.22.73/30"),
            psk=Secret(LAB_PSKS[1]),
            mark=200,
        ),
    )
    choices = Choices(
        vpc_cidrs=(IPv4Network("203.0.113.0/24"),),
        mode=mode,  # type: ignore[arg-type]
        lan_interfaces=("lan0",),
    )
    return Setup(Connection(tunnels), choices)


def lab_expected() -> Expected:
    return expected_from_setup(lab_setup())


def vici_record(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"vici_{name}.json").read_text())


def _to_bytes(value: Any) -> Any:
    """Back to what the vici package hands out: bytes for values, dicts and lists kept."""
    if isinstance(value, dict):
        return {k: _to_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_bytes(v) for v in value]
    return value.encode() if isinstance(value, str) else value


class FakeViciSession:
    """Answers like `vici.Session` from a recorded file, and remembers commands sent."""

    def __init__(self, record: dict[str, Any], events: list[tuple[Any, Any]] | None = None):
        self.record = record
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.events = events or []
        self.closed = False

    def version(self) -> dict[str, bytes]:
        return _to_bytes(self.record["version"])

    def list_sas(self, filters: Any = None) -> Any:
        yield from (_to_bytes(event) for event in self.record["sas"])

    def list_conns(self, filters: Any = None) -> Any:
        yield from ({name: {}} for name in self.record["conns"])

    def initiate(self, message: dict[str, Any]) -> Any:
        self.commands.append(("initiate", message))
        yield {"msg": b"initiating"}

    def terminate(self, message: dict[str, Any]) -> Any:
        self.commands.append(("terminate", message))
        yield {"msg": b"deleting"}

    def listen(self, event_types: list[str], timeout: float = 1.0) -> Any:
        yield from self.events


def links_up() -> dict[str, LinkStatus]:
    return {
        "Tunnel1": LinkStatus("Tunnel1", True, 1419, "vti", 5392, 5392, 8, 8, 0, 0, 100, 100,
                              "198.51.100.10", "198.51.100.1",
                              (("169.254.23.6/30", "169.254.23.5/30"),)),
        "Tunnel2": LinkStatus("Tunnel2", True, 1419, "vti", 252, 252, 3, 3, 0, 0, 200, 200,
                              "198.51.100.10", "198.51.100.2",
                              (("169.254.22.74/30", "169.254.22.73/30"),)),
    }


ROUTES = [
    Route("0.0.0.0/0", "eth0", None),
    Route("203.0.113.0/24", "Tunnel1", 100),
    Route("203.0.113.0/24", "Tunnel2", 200),
]

MANGLE = """\
-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P FORWARD ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-A INPUT -s 198.51.100.1/32 -d 198.51.100.10/32 -p esp -j MARK --set-xmark 0x64/0xffffffff
-A INPUT -s 198.51.100.2/32 -d 198.51.100.10/32 -p esp -j MARK --set-xmark 0xc8/0xffffffff
-A FORWARD -o Tunnel1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A FORWARD -o Tunnel2 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
""".splitlines()


def heartbeat(
    *, silent_1: float = 2.0, silent_2: float = 3.0, lost_1: int | None = None
) -> HeartbeatState:
    """A heartbeat that wrote 1 s before TAKEN_AT; tunnel N last answered silent_N s earlier.

    Its counts agree with the silences, as the real heartbeat's do: a target
    silent for 40 s at a 5 s interval lost the last 8 of its 12 pings
    (`lost_1` overrides that for tunnel 1).
    """
    def lost(silent: float) -> int:
        return min(12, int((silent - 1) // 5))

    return HeartbeatState(
        updated=TAKEN_AT - 1,
        interval=5.0,
        pid=4242,
        targets=(
            TargetState("169.254.23.5", TAKEN_AT - silent_1, 0.42, TAKEN_AT - 1,
                        12 - (lost(silent_1) if lost_1 is None else lost_1), 12),
            TargetState("169.254.22.73", TAKEN_AT - silent_2, 0.57, TAKEN_AT - 1,
                        12 - lost(silent_2), 12),
        ),
    )


def snapshot_from_vici(name: str, **overrides: Any) -> StatusSnapshot:
    """A snapshot around one recorded vici reply; everything else healthy unless overridden."""
    record = vici_record(name)
    expected = overrides.pop("expected", None) or lab_expected()
    kwargs: dict[str, Any] = dict(
        taken_at=TAKEN_AT,
        source="vici",
        daemon_running=True,
        daemon_detail=f"strongSwan {record['version']['version']}",
        sas=sas_from_events(record["sas"]),
        loaded_conns=record["conns"],
        links=links_up(),
        routes=ROUTES,
        mangle=MANGLE,
        heartbeat=heartbeat(),
    )
    kwargs.update(overrides)
    return build_snapshot(expected, **kwargs)


def snapshot_from_statusall(name: str, **overrides: Any) -> StatusSnapshot:
    parsed = parse_statusall((DATA / f"statusall_{name}.txt").read_text())
    kwargs: dict[str, Any] = dict(
        taken_at=TAKEN_AT,
        source="ipsec statusall",
        daemon_running=parsed.running,
        daemon_detail=f"strongSwan {parsed.version}",
        sas=parsed.sas,
        loaded_conns=parsed.conns,
        links=links_up(),
        routes=ROUTES,
        mangle=MANGLE,
        heartbeat=heartbeat(),
    )
    kwargs.update(overrides)
    return build_snapshot(lab_expected(), **kwargs)


def not_running_snapshot() -> StatusSnapshot:
    """strongSwan stopped: no SAs, VTIs still there (manual mode), heartbeat failing."""
    return build_snapshot(
        lab_expected(),
        taken_at=TAKEN_AT,
        source="ipsec statusall",
        daemon_running=False,
        links=links_up(),
        routes=ROUTES,
        mangle=MANGLE,
        heartbeat=heartbeat(silent_1=95, silent_2=95),
    )


def nothing_applied_snapshot() -> StatusSnapshot:
    return build_snapshot(
        Expected(), taken_at=TAKEN_AT, source="none", daemon_running=False,
        daemon_detail="not installed: no vici socket and no ipsec command",
    )


class RecordedSource:
    """A status source that replays snapshots: the last one repeats."""

    def __init__(self, *snapshots: StatusSnapshot) -> None:
        self.snapshots = list(snapshots)
        self.calls = 0

    def snapshot(self) -> StatusSnapshot:
        snap = self.snapshots[min(self.calls, len(self.snapshots) - 1)]
        self.calls += 1
        return snap


def later(snapshot: StatusSnapshot, seconds: float, extra_bytes: int) -> StatusSnapshot:
    """The same snapshot `seconds` later with `extra_bytes` more through each CHILD SA."""
    tunnels = []
    for t in snapshot.tunnels:
        ike = t.ike
        if ike is not None and ike.children:
            kids = tuple(
                replace(c, bytes_in=c.bytes_in + extra_bytes, bytes_out=c.bytes_out + extra_bytes)
                for c in ike.children
            )
            ike = replace(ike, children=kids)
        beat = t.heartbeat
        if beat is not None:
            beat = replace(
                beat,
                last_reply=beat.last_reply + seconds if beat.last_reply is not None else None,
                last_attempt=beat.last_attempt + seconds if beat.last_attempt else None,
                counted_at=beat.counted_at + seconds if beat.counted_at else None,
            )
        tunnels.append(replace(t, ike=ike, heartbeat=beat))
    updated = snapshot.heartbeat_updated
    return replace(
        snapshot,
        taken_at=snapshot.taken_at + seconds,
        tunnels=tuple(tunnels),
        heartbeat_updated=updated + seconds if updated is not None else None,
    )
