"""One refresh after another reads over the same vici session and netlink socket (issue 13).

The status panel refreshes every second or two; opening a vici session and a
netlink socket for each refresh was most of its cost. These prove the
readers keep one of each, open a new one only when the old one failed, and
let go of them when told.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest
from status_fixtures import FakeViciSession, vici_record

from wizard.status.live import HostReaders
from wizard.system import netlink_status, vici_source


class CountingFactory:
    """Hands out fake vici sessions and counts them; the ones listed in `broken` fail."""

    def __init__(self, broken: set[int] | None = None) -> None:
        self.sessions: list[FakeViciSession] = []
        self.broken = broken or set()

    def __call__(self, path: str) -> FakeViciSession:
        session = FakeViciSession(vici_record("both_up"))
        if len(self.sessions) in self.broken:
            def fail() -> Any:
                raise BrokenPipeError("charon restarted")
            session.version = fail  # type: ignore[method-assign]
        session.transport = _Transport(session)  # type: ignore[attr-defined]
        self.sessions.append(session)
        return session


class _Transport:
    def __init__(self, session: FakeViciSession) -> None:
        self.session = session

    def close(self) -> None:
        self.session.closed = True


def test_refreshes_share_one_vici_session() -> None:
    factory = CountingFactory()
    reader = vici_source.ViciReader("/nonexistent", session_factory=factory)
    for _ in range(5):
        assert set(reader.read().conns) == {"Tunnel1", "Tunnel2"}
    assert len(factory.sessions) == 1 and not factory.sessions[0].closed
    reader.close()
    assert factory.sessions[0].closed


def test_a_session_charon_closed_is_replaced_at_once() -> None:
    """A restarted charon: the kept session fails, a new one reads in the same refresh."""
    factory = CountingFactory()
    reader = vici_source.ViciReader("/nonexistent", session_factory=factory)
    reader.read()

    def gone() -> Any:
        raise BrokenPipeError("charon restarted")

    factory.sessions[0].version = gone  # type: ignore[method-assign]
    assert reader.read().version == "5.9.8"
    assert len(factory.sessions) == 2 and factory.sessions[0].closed


def test_a_new_session_that_fails_is_reported_not_retried_forever() -> None:
    factory = CountingFactory(broken={0, 1, 2})
    reader = vici_source.ViciReader("/nonexistent", session_factory=factory)
    with pytest.raises(BrokenPipeError):
        reader.read()
    assert len(factory.sessions) == 1 and factory.sessions[0].closed


class FakeIPRoute:
    opened: ClassVar[list[FakeIPRoute]] = []

    def __init__(self, fail_after: int | None = None) -> None:
        self.closed = False
        self.dumps = 0
        self.fail_after = fail_after
        self.thread = threading.current_thread()
        FakeIPRoute.opened.append(self)

    def _dump(self) -> list[Any]:
        assert threading.current_thread() is self.thread, "used from another thread"
        if self.fail_after is not None and self.dumps >= self.fail_after:
            raise OSError("netlink socket gone")
        return []

    def get_links(self) -> list[Any]:
        links = self._dump()
        self.dumps += 1
        return links

    def get_addr(self, family: int) -> list[Any]:
        assert threading.current_thread() is self.thread, "used from another thread"
        return []

    def get_routes(self, family: int, table: int) -> list[Any]:
        assert threading.current_thread() is self.thread, "used from another thread"
        return []

    def close(self) -> None:
        self.closed = True


class RingingBell:
    """A change bell that always rings: every refresh dumps, as without one."""

    made: ClassVar[list[RingingBell]] = []

    def __init__(self) -> None:
        self.closed = False
        RingingBell.made.append(self)

    def rang(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def test_refreshes_share_one_netlink_socket_on_its_own_thread() -> None:
    FakeIPRoute.opened = []
    reader = netlink_status.NetlinkReader(opener=FakeIPRoute, bell=RingingBell)
    for _ in range(5):
        _links, routes = reader.read(["Tunnel1", "Tunnel2"])
        assert routes == []
    (ipr,) = FakeIPRoute.opened
    assert ipr.dumps == 5 and ipr.thread is not threading.current_thread()
    reader.close()
    assert ipr.closed


def test_a_failed_netlink_dump_opens_a_new_socket_next_time() -> None:
    FakeIPRoute.opened = []
    reader = netlink_status.NetlinkReader(opener=lambda: FakeIPRoute(fail_after=1),
                                          bell=RingingBell)
    reader.read(["Tunnel1"])
    with pytest.raises(OSError):
        reader.read(["Tunnel1"])
    assert FakeIPRoute.opened[0].closed
    reader.read(["Tunnel1"])
    assert len(FakeIPRoute.opened) == 2
    reader.close()


def test_host_readers_close_what_they_keep(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    FakeIPRoute.opened = []
    monkeypatch.setattr(netlink_status, "open_netlink", FakeIPRoute)
    RingingBell.made = []
    monkeypatch.setattr(netlink_status.NetlinkReader.__init__, "__defaults__",
                        (FakeIPRoute, RingingBell, netlink_status._read_proc_net_dev))
    sock = tmp_path / "charon.vici"
    sock.touch()
    factory = CountingFactory()
    readers = HostReaders(str(sock))
    readers._vici = vici_source.ViciReader(str(sock), session_factory=factory)
    for _ in range(3):
        notes: list[str] = []
        source, running, *_ = readers.strongswan(notes)
        assert (source, running, notes) == ("vici", True, [])
        readers.links(["Tunnel1"])
    assert len(factory.sessions) == 1 and len(FakeIPRoute.opened) == 1
    readers.close()
    assert factory.sessions[0].closed and FakeIPRoute.opened[0].closed
    assert len(RingingBell.made) == 1 and RingingBell.made[0].closed
