"""`vpn-wizard apply/confirm/rollback/uninstall` in fresh processes, on a temporary root.

These run the CLI exactly as an operator would (but with `--root`, so the
kernel side is simulated): a `kill -9` really kills the process, and the revert
timer really is a separate, detached process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from applykit import REPO, answers_text, cli, kernel, seeded_root, set_kernel, tree
from seed_setup import SEED_PSKS

from wizard.apply import KILL_AT_ENV
from wizard.engine.journal import Journal, transactions
from wizard.system.paths import Root


@pytest.fixture
def box(tmp_path: Path) -> tuple[Root, Path]:
    """A seeded root and an answers file beside it (not inside it)."""
    root = seeded_root(tmp_path / "root")
    answers = tmp_path / "answers.toml"
    answers.write_text(answers_text())
    return root, answers


def _apply(root: Root, answers: Path, *extra: str, **kw: object):
    return cli("apply", "--answers", str(answers), "--root", str(root.root), *extra, **kw)


def test_apply_no_confirm_then_reapply_unchanged(box: tuple[Root, Path]) -> None:
    root, answers = box
    first = _apply(root, answers, "--no-confirm")
    assert first.returncode == 0, first.stderr
    assert "Applied (transaction" in first.stdout
    second = _apply(root, answers, "--no-confirm")
    assert second.returncode == 0
    assert "nothing was changed" in second.stdout
    assert "[ok]" not in second.stdout
    for psk in SEED_PSKS:
        assert psk not in first.stdout + first.stderr


@pytest.mark.parametrize("index", [0, 5, 16, 31])
def test_kill_9_then_rollback_restores(box: tuple[Root, Path], index: int) -> None:
    """A real SIGKILL, after the action is done and before the journal says so.

    Every action is crashed at in test_apply_crash.py (in-process, fast); these
    few prove the real signal behaves the same.
    """
    root, answers = box
    files_before, kernel_before = tree(root.root), kernel(root)
    crashed = _apply(root, answers, "--no-confirm", env={KILL_AT_ENV: str(index)})
    assert crashed.returncode == -signal.SIGKILL, (crashed.stdout, crashed.stderr)
    refused = _apply(root, answers, "--no-confirm")
    assert refused.returncode == 2 and "vpn-wizard rollback" in refused.stderr
    undone = cli("rollback", "--root", str(root.root))
    assert undone.returncode == 0, undone.stderr
    assert "Rolled back" in undone.stdout
    assert tree(root.root) == files_before
    assert kernel(root) == kernel_before
    assert cli("rollback", "--root", str(root.root)).stdout.strip() == "Nothing to roll back."


def test_injected_failure_exits_1_and_names_the_step(box: tuple[Root, Path]) -> None:
    root, answers = box
    before = tree(root.root)
    result = _apply(root, answers, "--no-confirm", env={"VPN_WIZARD_FAIL_AT": "tunnel2.route"})
    assert result.returncode == 1
    assert "Step tunnel2.route failed" in result.stderr
    assert "[<-]" in result.stdout  # the rolled-back steps are listed
    assert tree(root.root) == before


def test_not_confirming_rolls_back(box: tuple[Root, Path]) -> None:
    root, answers = box
    files_before, kernel_before = tree(root.root), kernel(root)
    started = time.monotonic()
    result = _apply(root, answers, "--confirm-timeout", "2")
    assert result.returncode == 1
    assert "Not confirmed in time" in result.stdout
    assert time.monotonic() - started >= 2
    assert tree(root.root) == files_before and kernel(root) == kernel_before


def test_confirm_keeps_the_changes(box: tuple[Root, Path]) -> None:
    root, answers = box
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard.cli", "apply", "--answers", str(answers), "--root",
         str(root.root), "--confirm-timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    try:
        _wait_for_state(root, "pending-confirm")
        confirmed = cli("confirm", "--root", str(root.root))
        assert confirmed.returncode == 0, confirmed.stderr
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Confirmed" in out
    assert transactions(root)[-1].state == "confirmed"
    assert "Tunnel1" in kernel(root)["links"]
    # The timer is gone: nothing reverts later.
    time.sleep(0.5)
    assert "Tunnel1" in kernel(root)["links"]
    again = cli("confirm", "--root", str(root.root))
    assert again.returncode == 1 and "nothing is waiting" in again.stderr


def test_killing_the_wizard_while_waiting_still_reverts(box: tuple[Root, Path]) -> None:
    root, answers = box
    files_before, kernel_before = tree(root.root), kernel(root)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard.cli", "apply", "--answers", str(answers), "--root",
         str(root.root), "--confirm-timeout", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    _wait_for_state(root, "pending-confirm")
    os.killpg(proc.pid, signal.SIGKILL)  # the wizard and its whole session, as SSH dying would
    proc.wait()
    assert "Tunnel1" in kernel(root)["links"]
    _wait_for_state(root, "rolled-back", timeout=15)
    assert tree(root.root) == files_before and kernel(root) == kernel_before
    log = (transactions(root)[-1].dir / "timer.log").read_text()
    assert "not confirmed in time" in log


def test_killing_the_wizard_mid_apply_with_confirmation_reverts_at_once(
    box: tuple[Root, Path],
) -> None:
    """With a confirmation pending, no one needs to type `rollback`: the timer does it."""
    root, answers = box
    files_before, kernel_before = tree(root.root), kernel(root)
    crashed = _apply(root, answers, "--confirm-timeout", "60", env={KILL_AT_ENV: "12"})
    assert crashed.returncode == -signal.SIGKILL
    _wait_for_state(root, "rolled-back", timeout=15)
    assert tree(root.root) == files_before and kernel(root) == kernel_before
    assert "the wizard died while applying" in (
        transactions(root)[-1].dir / "timer.log"
    ).read_text()


def test_preflight_missing_interface_refuses_before_any_change(tmp_path: Path) -> None:
    root = seeded_root(tmp_path / "root")
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text(lan_interfaces=["lan0"]))
    before = tree(root.root, all_files=True)
    result = cli("apply", "--answers", str(answers), "--root", str(root.root), "--no-confirm")
    assert result.returncode == 2
    assert "the LAN interface lan0 does not exist" in result.stderr
    assert "Nothing was changed." in result.stderr
    assert tree(root.root, all_files=True) == before


def test_preflight_strongswan_absent_refuses(box: tuple[Root, Path]) -> None:
    root, answers = box
    set_kernel(root, strongswan={"installed": False, "running": False, "conns": []})
    before = tree(root.root, all_files=True)
    result = _apply(root, answers, "--no-confirm")
    assert result.returncode == 2
    assert "strongSwan is not installed" in result.stderr
    assert tree(root.root, all_files=True) == before


def test_mark_used_by_an_existing_conn_refuses(box: tuple[Root, Path]) -> None:
    root, answers = box
    conf = root.path("/etc/ipsec.conf")
    conf.write_text(conf.read_text() + "\nconn branch\n\tright=192.0.2.99\n\tmark=200\n")
    before = tree(root.root, all_files=True)
    result = _apply(root, answers, "--no-confirm")
    assert result.returncode == 2
    assert "mark 200 is already used by conn branch" in result.stderr
    assert tree(root.root, all_files=True) == before


def test_dry_run_cli_writes_nothing(box: tuple[Root, Path]) -> None:
    root, answers = box
    before = tree(root.root, all_files=True)
    result = _apply(root, answers, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "write /etc/ipsec.secrets (0600)" in result.stdout
    assert "Dry run: nothing was changed." in result.stdout
    assert tree(root.root, all_files=True) == before


def test_uninstall_removes_only_what_the_wizard_added(box: tuple[Root, Path]) -> None:
    root, answers = box
    # strongSwan runs the operator's own conn before the wizard: it must run it after uninstall.
    set_kernel(root, strongswan={"running": True, "conns": ["office"]})
    files_before, kernel_before = tree(root.root), kernel(root)
    assert _apply(root, answers, "--no-confirm").returncode == 0
    result = cli("uninstall", "--yes", "--answers", str(answers), "--root", str(root.root))
    assert result.returncode == 0, result.stderr
    assert tree(root.root) == files_before  # operator lines back, byte for byte
    after = kernel(root)
    for part in ("links", "routes", "iptables", "sysctl", "systemd"):
        assert after[part] == kernel_before[part], part
    assert set(after["strongswan"]["conns"]) == {"office"}
    assert after["strongswan"] == kernel_before["strongswan"]
    again = cli("uninstall", "--yes", "--answers", str(answers), "--root", str(root.root))
    assert again.returncode == 0 and "nothing was changed" in again.stdout


def test_uninstall_keeps_operator_lines_added_after_apply(box: tuple[Root, Path]) -> None:
    root, answers = box
    assert _apply(root, answers, "--no-confirm").returncode == 0
    conf = root.path("/etc/ipsec.conf")
    conf.write_text(conf.read_text() + "\nconn later\n\tright=192.0.2.55\n")
    assert cli("uninstall", "--yes", "--answers", str(answers), "--root", str(root.root)).returncode == 0
    text = conf.read_text()
    assert "conn later\n\tright=192.0.2.55\n" in text
    assert "vpn-wizard" not in text and "\tuniqueids=yes" in text
    assert not root.path("/etc/vpn-wizard").exists()
    assert not root.path("/etc/systemd/system/vpn-wizard-heartbeat.service").exists()


def _wait_for_state(root: Root, state: str, timeout: float = 20.0) -> Journal:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = transactions(root)
        if found and found[-1].state == state:
            return found[-1]
        time.sleep(0.05)
    found = transactions(root)
    raise AssertionError(f"state {state!r} not reached; last: "
                         f"{found[-1].state if found else None}")
