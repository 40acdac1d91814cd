"""Fast failover (issue 13): the heartbeat takes a dead tunnel's VPC routes off, then puts them back.

The decision is `wizard.heartbeat.Failover` (hysteresis, never every tunnel),
the move is `wizard.system.failover.RouteMover`, the option reaches every
front end through the question catalogue (answers file key, screens, plain
prompts) and `--fast-failover`. The lab measures how fast (bench/failover_lab.py).
"""

from __future__ import annotations

import argparse
import io
from contextlib import redirect_stdout
from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from status_fixtures import lab_setup
from test_heartbeat import T1, T2, FakeClock, ScriptedPinger

from wizard import answers as answers_mod
from wizard.cli import main
from wizard.commands.heartbeat import run_heartbeat
from wizard.heartbeat import DOWN_AFTER, UP_AFTER, Failover, Heartbeat
from wizard.model import Setup, validate
from wizard.questions import BY_ID
from wizard.render import heartbeat as render
from wizard.system import failover as failover_mod
from wizard.system.failover import RouteMover

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "aws-strongswan-seed.txt")
VPC = IPv4Network("10.1.0.0/16")


def _fast(mode: str = "updown") -> Setup:
    setup = lab_setup(mode)
    return replace(setup, choices=replace(setup.choices, fast_failover=True, vpc_cidrs=(VPC,)))


def test_one_dead_tunnel_is_routed_around_then_back_without_flapping() -> None:
    clock = FakeClock()
    # T1 answers, then dies; one stray answer while dead moves nothing back; then it returns.
    t1: list[float | None] = [1.0, 1.0, None, None, None, 1.0, None, *[1.0] * UP_AFTER, 1.0]
    pinger = ScriptedPinger(clock, {T1: list(t1), T2: [1.0] * len(t1)})
    calls: list[frozenset[str]] = []
    beat = Heartbeat([T1, T2], pinger, interval=1, state_file=None, clock=clock,
                     sleep=clock.sleep, reroute=calls.append)
    seen = []
    for _ in t1:
        beat.round()
        seen.append(beat.withdrawn)
    off = frozenset({T1})
    assert seen[: 2 + DOWN_AFTER - 1] == [frozenset()] * (2 + DOWN_AFTER - 1)
    assert seen[2 + DOWN_AFTER - 1] == off  # after DOWN_AFTER misses in a row
    assert seen[5] == off and seen[6] == off  # one answer is not a recovery
    assert seen[-2] == frozenset() and seen[-1] == frozenset()  # UP_AFTER answers are
    assert calls == [off, frozenset()]  # one move each way, nothing in between


def test_every_tunnel_dead_keeps_every_route() -> None:
    """Routing around all of them would send the VPC's traffic out unencrypted."""
    decide = Failover([T1, T2])
    for _ in range(DOWN_AFTER):
        decide.observe(T1, False)
    assert decide.withdrawn() == {T1}
    for _ in range(DOWN_AFTER):
        decide.observe(T2, False)
    assert decide.withdrawn() == frozenset()


def test_a_failed_move_is_tried_again() -> None:
    clock = FakeClock()
    pinger = ScriptedPinger(clock, {T1: [None] * 5, T2: [1.0] * 5})
    tries: list[frozenset[str]] = []

    def flaky(withdrawn: frozenset[str]) -> None:
        tries.append(withdrawn)
        if len(tries) == 1:
            raise OSError("ip: timed out")

    beat = Heartbeat([T1, T2], pinger, interval=1, state_file=None, clock=clock,
                     sleep=clock.sleep, reroute=flaky)
    beat.run(rounds=DOWN_AFTER + 1)
    assert tries == [{T1}, {T1}] and beat.withdrawn == {T1}


def test_the_mover_runs_the_plans_route_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []

    class Done:
        returncode = 0

    def fake_run(argv: list[str], log: list[str], **kwargs: object) -> Done:
        ran.append(list(argv))
        return Done()

    monkeypatch.setattr(failover_mod, "run_argv", fake_run)
    mover = RouteMover({T1: ("Tunnel1", 100), T2: ("Tunnel2", 200)}, ["10.1.0.0/16"])
    mover(frozenset({T1}))
    mover(frozenset({T1}))  # already off: nothing runs
    mover(frozenset())
    assert ran == [["ip", "route", "del", "10.1.0.0/16", "dev", "Tunnel1", "metric", "100"],
                   ["ip", "route", "replace", "10.1.0.0/16", "dev", "Tunnel1", "metric", "100"]]


def test_the_unit_pings_every_second_and_names_each_tunnels_routes() -> None:
    assert render.argv(lab_setup("updown"), "/x/vpn-wizard")[-2:] == ["--interval", "5"]
    line = render.argv(_fast(), "/x/vpn-wizard")
    assert line == ["/x/vpn-wizard", "heartbeat", "169.254.23.5", "169.254.22.73",
                    "--interval", "1", "--failover", "Tunnel1:100", "--failover",
                    "Tunnel2:200", "--route", "10.1.0.0/16"]
    # What the unit runs parses as the heartbeat's own command line.
    from wizard.cli import build_parser

    args = build_parser().parse_args(line[1:])
    assert args.failover == ["Tunnel1:100", "Tunnel2:200"] and args.route == ["10.1.0.0/16"]


def test_fast_failover_needs_the_heartbeat_and_a_vpc_cidr() -> None:
    setup = _fast()
    assert not [p for p in validate(setup) if "fast_failover" in p.where]
    off = replace(setup, choices=replace(setup.choices, heartbeat=False))
    assert any(p.where.endswith("fast_failover") for p in validate(off))
    none = replace(setup, choices=replace(setup.choices, vpc_cidrs=()))
    assert any(p.where.endswith("fast_failover") and "VPC CIDR" in p.message
               for p in validate(none))


def test_every_front_end_asks_it() -> None:
    question = BY_ID["choices.fast_failover"]
    assert question.step == "heartbeat" and question.kind == "confirm"
    assert answers_mod.CHOICE_KEYS["fast_failover"] is not None
    assert "fast_failover" in (REPO / "docs" / "answers.md").read_text()


def test_the_flag_reaches_the_plan(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('[choices]\nmode = "updown"\nvpc_cidrs = ["10.1.0.0/16"]\n')
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["plan", "--import", EXAMPLE, "--answers", str(answers), "--root",
                     str(tmp_path / "root"), "--fast-failover"])
    assert code == 0
    assert "--failover Tunnel1:" in out.getvalue()
    out = io.StringIO()
    with redirect_stdout(out):
        main(["plan", "--import", EXAMPLE, "--answers", str(answers), "--root",
              str(tmp_path / "root")])
    assert "--failover" not in out.getvalue()


def test_the_answers_file_key_reaches_the_plan(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('[choices]\nmode = "updown"\nvpc_cidrs = ["10.1.0.0/16"]\n'
                       "fast_failover = true\n")
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["plan", "--import", EXAMPLE, "--answers", str(answers), "--root",
                     str(tmp_path / "root")]) == 0
    assert "--failover Tunnel2:" in out.getvalue()


@pytest.mark.parametrize(("failover", "route", "said"), [
    (["Tunnel1:100"], ["10.1.0.0/16"], "one TUNNEL:METRIC per address"),
    (["Tunnel1:100", "Tunnel2:x"], ["10.1.0.0/16"], "is not TUNNEL:METRIC"),
    (["Tunnel1:100", "Tunnel2:200"], [], "at least one --route"),
    (["Tunnel1:100", "Tunnel2:200"], ["10.1.0.0/33"], "is not an IPv4 network"),
])
def test_the_heartbeat_refuses_a_bad_failover(failover: list[str], route: list[str], said: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(targets=[T1, T2], interval=1.0, failover=failover, route=route,
                              state_file="/nonexistent/heartbeat.json")
    assert run_heartbeat(args) == 2
    assert said in capsys.readouterr().err
