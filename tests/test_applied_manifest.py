"""The engine writes the applied manifest when an apply is kept, journaled like any managed file.

Kept means confirmed, or applied without a confirm timeout. Until then the
box's manifest is the previous one (or none): a rollback of a pending apply,
or of a confirmation killed halfway, leaves it exactly as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from applykit import kernel, seeded_root, tree
from seed_setup import SEED_PSKS, seed_setup

from wizard.apply import apply_plan, confirm, rollback
from wizard.engine.journal import Journal, unfinished
from wizard.manifest import MANIFEST_PATH, parse_manifest
from wizard.plan import build_plan
from wizard.system import System
from wizard.system.crash import FS_KILL_AT_ENV, FsCrash, reset_fs_ops
from wizard.system.paths import Root
from wizard.system.revert_process import stop

COMMAND = "/opt/vpn-wizard/bin/vpn-wizard"


def _apply(root: Root, mode: str = "manual", timeout: float | None = None) -> str:
    system = System.real(root)
    try:
        plan = build_plan(seed_setup(mode=mode), root.read, heartbeat_command=COMMAND)
        result = apply_plan(plan, system, confirm_timeout=timeout)
    finally:
        system.close()
    assert result.ok and result.changed, result.error
    assert result.transaction is not None
    if timeout is not None:  # the timer stays out of the way: the test confirms or rolls back
        journal = Journal(root, result.transaction)
        timer = next(r for r in journal.records() if r.get("type") == "timer")
        stop(int(timer["pid"]), journal.id)
    return result.transaction


def _manifest(root: Root) -> bytes | None:
    path = root.path(MANIFEST_PATH)
    return path.read_bytes() if path.exists() else None


def test_an_apply_without_confirmation_writes_the_manifest(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    transaction = _apply(root, "updown")
    path = root.path(MANIFEST_PATH)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for psk in SEED_PSKS:
        assert psk not in text
    manifest = parse_manifest(text)
    assert manifest.transaction == transaction
    assert manifest.heartbeat_command == COMMAND
    assert manifest.applied_at.endswith("Z") and manifest.applied_at[:2] == "20"
    setup = seed_setup(mode="updown")
    assert manifest.setup.choices == setup.choices
    assert [t.name for t in manifest.setup.tunnels] == [t.name for t in setup.tunnels]
    assert [t.psk.reveal() for t in manifest.setup.tunnels] == ["", ""]


def test_a_pending_apply_writes_it_only_on_confirm(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    transaction = _apply(root, timeout=600)
    assert _manifest(root) is None
    kept, message = confirm(System.real(root))
    assert kept, message
    assert parse_manifest((_manifest(root) or b"").decode()).transaction == transaction
    assert Journal(root, transaction).state == "confirmed"


def test_a_rolled_back_apply_leaves_the_previous_manifest(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    first = _apply(root, "manual")
    previous = _manifest(root)
    _apply(root, "updown", timeout=600)
    assert rollback(System.real(root)).ok
    assert _manifest(root) == previous
    assert parse_manifest((previous or b"").decode()).transaction == first


def test_a_confirmation_killed_anywhere_is_rolled_back_with_the_previous_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file-system operation of `confirm` is a crash point; each is rolled back exactly."""
    point = 0
    while True:
        base = tmp_path / f"p{point}"
        base.mkdir()
        root = seeded_root(base)
        _apply(root, "manual")
        before_files, before_kernel = tree(base), kernel(root)
        previous = _manifest(root)
        _apply(root, "updown", timeout=600)
        reset_fs_ops()
        monkeypatch.setenv(FS_KILL_AT_ENV, f"raise:{point}")
        try:
            confirm(System.real(root))
        except FsCrash:
            pass
        else:
            break  # the confirmation ran to its end without reaching this point
        finally:
            monkeypatch.delenv(FS_KILL_AT_ENV)
        if unfinished(root) is not None:
            assert rollback(System.real(root)).ok
            assert (tree(base), kernel(root)) == (before_files, before_kernel), point
            assert _manifest(root) == previous, point
        else:  # killed after "confirmed" was written: kept, with the new manifest
            assert parse_manifest((_manifest(root) or b"").decode()).setup.choices.mode == "updown"
        point += 1
    assert point >= 4  # the intent, the temporary file, its rename, the state record at least
    assert os.environ.get(FS_KILL_AT_ENV) is None
