"""`ipsec restart` on a busy daemon: a status poll that times out means "not yet", not failure.

charon runs the updown script synchronously for each CHILD_SA it brings up and
answers no `ipsec statusall` meanwhile; the booted lab measured 10-15 s per
script on a loaded box. A restart that gave up at the first silent poll
rolled back an apply that was about to succeed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from applykit import seeded_root
from seed_setup import seed_setup

from wizard.apply import apply_plan
from wizard.plan import build_plan
from wizard.system import System, charon_state, strongswan, swanctl
from wizard.system.base import CommandTimeout, HostError

STATUSALL = """Status of IKE charon daemon (strongSwan 5.9.8, Linux 6.1.0, x86_64):
Connections:
    Tunnel1:  %any...198.51.100.21  IKEv1, dpddelay=10s
    Tunnel2:  %any...198.51.100.22  IKEv1, dpddelay=10s
Security Associations (0 up, 0 connecting):
  none
"""


def _daemon(monkeypatch: pytest.MonkeyPatch, silent_polls: int) -> list[str]:
    """An `ipsec` whose statusall gives no answer `silent_polls` times, then lists both conns."""
    calls: list[str] = []

    def run(argv: Sequence[str], log: list[str], *, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        calls.append(argv[1])
        if argv[1] == "statusall" and calls.count("statusall") <= silent_polls:
            raise CommandTimeout(f"{' '.join(argv)}: no answer after {timeout:.0f}s")
        out = STATUSALL if argv[1] == "statusall" else ""
        return subprocess.CompletedProcess(list(argv), 0, out, "")

    monkeypatch.setattr(strongswan, "run_argv", run)
    monkeypatch.setattr(strongswan.shutil, "which", lambda name: "/usr/sbin/ipsec")
    monkeypatch.setattr(strongswan.time, "sleep", lambda seconds: None)
    # charon is up (its pid file is there) but serves no vici socket: statusall answers.
    monkeypatch.setattr(charon_state, "charon_started", lambda pidfile="": True)
    monkeypatch.setattr(charon_state, "vici_conns", lambda path="", session_factory=None: None)
    return calls


def test_a_silent_poll_during_updown_scripts_is_not_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _daemon(monkeypatch, silent_polls=2)
    strongswan.IpsecStrongswan([]).restart(["Tunnel1", "Tunnel2"], timeout=30)
    assert calls == ["restart", "statusall", "statusall", "statusall"]


def test_a_daemon_that_never_answers_still_fails_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(strongswan.time, "monotonic", lambda: float(next(clock)))
    _daemon(monkeypatch, silent_polls=10**6)
    with pytest.raises(HostError, match="not loaded after 30s"):
        strongswan.IpsecStrongswan([]).restart(["Tunnel1", "Tunnel2"], timeout=30)


# --------------------------------------------------------------------------- start, not restart
# A daemon that is not running is started (`ipsec start`, `systemctl start`): the
# starter's restart would stop nothing, pause 2 s and start (issue 13). A running one
# is still restarted, and the undo is the same either way.


def test_a_stopped_daemon_is_started_then_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _daemon(monkeypatch, silent_polls=1)
    strongswan.IpsecStrongswan([]).start(["Tunnel1", "Tunnel2"], timeout=30)
    assert calls == ["start", "statusall", "statusall"]


def _apply_on(tmp_path: Path, fail_at: str | None = None) -> tuple[Any, System]:
    root = seeded_root(tmp_path)
    system = System.real(root)  # a --root: files here, the kernel and daemon simulated
    result = apply_plan(build_plan(seed_setup(), root.read), system, fail_at=fail_at)
    return result, system


def test_apply_starts_a_stopped_daemon_and_restarts_a_running_one(tmp_path: Path) -> None:
    result, system = _apply_on(tmp_path)
    assert result.ok
    assert "ipsec start" in system.log and "ipsec restart" not in system.log
    assert system.strongswan.running()
    # Running now: a change (the other mode) needs the new config read, by a restart.
    again = System.real(system.root)
    changed = apply_plan(build_plan(seed_setup(mode="updown"), system.root.read), again)
    assert changed.ok and "ipsec restart" in again.log and "ipsec start" not in again.log


def test_a_rolled_back_start_stops_the_daemon_again(tmp_path: Path) -> None:
    result, system = _apply_on(tmp_path, fail_at="heartbeat")
    assert not result.ok
    assert "ipsec start" in system.log
    assert not system.strongswan.running()  # as before the apply


def test_swanctl_starts_a_daemon_that_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    answers = iter([None, None, {"Tunnel1"}, {"Tunnel1"}])
    monkeypatch.setattr(swanctl.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(swanctl, "_starter_runs_charon", lambda: False)
    monkeypatch.setattr(swanctl, "_systemd_runs", lambda: True)
    monkeypatch.setattr(swanctl, "_charon_systemd_installed", lambda: True)
    monkeypatch.setattr(swanctl.time, "sleep", lambda seconds: None)

    def run(argv: Sequence[str], log: list[str], *, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        return subprocess.CompletedProcess(list(argv), 0, "", "")

    monkeypatch.setattr(swanctl, "run_argv", run)
    vici = swanctl.Swanctl([])
    monkeypatch.setattr(vici, "conns", lambda: next(answers))
    vici.load(["Tunnel1"], restart=True)
    assert ran == [["systemctl", "start", swanctl.SERVICE],
                   ["swanctl", "--load-all", "--noprompt"]]


# --------------------------------------------------------------------------- no restart for nothing
# A re-apply that changes nothing strongSwan reads (a unit, a sysctl, a route) leaves the
# running daemon, and so the tunnels, alone (issue 13: toggling fast failover, or the
# heartbeat's interval, dropped both tunnels for a restart).


@pytest.mark.parametrize("backend", ["stroke", "swanctl"])
def test_a_reapply_that_changes_nothing_strongswan_reads_keeps_the_daemon(
    tmp_path: Path, backend: str,
) -> None:
    root = seeded_root(tmp_path / "manual")
    assert apply_plan(build_plan(seed_setup(backend=backend), root.read), System.real(root)).ok
    # A new MTU in manual mode: the links and the persistence files change, before the
    # daemon's step; nothing strongSwan reads does.
    again = System.real(root)
    result = apply_plan(build_plan(seed_setup(backend=backend, mtu=1400), root.read), again)
    assert result.ok and result.changed
    assert any("mtu 1400" in line for line in again.log), again.log
    daemon = [line for line in again.log
              if line.startswith(("ipsec ", "swanctl ", "systemctl restart strongswan"))]
    assert daemon == [], daemon
    # In updown mode the MTU is in the updown script, which a running daemon runs again
    # only when the tunnels come up again: that still restarts it.
    root = seeded_root(tmp_path / "updown")
    assert apply_plan(build_plan(seed_setup(mode="updown", backend=backend), root.read),
                      System.real(root)).ok
    third = System.real(root)
    result = apply_plan(build_plan(seed_setup(mode="updown", backend=backend, mtu=1400),
                                   root.read), third)
    assert result.ok
    assert any(line in ("ipsec restart", "systemctl restart strongswan") for line in third.log)


# --------------------------------------------------------------------------- asked, not forked
# Whether the daemon runs and what it loaded are read from the starter's pid file and
# one vici request (issue 13): `ipsec statusall` forks five processes per poll.


class _Session:
    """A vici session whose `list-conns` streams one `{name: {...}}` per connection."""

    def __init__(self, names: Sequence[str], fail: Exception | None = None) -> None:
        self.names = names
        self.fail = fail
        self.closed = False
        self.transport = self

    def list_conns(self) -> Any:
        if self.fail is not None:
            raise self.fail
        return iter([{name: {}} for name in self.names])

    def close(self) -> None:
        self.closed = True


def test_the_daemons_conns_come_from_one_vici_request(tmp_path: Path) -> None:
    sock = tmp_path / "charon.vici"
    sock.touch()
    session = _Session(["Tunnel1", "Tunnel2"])
    assert charon_state.vici_conns(str(sock), lambda path: session) == {"Tunnel1", "Tunnel2"}
    assert session.closed


@pytest.mark.parametrize("fail", [ConnectionRefusedError(), TimeoutError(), KeyError("x")])
def test_no_answer_on_vici_is_none_so_the_command_is_asked(tmp_path: Path,
                                                           fail: Exception) -> None:
    assert charon_state.vici_conns(str(tmp_path / "missing"), lambda path: _Session([])) is None
    sock = tmp_path / "charon.vici"
    sock.touch()

    def refuse(path: str) -> Any:
        raise ConnectionRefusedError(path)

    assert charon_state.vici_conns(str(sock), refuse) is None
    assert charon_state.vici_conns(str(sock), lambda path: _Session([], fail)) is None


def test_the_starter_runs_exactly_when_its_pid_file_names_a_live_process(
    tmp_path: Path,
) -> None:
    import os

    pidfile = tmp_path / "starter.charon.pid"
    assert not charon_state.starter_alive(str(pidfile))
    pidfile.write_text(f"{os.getpid()}\n")
    assert charon_state.starter_alive(str(pidfile))
    dead = subprocess.Popen(["true"])
    dead.wait()
    for text in (f"{dead.pid}\n", "0\n", "-1\n", "garbage\n", "", "\u00b2\n", "\u0661\n",
                 "9" * 40 + "\n", "9999999999\n"):
        pidfile.write_text(text, encoding="utf-8")
        assert not charon_state.starter_alive(str(pidfile)), text
    pidfile.write_bytes(b"\xff\xfe12\n")  # not UTF-8, not a pid
    assert not charon_state.starter_alive(str(pidfile))


def test_loaded_conns_ask_vici_before_any_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _daemon(monkeypatch, silent_polls=0)
    monkeypatch.setattr(charon_state, "vici_conns",
                        lambda path="", session_factory=None: {"Tunnel1", "Tunnel2"})
    strongswan.IpsecStrongswan([]).start(["Tunnel1", "Tunnel2"], timeout=30)
    assert calls == ["start"]  # no statusall at all


def test_before_charon_writes_its_pid_file_nothing_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _daemon(monkeypatch, silent_polls=0)
    started = iter([False, False, True])
    monkeypatch.setattr(charon_state, "charon_started", lambda pidfile="": next(started))
    strongswan.IpsecStrongswan([]).start(["Tunnel1", "Tunnel2"], timeout=30)
    assert calls == ["start", "statusall"]


def test_swanctl_conns_ask_vici_and_fork_only_without_an_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[list[str]] = []
    answer: list[set[str] | None] = [{"Tunnel1"}]
    monkeypatch.setattr(swanctl.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(charon_state, "vici_conns",
                        lambda path="", session_factory=None: answer[0])

    def run(argv: Sequence[str], log: list[str], *, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        return subprocess.CompletedProcess(list(argv), 0, "Tunnel2: IKEv1, x\n", "")

    monkeypatch.setattr(swanctl, "run_argv", run)
    assert swanctl.Swanctl([]).conns() == {"Tunnel1"} and ran == []
    answer[0] = None  # no vici socket where we look: swanctl may know another
    assert swanctl.Swanctl([]).conns() == {"Tunnel2"}
    assert ran == [["swanctl", "--list-conns"]]
