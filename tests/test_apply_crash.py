"""A crash at every action, then `rollback` from the journal alone, in a new System.

`VPN_WIZARD_KILL_AT=raise:N` makes the engine raise a BaseException right
after doing action N and before journaling it: no handler of the engine runs,
exactly as with SIGKILL (test_apply_cli.py proves a few points with the real
signal). The rollback then uses only what is on disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from applykit import kernel, seeded_root, tree
from fskit import bookkeeping_bytes, fast_dir, snapshot
from seed_setup import SEED_PSKS, seed_setup

from wizard.apply import KILL_AT_ENV, SimulatedCrash, apply_plan, fault_points, rollback
from wizard.engine.journal import unfinished
from wizard.plan import build_plan
from wizard.system import System
from wizard.system.crash import FS_KILL_AT_ENV, FsCrash, reset_fs_ops

POINTS = {mode: len(fault_points(build_plan(seed_setup(mode=mode)))) for mode in
          ("manual", "updown")}


@pytest.mark.parametrize(
    ("mode", "index"),
    [(mode, i) for mode, n in POINTS.items() for i in range(n)],
)
def test_crash_after_each_action_then_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, index: int
) -> None:
    root = seeded_root(tmp_path)
    files_before, kernel_before = tree(tmp_path), kernel(root)
    monkeypatch.setenv(KILL_AT_ENV, f"raise:{index}")
    with pytest.raises(SimulatedCrash):
        apply_plan(build_plan(seed_setup(mode=mode), root.read), System.real(root))
    monkeypatch.delenv(KILL_AT_ENV)
    pending = unfinished(root)
    assert pending is not None and pending.state == "applying"
    # The action was done, so the box differs until the rollback.
    assert (tree(tmp_path), kernel(root)) != (files_before, kernel_before)
    result = rollback(System.real(root))
    assert result.ok and result.changed and result.transaction == pending.id
    assert tree(tmp_path) == files_before
    assert kernel(root) == kernel_before
    assert unfinished(root) is None


def test_killed_between_writing_the_secrets_temp_file_and_renaming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 4: the temp file holding both PSKs must not survive `rollback`."""
    with fast_dir(tmp_path) as base:
        root = seeded_root(base)
        before, kernel_before = snapshot(base), kernel(root)
        plan = build_plan(seed_setup(mode="manual"), root.read)
        point = 0
        while True:  # find the rename of the secrets file's temporary file
            monkeypatch.setenv(FS_KILL_AT_ENV, f"raise:{point}")
            reset_fs_ops()
            with pytest.raises(FsCrash) as crash:
                apply_plan(plan, System.real(root))
            monkeypatch.delenv(FS_KILL_AT_ENV)
            if str(crash.value).startswith("rename .ipsec.secrets.vpn-wizard-tmp"):
                break
            assert rollback(System.real(root)).ok
            point += 1
        tmp = base / "etc/.ipsec.secrets.vpn-wizard-tmp"
        assert SEED_PSKS[0].encode() in tmp.read_bytes()
        result = rollback(System.real(root))
        assert result.ok and result.changed
        assert snapshot(base) == before  # no temp file, no created directory, same modes
        assert kernel(root) == kernel_before
        kept = bookkeeping_bytes(base)
        assert not any(psk.encode() in kept for psk in SEED_PSKS)

