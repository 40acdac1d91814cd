"""The tunnel heartbeat: the AWS document's ping loop, with a memory the status panel can read.

The document's `heartbeat.sh` pings each AWS inside address every 5 seconds
and throws the answers away. That keeps dead peer detection from tearing an
idle tunnel down, but when a tunnel does break nobody can tell since when.
This loop does the same pinging and also keeps, per target, the time of the
last reply, the last round-trip time, and how many of the last minute's
pings were answered, written atomically to a small JSON state file after
every round; `vpn-wizard status` reads that file instead of pinging itself.

The clock, the sleep, the pinger and the writer are all injected, so the
loop is tested with a fake clock and a scripted pinger and never waits.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.system.files import atomic_write

STATE_FILE = "/run/vpn-wizard/heartbeat.json"
"""Where the service writes its state (tmpfs: it describes this boot only)."""
WINDOW = 60.0
"""Seconds of history behind the replies/attempts counts ("over the last minute")."""
STATE_VERSION = 1

Pinger = Callable[[str, float], "float | None"]
"""Pings one address with a timeout in seconds; returns the RTT in ms, or None for no reply."""
Writer = Callable[[str, bytes], None]
PingAll = Callable[[Sequence[str], float], "list[float | None]"]
"""Pings every address once, all at the same time; one answer per address, in order."""
"""Replaces the state file at a path with the given bytes, atomically."""


@dataclass(frozen=True)
class TargetState:
    """What the heartbeat knows about one AWS inside address.

    Attributes:
        address: the address pinged (AWS's end of a tunnel's /30).
        last_reply: wall-clock time (epoch seconds) of the last answered ping;
            None if none was answered since the service started.
        last_rtt_ms: round-trip time of that reply.
        last_attempt: wall-clock time of the last ping sent, answered or not.
        replies: pings answered within the last `WINDOW` seconds.
        attempts: pings sent within the last `WINDOW` seconds.
    """

    address: str
    last_reply: float | None = None
    last_rtt_ms: float | None = None
    last_attempt: float | None = None
    replies: int = 0
    attempts: int = 0

    @property
    def loss(self) -> float | None:
        """Fraction of the last minute's pings that went unanswered (None before the first)."""
        if not self.attempts:
            return None
        return 1.0 - self.replies / self.attempts


@dataclass(frozen=True)
class HeartbeatState:
    """The whole state file: when it was written, by whom, and one entry per target.

    Attributes:
        updated: wall-clock time of the write; a status reader compares it with
            its own clock to tell a live heartbeat from a dead one.
        interval: seconds between rounds, so a reader knows what "stale" means.
        pid: the writing process, for an operator who wants to find it.
        targets: per address, in the order given on the command line.
    """

    updated: float
    interval: float
    pid: int | None = None
    targets: tuple[TargetState, ...] = ()
    window: float = WINDOW

    def target(self, address: str) -> TargetState | None:
        """The entry for one address, or None if the heartbeat does not ping it."""
        return next((t for t in self.targets if t.address == address), None)

    def to_json(self) -> dict[str, Any]:
        """The file's JSON document (a stable, documented shape)."""
        return {
            "version": STATE_VERSION,
            "updated": self.updated,
            "interval": self.interval,
            "window": self.window,
            "pid": self.pid,
            "targets": {
                t.address: {
                    "last_reply": t.last_reply,
                    "last_rtt_ms": t.last_rtt_ms,
                    "last_attempt": t.last_attempt,
                    "replies": t.replies,
                    "attempts": t.attempts,
                }
                for t in self.targets
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeartbeatState:
        """Parse the file's document; raises ValueError when it is not one.

        Lenient about unknown keys, strict about types, so a newer writer can
        add fields without breaking an older reader.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("targets"), Mapping):
            raise ValueError("not a heartbeat state document")

        def number(value: Any) -> float | None:
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected a number, got {value!r}")
            return float(value)

        targets = []
        for address, entry in data["targets"].items():
            if not isinstance(entry, Mapping):
                raise ValueError(f"target {address!r} is not an object")
            targets.append(
                TargetState(
                    address=str(address),
                    last_reply=number(entry.get("last_reply")),
                    last_rtt_ms=number(entry.get("last_rtt_ms")),
                    last_attempt=number(entry.get("last_attempt")),
                    replies=int(entry.get("replies", 0)),
                    attempts=int(entry.get("attempts", 0)),
                )
            )
        pid = data.get("pid")
        return cls(
            updated=number(data.get("updated")) or 0.0,
            interval=number(data.get("interval")) or 0.0,
            pid=int(pid) if isinstance(pid, int) else None,
            targets=tuple(targets),
            window=number(data.get("window")) or WINDOW,
        )


def read_state(path: str | Path) -> HeartbeatState | None:
    """The state file's content, or None when there is none (heartbeat never ran this boot).

    Raises:
        ValueError: the file exists but is not a heartbeat state document.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return HeartbeatState.from_json(json.loads(text))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err.msg})") from None


def write_state_file(path: str, data: bytes) -> None:
    """Replace the state file atomically, creating its directory (tmpfs under /run) first.

    Atomic so that the status panel never reads half a document; 0644 since
    nothing in it is secret and an unprivileged `vpn-wizard status` may read it.
    """
    local = Path(path)
    local.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    atomic_write(local, data, 0o644)


@dataclass
class _Target:
    """Mutable bookkeeping for one address, private to the loop."""

    address: str
    history: deque[tuple[float, bool]] = field(default_factory=deque)
    last_reply: float | None = None
    last_rtt_ms: float | None = None
    last_attempt: float | None = None

    def record(self, now: float, rtt_ms: float | None, window: float) -> None:
        self.last_attempt = now
        if rtt_ms is not None:
            self.last_reply = now
            self.last_rtt_ms = rtt_ms
        self.history.append((now, rtt_ms is not None))
        while self.history and self.history[0][0] <= now - window:
            self.history.popleft()

    def state(self) -> TargetState:
        return TargetState(
            address=self.address,
            last_reply=self.last_reply,
            last_rtt_ms=self.last_rtt_ms,
            last_attempt=self.last_attempt,
            replies=sum(1 for _, ok in self.history if ok),
            attempts=len(self.history),
        )


DOWN_AFTER = 2
"""Unanswered pings in a row after which fast failover takes a tunnel's routes off."""
UP_AFTER = 5
"""Answered pings in a row after which fast failover puts them back: longer than
DOWN_AFTER, so a tunnel that answers now and then does not pull traffic back and forth."""

Reroute = Callable[[frozenset[str]], None]
"""Makes the routes match: the addresses whose tunnels' routes must be off (the rest on)."""


class Failover:
    """Which tunnels to route around, from the heartbeat's pings, with hysteresis.

    A target is dead after `down_after` unanswered pings in a row and alive
    again after `up_after` answered in a row; in between it keeps its state,
    so one lost ping moves nothing and a flapping tunnel does not win traffic
    back. Routes are withdrawn only from dead tunnels, and never from all of
    them: with every tunnel dead, taking every route off would send the VPC's
    traffic out of the default route unencrypted, so they all stay (what DPD
    and updown would do without this option).
    """

    def __init__(self, addresses: Iterable[str], *, down_after: int = DOWN_AFTER,
                 up_after: int = UP_AFTER) -> None:
        self.addresses = tuple(dict.fromkeys(addresses))
        self.down_after = down_after
        self.up_after = up_after
        self.dead: set[str] = set()
        self._missed = dict.fromkeys(self.addresses, 0)
        self._answered = dict.fromkeys(self.addresses, 0)

    def observe(self, address: str, replied: bool) -> None:
        """One ping's outcome."""
        if replied:
            self._missed[address] = 0
            self._answered[address] += 1
            if self._answered[address] >= self.up_after:
                self.dead.discard(address)
        else:
            self._answered[address] = 0
            self._missed[address] += 1
            if self._missed[address] >= self.down_after:
                self.dead.add(address)

    def withdrawn(self) -> frozenset[str]:
        """The addresses whose tunnels' routes should be off now."""
        if len(self.dead) >= len(self.addresses):
            return frozenset()
        return frozenset(self.dead)


class Heartbeat:
    """Pings every target once per interval and records the answers.

    Args:
        targets: the AWS inside addresses, one per tunnel (the document's $1 and $2).
        pinger: sends one ping; see `Pinger`.
        interval: seconds from the start of one round to the start of the next
            (the document's `sleep 5`, but without drift: a slow ping shortens
            the sleep instead of stretching the period).
        state_file: where to write the state after each round; None writes nothing.
        clock: wall-clock seconds (time.time); the state file holds wall times
            because another process, the status panel, compares them with its own.
        sleep: waits that many seconds (time.sleep, or a fake that advances `clock`).
        write: replaces the state file atomically.
        timeout: seconds each ping waits for its reply.
        window: seconds of history behind replies/attempts.
        reroute: with fast failover, called after a round whose pings change which
            tunnels are routed around (`Failover`); None: the heartbeat only pings.
        ping_all: pings the targets at the same time (`concurrently`), so a dead
            tunnel's ping waiting out its timeout delays nobody else's; None
            pings them one after the other through `pinger`.
    """

    def __init__(
        self,
        targets: Iterable[str],
        pinger: Pinger,
        *,
        interval: float = 5.0,
        state_file: str | None = STATE_FILE,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        write: Writer = write_state_file,
        timeout: float = 1.0,
        window: float = WINDOW,
        reroute: Reroute | None = None,
        ping_all: PingAll | None = None,
    ) -> None:
        self.targets = [_Target(address) for address in dict.fromkeys(targets)]
        if not self.targets:
            raise ValueError("the heartbeat needs at least one address to ping")
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.pinger = pinger
        self.interval = interval
        self.state_file = state_file
        self.clock = clock
        self.sleep = sleep
        self.write = write
        self.timeout = timeout
        self.window = window
        self.reroute = reroute
        self.ping_all = ping_all
        self.failover = Failover(t.address for t in self.targets) if reroute else None
        self.withdrawn: frozenset[str] = frozenset()
        """The addresses whose routes fast failover has taken off."""
        self.rounds = 0
        self.write_errors = 0
        """Rounds whose state could not be written; the pinging goes on regardless."""

    def state(self) -> HeartbeatState:
        """The state as the file would hold it now."""
        return HeartbeatState(
            updated=self.clock(),
            interval=self.interval,
            pid=os.getpid(),
            targets=tuple(t.state() for t in self.targets),
            window=self.window,
        )

    def round(self) -> HeartbeatState:
        """Ping every target once (in order, or all at once) and write the state file."""
        if self.ping_all is not None:
            rtts = self.ping_all([t.address for t in self.targets], self.timeout)
            now = self.clock()
            answers = [(target, rtt, now) for target, rtt in zip(self.targets, rtts, strict=True)]
        else:
            answers = []
            for target in self.targets:
                rtt = _ping(self.pinger, target.address, self.timeout)
                answers.append((target, rtt, self.clock()))
        for target, rtt, at in answers:
            target.record(at, rtt, self.window)
            if self.failover is not None:
                self.failover.observe(target.address, rtt is not None)
        if self.failover is not None and self.reroute is not None:
            wanted = self.failover.withdrawn()
            if wanted != self.withdrawn:
                try:
                    self.reroute(wanted)
                    self.withdrawn = wanted
                except OSError:
                    pass  # tried again after the next round
        self.rounds += 1
        state = self.state()
        if self.state_file is not None:
            data = (json.dumps(state.to_json(), indent=1) + "\n").encode()
            try:
                self.write(self.state_file, data)
            except OSError:
                # Keeping the tunnels busy matters more than reporting on them.
                self.write_errors += 1
        return state

    def run(self, rounds: int | None = None, stop: Callable[[], bool] = lambda: False) -> None:
        """Run rounds until `stop()` is true or `rounds` rounds are done (None: forever)."""
        next_at = self.clock()
        done = 0
        while not stop() and (rounds is None or done < rounds):
            self.round()
            done += 1
            if rounds is not None and done >= rounds:
                break
            next_at += self.interval
            now = self.clock()
            if next_at < now:
                # A round took longer than the interval: start again from now
                # rather than firing a burst of catch-up pings.
                next_at = now
            self.sleep(next_at - now)


def _ping(pinger: Pinger, address: str, timeout: float) -> float | None:
    try:
        return pinger(address, timeout)
    except OSError:
        return None  # a ping that cannot be sent is a ping without a reply


def concurrently(pinger: Pinger) -> PingAll:
    """`pinger` run for every address at once, one thread each (a ping is a process).

    Sequential pings made fast failover wait out a dead tunnel's timeout before
    pinging the live one: a second more per round, in the very rounds that
    decide a failover.
    """

    def ping_all(addresses: Sequence[str], timeout: float) -> list[float | None]:
        if len(addresses) < 2:
            return [_ping(pinger, address, timeout) for address in addresses]
        with ThreadPoolExecutor(max_workers=len(addresses),
                                thread_name_prefix="heartbeat-ping") as pool:
            futures = [pool.submit(_ping, pinger, address, timeout) for address in addresses]
            return [future.result() for future in futures]

    return ping_all
