"""The status screen: SVG snapshots of its four states, and its keys, on recorded data."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from screens_support import wait_for
from status_fixtures import (
    LAB_PSKS,
    RecordedSource,
    heartbeat,
    later,
    not_running_snapshot,
    nothing_applied_snapshot,
    snapshot_from_vici,
)

from screens.dialogs import ConfirmDialog
from screens.status import StatusApp, StatusScreen, TunnelPanel
from wizard.status.model import StatusSnapshot, Target

SIZE = (120, 36)
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots" / "test_status_screen"


@pytest.fixture(autouse=True)
def _fixed_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)


def _traffic(first: StatusSnapshot, rounds: int = 5) -> list[StatusSnapshot]:
    """The first reading and `rounds` more, 5 s apart, with rising traffic."""
    return [first] + [later(first, 5 * i, 1000 * i * i) for i in range(1, rounds + 1)]


def _app(*snapshots: StatusSnapshot, source: Any = None) -> StatusApp:
    return StatusApp(source or RecordedSource(*snapshots), refresh_interval=None,
                     threaded=False, watch=False)


async def _refresh(pilot: Any, times: int = 5) -> None:
    for _ in range(times):
        await pilot.press("r")
    await pilot.pause()


SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
"""The panel's states at a console's size and a roomy one; none may be cut off."""


def _dry_run() -> StatusSnapshot:
    return replace(not_running_snapshot(), target=Target(dry_run=True))


STATES: dict[str, Callable[[], list[StatusSnapshot]]] = {
    "both_up": lambda: _traffic(snapshot_from_vici("both_up")),
    "one_down": lambda: _traffic(
        snapshot_from_vici("tunnel1_connecting", heartbeat=heartbeat(silent_1=40))),
    "strongswan_stopped": lambda: [not_running_snapshot()],
    "dry_run": lambda: [_dry_run()],
    "nothing_applied": lambda: [nothing_applied_snapshot()],
}


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("state", sorted(STATES))
def test_snapshot(snap_compare: Callable[..., bool], state: str, size: str) -> None:
    app = _app(*STATES[state]())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_refresh)


@pytest.mark.parametrize("state", ["one_down", "strongswan_stopped"])
def test_snapshot_80x24_scrolled_to_the_diagnosis(
    snap_compare: Callable[..., bool], state: str
) -> None:
    """At 80x24 the rest is a scroll away: the bottom of the panel, diagnosis whole."""
    async def to_the_end(pilot: Any) -> None:
        await _refresh(pilot)
        await pilot.press("end")
        await pilot.pause()

    app = _app(*STATES[state]())
    assert snap_compare(app, terminal_size=SIZES["80x24"], run_before=to_the_end)


def test_snapshots_hold_no_secret_and_no_host_detail() -> None:
    files = sorted(SNAPSHOTS.glob("*.svg"))
    if not files:
        pytest.skip("snapshots not generated yet (run with --snapshot-update)")
    import socket

    hostname = socket.gethostname()
    for svg in files:
        text = svg.read_text()
        for psk in LAB_PSKS:
            assert psk not in text
        assert hostname not in text


# --------------------------------------------------------------------------- behaviour


@pytest.mark.asyncio
async def test_panels_show_each_tunnel_and_the_diagnosis() -> None:
    app = _app(snapshot_from_vici("tunnel2_no_child"))
    async with app.run_test(size=SIZE):
        panels = list(app.screen.query(TunnelPanel))
        assert [p.border_title for p in panels] == ["Tunnel 1 · Tunnel1", "Tunnel 2 · Tunnel2"]
        assert [p.border_subtitle for p in panels] == ["UP", "DOWN"]
        diagnosis = str(app.screen.query_one("#diagnosis").render())
        assert "Tunnel 2: IKE up, no CHILD SA — check phase 2 proposals." in diagnosis
        assert app.last_snapshot is not None and not app.last_snapshot.all_up


@pytest.mark.asyncio
async def test_sparkline_gets_a_rate_per_refresh() -> None:
    from textual.widgets import Sparkline

    app = _app(*_traffic(snapshot_from_vici("both_up"), rounds=3))
    async with app.run_test(size=SIZE) as pilot:
        await _refresh(pilot, 3)
        data = list(app.screen.query_one("#tunnel-1").query_one(Sparkline).data or [])
        # (in + out) grows by 2 * 1000 * (i² - (i-1)²) bytes every 5 s.
        assert data == [400.0, 1200.0, 2000.0]


class ControlledSource(RecordedSource):
    """Recorded data plus the controls, recording what the keys asked for."""

    def __init__(self, *snapshots: StatusSnapshot) -> None:
        super().__init__(*snapshots)
        self.asked: list[str] = []

    def initiate(self, name: str) -> str:
        self.asked.append(f"initiate {name}")
        return f"asked strongSwan to bring {name} up"

    def terminate(self, name: str) -> str:
        self.asked.append(f"terminate {name}")
        return f"asked strongSwan to take {name} down"

    def block_peer(self, name: str) -> str:
        self.asked.append(f"block {name}")
        return "blocked"

    def unblock_peer(self, name: str) -> str:
        self.asked.append(f"unblock {name}")
        return "unblocked"


@pytest.mark.asyncio
async def test_keys_ask_first_then_act_on_the_selected_tunnel() -> None:
    source = ControlledSource(snapshot_from_vici("both_up"))
    app = _app(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # cancelled: nothing asked
        assert isinstance(app.screen, StatusScreen) and source.asked == []
        await pilot.press("d")
        await pilot.click("#yes")
        await pilot.pause()
        assert source.asked == ["terminate Tunnel2"]
        await pilot.press("1", "u", "y")
        await pilot.pause()
        assert source.asked[-1] == "initiate Tunnel1"
        notice = str(app.screen.query_one("#notice").render())
        assert "bring Tunnel1 up" in notice


@pytest.mark.asyncio
async def test_failover_test_blocks_then_unblocks() -> None:
    source = ControlledSource(snapshot_from_vici("both_up"))
    app = _app(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "iptables -A INPUT -s 198.51.100.1 -j DROP" in str(dialog.body)
        await pilot.press("y")
        await pilot.pause()
        await pilot.press("f")
        assert "iptables -D INPUT -s 198.51.100.1 -j DROP" in str(app.screen.body)  # type: ignore[attr-defined]
        await pilot.press("y")
        await pilot.pause()
        assert source.asked == ["block Tunnel1", "unblock Tunnel1"]


@pytest.mark.asyncio
async def test_recorded_data_cannot_change_anything() -> None:
    app = _app(snapshot_from_vici("both_up"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        assert isinstance(app.screen, StatusScreen)
        assert "cannot change the tunnels" in str(app.screen.query_one("#notice").render())


class EventedSource(RecordedSource):
    """Recorded data whose watchers fire one event each, then wait to be stopped."""

    def __init__(self, *snapshots: StatusSnapshot) -> None:
        super().__init__(*snapshots)
        self.stopped = threading.Event()

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        notify("child-updown Tunnel1 down")
        stop.wait(10)
        self.stopped.set()

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        notify("RTM_DELROUTE 203.0.113.0")
        stop.wait(10)


@pytest.mark.asyncio
async def test_events_trigger_a_threaded_refresh() -> None:
    down = snapshot_from_vici("tunnel1_connecting")
    source = EventedSource(snapshot_from_vici("both_up"), down)
    app = StatusApp(source, refresh_interval=None, threaded=True, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if app.last_snapshot is down:
                break
        assert app.last_snapshot is down
        # Two events in one burst cost one extra reading, not two.
        assert source.calls == 2
        panel = app.screen.query_one("#tunnel-1", TunnelPanel)
        assert panel.border_subtitle == "DOWN"
    assert source.stopped.wait(5)


# --------------------------------------------------------------------------- issue 11, items 4-7


def _shown_keys(screen: Any) -> set[str]:
    return {key for key, active in screen.active_bindings.items() if active.binding.show}



@pytest.mark.asyncio
async def test_escape_and_ctrl_p_return_to_the_wizard(tmp_path: Path) -> None:
    """Opened from the wizard's last step, the panel is no dead end; the footer offers what works."""
    from screens_support import make_app

    from screens.status_step import StatusStepScreen

    app = make_app(tmp_path, start="status", dry_run=True,
                   status_source=lambda setup: RecordedSource(_dry_run()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StatusStepScreen), "the status step")
        for back in ("escape", "ctrl+p"):
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen), "the live panel")
            shown = _shown_keys(app.screen)
            assert {"escape", "q", "u", "d", "f", "r", "f1"} <= shown
            assert not shown & {"ctrl+n", "ctrl+s"}  # the wizard's keys, which do nothing here
            await pilot.press(back)
            await wait_for(pilot, lambda: isinstance(app.screen, StatusStepScreen),
                         f"{back} back to the wizard")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen), "the live panel")
        await pilot.press("f1")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpDialog", "the help")


@pytest.mark.asyncio
async def test_standalone_panel_offers_no_way_back() -> None:
    """`vpn-wizard status` has no wizard behind it: no Back in the footer, Escape does nothing."""
    app = _app(snapshot_from_vici("both_up"))
    async with app.run_test(size=(80, 24)) as pilot:
        assert "escape" not in _shown_keys(app.screen) and "q" in _shown_keys(app.screen)
        await pilot.press("escape")
        assert isinstance(app.screen, StatusScreen)


class NetlinkOnlyReaders:
    """Canned strongSwan and rules; the links and routes read from this kernel, read-only."""

    def strongswan(self, notes: list[str]) -> Any:
        return "vici", True, "strongSwan 5.9.8", [], ["lo"]

    def links(self, names: Any) -> Any:
        from wizard.system import netlink_status

        return netlink_status.read(names)

    def mangle(self) -> tuple[list[str] | None, str]:
        return [], "iptables -t mangle -S"

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        return None

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        return None


@pytest.mark.asyncio
async def test_first_frame_reads_netlink_as_truly_as_the_tenth(tmp_path: Path) -> None:
    """No "event loop is already running" on the first reading, however the panel reads it."""
    from wizard.status.live import LiveStatus
    from wizard.status.model import Expected, ExpectedTunnel

    source = LiveStatus(Expected((ExpectedTunnel("lo"),), "answers"),
                        readers=NetlinkOnlyReaders(), heartbeat_file=str(tmp_path / "none"))
    app = StatusApp(source, refresh_interval=None, threaded=True, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.last_snapshot is not None, "the first reading")
        first = app.last_snapshot
        assert first is not None
        assert not [n for n in first.notes if "netlink" in n], first.notes
        assert first.tunnels[0].link_read and first.tunnels[0].link is not None


def test_netlink_read_inside_a_running_event_loop() -> None:
    """The root of it: pyroute2's IPRoute drives its own loop, which fails inside a running one."""
    import asyncio

    from wizard.system import netlink_status

    async def in_the_loop() -> Any:
        return netlink_status.read(["lo"])

    links, _routes = asyncio.run(in_the_loop())
    assert links["lo"].name == "lo"


@pytest.mark.asyncio
async def test_no_graph_until_two_rates() -> None:
    """One reading has no rate and one rate no shape: no flat "0 B/s" block meanwhile."""
    from textual.widgets import Sparkline

    from screens.status import MEASURING

    app = _app(*_traffic(snapshot_from_vici("both_up"), rounds=2))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one("#tunnel-1", TunnelPanel)
        await wait_for(pilot, lambda: panel.border_subtitle == "UP", "the first reading drawn")
        graph = panel.query_one(Sparkline)
        caption = panel.query_one(".traffic-caption")
        for _ in range(2):  # the first reading, then the first rate
            assert not graph.display
            assert str(caption.render()) == MEASURING
            await pilot.press("r")
            await pilot.pause()
        assert graph.display and list(graph.data or []) == [400.0, 1200.0]
        assert "now 1.2 kB/s" in str(caption.render())


def _fits(app: Any) -> list[str]:
    """What of the panel lies outside the terminal: footer keys off the edge, a cut diagnosis."""
    from textual.widgets._footer import FooterKey

    width = app.size.width
    wrong = [f"footer key {key.key!r} at columns {key.region.x}-{key.region.right}"
             for key in app.screen.query(FooterKey)
             if key.region.width == 0 or key.region.right > width]
    from textual.widgets import Footer

    top = app.screen.query_one("#status-title").region.bottom
    bottom = app.screen.query_one(Footer).region.y
    diagnosis = app.screen.query_one("#diagnosis")
    if not (top <= diagnosis.region.y and diagnosis.region.bottom <= bottom):
        wrong.append(f"diagnosis rows {diagnosis.region.y}-{diagnosis.region.bottom} outside "
                     f"the rows between title and footer, {top}-{bottom}")
    return wrong


@pytest.mark.asyncio
@pytest.mark.parametrize("state", sorted(STATES))
async def test_everything_is_reachable_at_80x24(state: str) -> None:
    """Every key in the footer, and the whole diagnosis once scrolled to it."""
    app = _app(*STATES[state]())
    async with app.run_test(size=(80, 24)) as pilot:
        await _refresh(pilot)
        app.screen.query_one("#diagnosis").scroll_visible(animate=False)
        await pilot.pause()
        assert _fits(app) == []
        assert "q" in _shown_keys(app.screen)


def _panel_text(app: Any) -> str:
    """The words on the panel's widgets (tables rendered as a console would)."""
    from io import StringIO

    from rich.console import Console
    from textual.widgets import Static

    out = StringIO()
    console = Console(file=out, width=200, color_system=None)
    from screens.status import tunnel_details

    for widget in app.screen.query(Static):
        if not widget.has_class("tunnel-body"):
            console.print(widget.render())
    snapshot = app.last_snapshot
    for tunnel in snapshot.tunnels if snapshot else ():
        console.print(tunnel_details(snapshot, tunnel))
    return out.getvalue()


@pytest.mark.asyncio
async def test_the_route_in_force_is_said_first() -> None:
    """Which tunnel carries the VPC's traffic now, from the routing table, and what if it is down."""
    app = _app(snapshot_from_vici("both_up"))
    async with app.run_test(size=SIZE):
        line = str(app.screen.query_one("#status-traffic").render())
        assert line == "Traffic to 203.0.113.0/24 → Tunnel 1 (dev Tunnel1, metric 100)"
    app = _app(snapshot_from_vici("tunnel1_connecting"))
    async with app.run_test(size=SIZE):
        line = str(app.screen.query_one("#status-traffic").render())
        assert line == ("Traffic to 203.0.113.0/24 → Tunnel 1 (dev Tunnel1, metric 100) — down: "
                        "this traffic is dropped")
        diagnosis = str(app.screen.query_one("#diagnosis").render())
        assert "in manual mode nothing moves the route, so that traffic is dropped" in diagnosis


@pytest.mark.asyncio
async def test_after_a_dry_run_it_says_nothing_was_applied() -> None:
    """Not "strongSwan is not running — start it": a dry run applied nothing to start."""
    app = _app(_dry_run())
    async with app.run_test(size=SIZE):
        text = _panel_text(app)
        assert "Dry run: nothing was applied" in text and "not needed" in text
        assert "strongSwan not running" not in text and "ipsec start" not in text
        assert [p.border_subtitle for p in app.screen.query(TunnelPanel)] == [
            "not applied", "not applied"]


@pytest.mark.asyncio
async def test_ping_counts_carry_their_own_age() -> None:
    """A heartbeat silent for 40 s: its last minute's 12/12 is not "in 1 min" beside "41 s ago"."""
    from status_fixtures import TAKEN_AT

    from wizard.commands.status import format_text

    stale = replace(heartbeat(silent_1=41, silent_2=41), updated=TAKEN_AT - 40)
    stale = replace(stale, targets=tuple(replace(t, replies=12, attempts=12)
                                         for t in stale.targets))
    snap = snapshot_from_vici("both_up", heartbeat=stale)
    app = _app(snap)
    async with app.run_test(size=SIZE):
        text = _panel_text(app)
        assert "in 1 min" not in text and "12/12 in the last minute" not in text
        assert "12/12 in the minute to 40 s ago" in text
        assert "last reply 41 s ago" in text
    assert "12/12 in the minute to 40 s ago" in format_text(snap)
