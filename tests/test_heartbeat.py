"""The heartbeat loop with a fake clock and pinger, its state file, its unit and its pinger."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from status_fixtures import LAB_PSKS, lab_setup

from wizard.commands.heartbeat import parse_ping_rtt, ping_argv, run_heartbeat
from wizard.heartbeat import Heartbeat, HeartbeatState, read_state, write_state_file
from wizard.plan import build_plan
from wizard.render import heartbeat as render

T1, T2 = "169.254.23.5", "169.254.22.73"


class FakeClock:
    """Wall time that moves only when the loop sleeps or a ping takes time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedPinger:
    """Answers per address from a script; each ping costs `cost` seconds of fake time."""

    def __init__(self, clock: FakeClock, answers: dict[str, list[float | None]],
                 cost: float = 0.0) -> None:
        self.clock = clock
        self.answers = answers
        self.cost = cost
        self.sent: list[tuple[str, float]] = []

    def __call__(self, address: str, timeout: float) -> float | None:
        self.sent.append((address, self.clock.now))
        self.clock.now += self.cost
        script = self.answers[address]
        return script.pop(0) if script else None


def _beat(clock: FakeClock, pinger: ScriptedPinger, written: dict[str, bytes],
          interval: float = 5.0) -> Heartbeat:
    return Heartbeat(
        [T1, T2], pinger, interval=interval, state_file="/run/x/heartbeat.json",
        clock=clock, sleep=clock.sleep, write=written.__setitem__,
    )


def test_both_targets_every_interval_without_drift() -> None:
    clock = FakeClock()
    start = clock.now
    pinger = ScriptedPinger(clock, {T1: [0.4] * 5, T2: [0.6] * 5}, cost=0.3)
    written: dict[str, bytes] = {}
    _beat(clock, pinger, written).run(rounds=4)
    assert [a for a, _ in pinger.sent] == [T1, T2] * 4
    # Each round starts interval seconds after the previous one, pings' time included.
    assert [t - start for a, t in pinger.sent if a == T1] == pytest.approx([0, 5, 10, 15])
    assert clock.sleeps == pytest.approx([4.4, 4.4, 4.4])
    doc = json.loads(written["/run/x/heartbeat.json"])
    assert doc["interval"] == 5.0
    assert doc["targets"][T1]["replies"] == 4 and doc["targets"][T1]["attempts"] == 4
    assert doc["targets"][T2]["last_rtt_ms"] == 0.6


def test_last_reply_and_loss_over_the_last_minute() -> None:
    clock = FakeClock()
    start = clock.now
    # T1 answers for 3 rounds then goes silent; T2 loses every other ping.
    pinger = ScriptedPinger(
        clock, {T1: [1.0, 1.1, 1.2] + [None] * 30, T2: [0.5, None] * 15})
    written: dict[str, bytes] = {}
    beat = _beat(clock, pinger, written, interval=5.0)
    beat.run(rounds=20)  # 100 s of heartbeat
    state = HeartbeatState.from_json(json.loads(written["/run/x/heartbeat.json"]))
    t1, t2 = state.target(T1), state.target(T2)
    assert t1 is not None and t2 is not None
    assert t1.last_reply == start + 10 and t1.last_rtt_ms == 1.2
    assert t1.last_attempt == start + 95
    # Only the last 60 s count: rounds at 40..95 s, 12 of them, none answered.
    assert (t1.replies, t1.attempts) == (0, 12)
    assert t1.loss == 1.0
    assert (t2.replies, t2.attempts) == (6, 12)
    assert state.updated == start + 95


def test_a_slow_round_does_not_cause_a_burst() -> None:
    clock = FakeClock()
    pinger = ScriptedPinger(clock, {T1: [], T2: []}, cost=4.0)  # 8 s per round > interval
    _beat(clock, pinger, {}, interval=5.0).run(rounds=3)
    assert clock.sleeps == [0.0, 0.0]


def test_a_failing_write_does_not_stop_the_pinging() -> None:
    clock = FakeClock()
    pinger = ScriptedPinger(clock, {T1: [0.1] * 3, T2: [0.1] * 3})

    def broken(path: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    beat = Heartbeat([T1, T2], pinger, interval=1, state_file="/x", clock=clock,
                     sleep=clock.sleep, write=broken)
    beat.run(rounds=3)
    assert beat.write_errors == 3 and len(pinger.sent) == 6


def test_stop_ends_the_loop() -> None:
    clock = FakeClock()
    pinger = ScriptedPinger(clock, {T1: [], T2: []})
    beat = _beat(clock, pinger, {})
    beat.run(stop=lambda: len(pinger.sent) >= 4)
    assert len(pinger.sent) == 4


def test_state_file_is_written_atomically_and_read_back(tmp_path: Path) -> None:
    clock = FakeClock()
    target = tmp_path / "run" / "vpn-wizard" / "heartbeat.json"
    pinger = ScriptedPinger(clock, {T1: [0.25], T2: [None]})
    Heartbeat([T1, T2], pinger, state_file=str(target), clock=clock,
              sleep=clock.sleep).run(rounds=1)
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in target.parent.iterdir()] == ["heartbeat.json"]
    state = read_state(target)
    assert state is not None
    assert state.target(T1).last_rtt_ms == 0.25  # type: ignore[union-attr]
    assert state.target(T2).last_reply is None  # type: ignore[union-attr]
    assert read_state(tmp_path / "absent.json") is None
    write_state_file(str(target), b"{not json")
    with pytest.raises(ValueError):
        read_state(target)


def test_needs_targets_and_a_positive_interval() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError):
        Heartbeat([], lambda a, t: None, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError):
        Heartbeat([T1], lambda a, t: None, interval=0, clock=clock, sleep=clock.sleep)


def test_ping_output_parsing() -> None:
    reply = (
        "PING 169.254.23.5 (169.254.23.5) 56(84) bytes of data.\n"
        "64 bytes from 169.254.23.5: icmp_seq=1 ttl=64 time=0.217 ms\n"
    )
    assert parse_ping_rtt(reply) == 0.217
    assert parse_ping_rtt("64 bytes from 169.254.23.5: icmp_seq=1 ttl=64 time<1 ms") == 1.0
    assert parse_ping_rtt("1 packets transmitted, 0 received, 100% packet loss") is None
    assert ping_argv(T1, 1.0) == ["ping", "-n", "-c", "1", "-W", "1", T1]
    assert ping_argv(T1, 1.5)[5] == "2"


def test_run_heartbeat_refuses_a_bad_address(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(targets=["169.254.23.5", "tunnel1"], interval=5.0,
                              state_file="/nonexistent/heartbeat.json")
    assert run_heartbeat(args) == 2
    assert "'tunnel1' is not an IPv4 address" in capsys.readouterr().err


def test_unit_runs_vpn_wizard_heartbeat() -> None:
    setup = lab_setup()
    unit = render.unit(setup, "/opt/vpn-wizard/bin/vpn-wizard")
    assert (
        "ExecStart=/opt/vpn-wizard/bin/vpn-wizard heartbeat 169.254.23.5 169.254.22.73 "
        "--interval 5\n" in unit
    )
    assert "Restart=always\n" in unit and "WantedBy=multi-user.target\n" in unit
    with pytest.raises(ValueError):
        render.unit(setup, "vpn-wizard")


def test_plan_installs_the_unit_with_the_given_command_and_a_fallback_note() -> None:
    setup = lab_setup()
    step = build_plan(setup, heartbeat_command="/opt/vw/bin/vpn-wizard").step("heartbeat")
    assert [f.path for f in step.files] == [render.UNIT]
    assert "ExecStart=/opt/vw/bin/vpn-wizard heartbeat " in step.files[0].after
    note = next(n for n in step.notes if n.id == "heartbeat-without-systemd")
    assert "/opt/vw/bin/vpn-wizard heartbeat 169.254.23.5 169.254.22.73 --interval 5" in (
        note.text)
    default = build_plan(setup).step("heartbeat")
    assert f"ExecStart={render.DEFAULT_COMMAND} heartbeat" in default.files[0].after
    for psk in LAB_PSKS:
        assert psk not in step.files[0].after and psk not in note.text


def test_deviations_doc_explains_the_fallback() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "deviations.md"
    assert "{#heartbeat-without-systemd}" in docs.read_text()


# --------------------------------------------------------------------------- pings at once
# One ping per tunnel, all in flight together (issue 13): a dead tunnel's ping waits out
# its timeout, and pinged in turn it held up the live tunnel's ping in the very rounds
# that decide a fast failover.


def test_the_service_pings_both_tunnels_at_the_same_time() -> None:
    import threading

    from wizard.heartbeat import concurrently

    both_sent = threading.Barrier(2, timeout=30)

    def pinger(address: str, timeout: float) -> float | None:
        both_sent.wait()  # pinged one after the other, the first waits here alone and fails
        return 0.5 if address == T1 else None

    assert concurrently(pinger)([T1, T2], 1.0) == [0.5, None]


def test_pings_at_once_are_recorded_in_order_and_a_ping_that_cannot_be_sent_is_none() -> None:
    from wizard.heartbeat import concurrently

    clock = FakeClock()
    written: dict[str, bytes] = {}

    def pinger(address: str, timeout: float) -> float | None:
        if address == T2:
            raise OSError("ping: sendmsg: No route to host")
        return 0.25

    beat = Heartbeat([T1, T2], pinger, interval=5.0, state_file="/run/x/heartbeat.json",
                     clock=clock, sleep=clock.sleep,
                     write=lambda path, data: written.__setitem__(path, data),
                     ping_all=concurrently(pinger))
    state = beat.round()
    first, second = state.targets
    assert (first.address, first.last_rtt_ms, first.replies) == (T1, 0.25, 1)
    assert (second.address, second.replies, second.attempts) == (T2, 0, 1)
