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
from seed_setup import seed_setup

from wizard.apply import KILL_AT_ENV, SimulatedCrash, apply_plan, fault_points, rollback
from wizard.journal import unfinished
from wizard.plan import build_plan
from wizard.system import System

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
