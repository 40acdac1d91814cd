"""The status screen: SVG snapshots of its four states, and its keys, on recorded data."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
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
from wizard.status import StatusSnapshot

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


def test_snapshot_both_up(snap_compare: Callable[..., bool]) -> None:
    app = _app(*_traffic(snapshot_from_vici("both_up")))
    assert snap_compare(app, terminal_size=SIZE, run_before=_refresh)


def test_snapshot_one_down(snap_compare: Callable[..., bool]) -> None:
    first = snapshot_from_vici("tunnel1_connecting", heartbeat=heartbeat(silent_1=40))
    app = _app(*_traffic(first))
    assert snap_compare(app, terminal_size=SIZE, run_before=_refresh)


def test_snapshot_strongswan_not_running(snap_compare: Callable[..., bool]) -> None:
    app = _app(not_running_snapshot())
    assert snap_compare(app, terminal_size=SIZE)


def test_snapshot_nothing_applied(snap_compare: Callable[..., bool]) -> None:
    app = _app(nothing_applied_snapshot())
    assert snap_compare(app, terminal_size=SIZE)


def test_snapshot_after_a_dry_run(snap_compare: Callable[..., bool]) -> None:
    """A dry run's panel: the banner says so, the diagnosis says nothing was applied."""
    from dataclasses import replace

    from wizard.status import Target

    app = _app(replace(not_running_snapshot(), target=Target(dry_run=True)))
    assert snap_compare(app, terminal_size=SIZE)


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
