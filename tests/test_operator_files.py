"""The operator's files: kept, not loosened, given back; the box's odd files refused clearly.

Issue 9 items 5, 6 and 7 as examples (tests/adversarial/test_fs_roots.py
holds the generated ones): modes and owners kept (a secrets file only
tightened), the final-newline state kept, a replaced updown script put back
by uninstall, strongSwan stopped again if it was stopped, no key left in the
journal, non-UTF-8 bytes preserved, and links or broken markers refused by
plan, apply and dry-run with the path, the line and the fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from applykit import answers_text, kernel, seeded_root, set_kernel
from fskit import bookkeeping_bytes, snapshot
from seed_setup import SEED_PSKS, seed_setup

from wizard.apply import apply_plan
from wizard.cli import main
from wizard.plan import build_plan
from wizard.system import System
from wizard.uninstall import uninstall


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_existing_files_keep_their_mode_and_a_secrets_file_is_only_tightened(
    tmp_path: Path,
) -> None:
    root = seeded_root(tmp_path)
    (tmp_path / "etc/network").mkdir()
    (tmp_path / "etc/network/interfaces").write_text("auto lo\niface lo inet loopback\n")
    (tmp_path / "etc/network/interfaces").chmod(0o640)  # it can hold wpa-psk
    (tmp_path / "etc/rc.local").write_text("#!/bin/sh\nlogger booted\nexit 0\n")
    (tmp_path / "etc/rc.local").chmod(0o700)
    (tmp_path / "etc/ipsec.secrets").chmod(0o644)
    before = snapshot(tmp_path)
    setup = seed_setup(mode="manual")
    plan = build_plan(setup, root.read)
    assert apply_plan(plan, System.real(root)).ok
    assert _mode(tmp_path / "etc/network/interfaces") == 0o640
    assert _mode(tmp_path / "etc/rc.local") == 0o700
    assert _mode(tmp_path / "etc/ipsec.secrets") == 0o600  # tightened for the keys
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    assert snapshot(tmp_path) == before  # 0644 again once the wizard's keys are gone


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_existing_files_keep_their_owner(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    os.chown(tmp_path / "etc/sysctl.conf", 4242, 4343)
    setup = seed_setup(mode="manual")
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    st = (tmp_path / "etc/sysctl.conf").stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)


def test_a_file_without_a_final_newline_keeps_lacking_one(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    (tmp_path / "etc/sysctl.conf").write_bytes(b"# mine\nvm.swappiness=10")
    before = snapshot(tmp_path)
    setup = seed_setup(mode="manual")
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    data = (tmp_path / "etc/sysctl.conf").read_bytes()
    assert data.startswith(b"# mine\nvm.swappiness=10\n") and not data.endswith(b"\n")
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    assert snapshot(tmp_path) == before


def test_non_utf8_bytes_are_kept_byte_for_byte(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    (tmp_path / "etc/sysctl.conf").write_bytes(b"# r\xe9glage\nvm.swappiness=10\n")
    before = snapshot(tmp_path)
    setup = seed_setup(mode="manual")
    plan = build_plan(setup, root.read)
    assert "\\xe9" in plan.step("forwarding").files[0].diff()  # shown escaped, never raw
    assert apply_plan(plan, System.real(root)).ok
    assert (tmp_path / "etc/sysctl.conf").read_bytes().startswith(b"# r\xe9glage\n")
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    assert snapshot(tmp_path) == before


def test_uninstall_puts_back_the_operators_own_updown_script(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    (tmp_path / "etc/ipsec.d").mkdir()
    mine = tmp_path / "etc/ipsec.d/aws-updown.sh"
    mine.write_bytes(b"#!/bin/sh\n# my own updown\n")
    mine.chmod(0o700)
    before = snapshot(tmp_path)
    setup = seed_setup(mode="updown")
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    assert b"my own updown" not in mine.read_bytes()
    # A re-apply must not take the wizard's own script for the operator's.
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    assert snapshot(tmp_path) == before


def test_uninstall_leaves_a_whole_file_the_wizard_never_wrote(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    (tmp_path / "etc/ipsec.d").mkdir()
    (tmp_path / "etc/ipsec.d/aws-updown.sh").write_bytes(b"#!/bin/sh\n# my own updown\n")
    before = snapshot(tmp_path)
    setup = seed_setup(mode="updown")
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("running", [False, True])
def test_uninstall_leaves_strongswan_as_it_found_it(tmp_path: Path, running: bool) -> None:
    root = seeded_root(tmp_path)
    set_kernel(root, strongswan={"running": running, "conns": ["office"] if running else []})
    before = kernel(root)["strongswan"]
    setup = seed_setup(mode="manual")
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    assert kernel(root)["strongswan"]["running"]
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    assert kernel(root)["strongswan"] == before


def test_no_key_is_left_in_the_journal_once_nothing_can_need_it(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    setup = seed_setup(mode="manual")
    plan = build_plan(setup, root.read)
    assert apply_plan(plan, System.real(root)).ok
    assert apply_plan(build_plan(setup, root.read), System.real(root), fail_at="heartbeat").ok \
        is False  # a re-apply that failed: its originals held both PSKs
    kept = bookkeeping_bytes(tmp_path)
    assert not any(psk.encode() in kept for psk in SEED_PSKS)
    assert uninstall(setup, build_plan(setup, root.read), System.real(root)).ok
    kept = bookkeeping_bytes(tmp_path)
    assert not any(psk.encode() in kept for psk in SEED_PSKS)
    assert b"operatorsOwnKey1" not in kept


# --------------------------------------------------------------------------- refusals, CLI


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.toml"
    path.write_text(answers_text("manual"))
    return path


COMMANDS = (["plan"], ["apply", "--no-confirm"], ["apply", "--dry-run"], ["uninstall"])


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("a=1\n# BEGIN vpn-wizard forwarding (managed)\nnet.ipv4.ip_forward = 1\n", 2,
         "no END marker"),
        ("a=1\n# END vpn-wizard forwarding\n", 2, "which no BEGIN"),
        ("# BEGIN vpn-wizard x (managed)\n# END vpn-wizard x\n"
         "# BEGIN vpn-wizard x (managed)\n# END vpn-wizard x\n", 3, "a second time"),
        ("# BEGIN vpn-wizard x (managed)\n# BEGIN vpn-wizard y (managed)\n"
         "# END vpn-wizard y\n# END vpn-wizard x\n", 2, "inside block"),
    ],
    ids=["begin-without-end", "end-without-begin", "duplicated", "nested"],
)
def test_broken_markers_are_refused_with_file_line_and_fix(
    tmp_path: Path, answers: Path, capsys: pytest.CaptureFixture[str],
    command: list[str], text: str, line: int, what: str,
) -> None:
    root_dir = tmp_path / "root"
    seeded_root(root_dir)
    (root_dir / "etc/sysctl.conf").write_text(text)
    before = snapshot(root_dir, bookkeeping=True)
    code = main([*command, "--answers", str(answers), "--root", str(root_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"/etc/sysctl.conf line {line} has broken vpn-wizard markers" in err
    assert what in err and "then run the wizard again" in err and "Nothing was changed" in err
    assert "Traceback" not in err
    assert snapshot(root_dir, bookkeeping=True) == before


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_planted_link_is_refused_by_every_command(
    tmp_path: Path, answers: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    root_dir = tmp_path / "root"
    seeded_root(root_dir)
    victim = tmp_path / "victim"
    victim.write_bytes(b"someone else's\n")
    victim.chmod(0o644)
    (root_dir / "etc/ipsec.secrets").unlink()
    (root_dir / "etc/ipsec.secrets").symlink_to(victim)
    before = snapshot(root_dir, bookkeeping=True)
    code = main([*command, "--answers", str(answers), "--root", str(root_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"/etc/ipsec.secrets is a symbolic link (to {victim})" in err
    assert "Nothing was changed" in err and "Traceback" not in err
    assert snapshot(root_dir, bookkeeping=True) == before
    assert victim.read_bytes() == b"someone else's\n" and _mode(victim) == 0o644
