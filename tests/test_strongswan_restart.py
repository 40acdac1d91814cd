"""`ipsec restart` on a busy daemon: a status poll that times out means "not yet", not failure.

charon runs the updown script synchronously for each CHILD_SA it brings up and
answers no `ipsec statusall` meanwhile; the booted lab measured 10-15 s per
script on a loaded box. A restart that gave up at the first silent poll
rolled back an apply that was about to succeed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

import pytest

from wizard.system import strongswan
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
