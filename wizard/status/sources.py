"""What a status source offers the panel (read, act, watch) and what the live one reads through.

Protocols only, so the panel, the command and the tests can name a source
without depending on the live one (`wizard.status.live`), and recorded data
can stand in for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from wizard.status.model import LinkStatus, Route, StatusSnapshot, StrongswanReading


@runtime_checkable
class StatusSource(Protocol):
    """Anything that can read a snapshot: `LiveStatus`, or recorded data in tests."""

    def snapshot(self) -> StatusSnapshot: ...


@runtime_checkable
class TunnelControls(Protocol):
    """What the status panel's keys do; optional for a source (recorded data has none)."""

    def initiate(self, name: str) -> str: ...
    def terminate(self, name: str) -> str: ...
    def block_peer(self, name: str) -> str: ...
    def unblock_peer(self, name: str) -> str: ...


@runtime_checkable
class EventSource(Protocol):
    """A source that can wake the panel when something changes, instead of it polling."""

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...
    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...


@runtime_checkable
class StatusReaders(Protocol):
    """Where `LiveStatus` reads the daemon, the links and the rules of one target.

    `HostReaders` reads this machine (vici or `ipsec statusall`, netlink,
    `iptables -t mangle -S`); `wizard.system.simulated.SimStatusReaders`
    reads the simulated kernel kept under a `--root` directory. Reading only:
    what changes the target goes through `System`, like apply.

    Readers may also have `rules_watch` (a str: how a change of the rules is
    told between two readings) and `close()` (let go of kept sockets);
    `LiveStatus` uses them when they are there.
    """

    def strongswan(self, notes: list[str]) -> StrongswanReading: ...
    def links(self, names: Sequence[str]) -> tuple[dict[str, LinkStatus], list[Route]]: ...
    def mangle(self) -> tuple[list[str] | None, str]: ...
    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...
    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...
