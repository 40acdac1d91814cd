"""Kill at every file-system operation (real SIGKILL), then rollback and uninstall: nothing left.

Issue 9 item 4. `VPN_WIZARD_FS_KILL_AT=N` SIGKILLs the process right before
its Nth file-system change (mkdir, temporary file, write, rename, unlink,
journal record; see `wizard.system.crash.checkpoint`), so over N = 0, 1, ...
until the apply completes, the kill lands between every two operations -
between writing a temporary file and renaming it included. After each kill
`vpn-wizard rollback` must bring the root back byte-, mode- and owner-exact
(temporary files and created directories included), the simulated kernel
too, and leave no key in the wizard's own state; `uninstall` after it must
change nothing. A kill after the apply recorded "applied" (while it prunes
its journal) leaves the apply kept: then uninstall must restore the
before-snapshot exactly. Two more sweeps kill the rollback and the
uninstall themselves at every operation: each is finished by the next
`rollback`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from applykit import answers_text, kernel, seeded_root
from fskit import bookkeeping_bytes, fast_dir, run_forked, snapshot
from seed_setup import SEED_PSKS
from tally import tried

from wizard.apply import KILL_AT_ENV
from wizard.engine.journal import transactions
from wizard.system.paths import Root

KILLED = -9
LIMIT = 2000
UNINSTALL_EVERY = 8
"""After a rolled-back kill, uninstall has nothing to do; proving it every 8th point is enough."""


@pytest.fixture
def base(tmp_path: Path) -> Iterator[Path]:
    with fast_dir(tmp_path) as path:
        yield path / "root"


def _box(base: Path, mode: str) -> list[str]:
    seeded_root(base)
    # The operator's own files at paths the plan writes whole and in blocks, with odd modes.
    (base / "etc/ipsec.d").mkdir(parents=True)
    updown = base / "etc/ipsec.d/aws-updown.sh"
    updown.write_bytes(b"#!/bin/sh\n# the operator's own updown\nexit 0")
    updown.chmod(0o700)
    (base / "etc/ipsec.conf").chmod(0o640)
    answers = base.parent / "answers.toml"
    answers.write_text(answers_text(mode))
    return ["--answers", str(answers), "--root", str(base)]


def _no_keys(base: Path) -> None:
    kept = bookkeeping_bytes(base)
    for psk in SEED_PSKS:
        assert psk.encode() not in kept


def _newest_state(root: Root) -> str:
    journals = transactions(root)
    return journals[-1].state if journals else "none"


@pytest.mark.parametrize("mode", ["manual", "updown"])
def test_kill_at_every_fs_operation_then_rollback_and_uninstall(base: Path, mode: str) -> None:
    args = _box(base, mode)
    root = Root(base)
    before, kernel_before = snapshot(base), kernel(root)
    point = 0
    while (rc := run_forked(["apply", "--no-confirm", *args], kill_at=point)) != 0:
        tried("fs-kill-apply")
        assert rc == KILLED, f"apply killed at fs op {point}: exit {rc}"
        kept = _newest_state(root) == "applied"  # killed while settling its journal
        assert run_forked(["rollback", "--root", str(base)]) == 0, point
        if not kept:
            assert snapshot(base) == before, f"after a kill at fs op {point} and rollback"
            assert kernel(root) == kernel_before, point
            _no_keys(base)
        if kept or point % UNINSTALL_EVERY == 0:
            assert run_forked(["uninstall", "--yes", *args]) == 0, point
            assert snapshot(base) == before, f"kill at fs op {point}, rollback, uninstall"
            assert kernel(root) == kernel_before, point
            _no_keys(base)
        point += 1
        assert point < LIMIT
    assert point > 50  # the sweep really walked the apply
    assert run_forked(["uninstall", "--yes", *args]) == 0
    assert snapshot(base) == before
    assert kernel(root) == kernel_before
    _no_keys(base)
    assert len(transactions(root)) <= 10  # the journal does not grow without bound


def test_kill_the_rollback_at_every_fs_operation(base: Path) -> None:
    args = _box(base, "manual")
    root = Root(base)
    before, kernel_before = snapshot(base), kernel(root)
    # Killed right after the heartbeat unit is written, the apply leaves the most to undo.
    os.environ[KILL_AT_ENV] = "heartbeat"
    try:
        assert run_forked(["apply", "--no-confirm", *args]) == KILLED
    finally:
        del os.environ[KILL_AT_ENV]
    assert _newest_state(root) == "applying"
    point = 0
    while (rc := run_forked(["rollback", "--root", str(base)], kill_at=point)) == KILLED:
        tried("fs-kill-rollback")
        point += 1
        assert point < LIMIT
    assert rc == 0 and point > 10
    assert snapshot(base) == before
    assert kernel(root) == kernel_before
    _no_keys(base)


def test_kill_the_uninstall_at_every_fs_operation(base: Path) -> None:
    args = _box(base, "updown")
    root = Root(base)
    before, kernel_before = snapshot(base), kernel(root)
    assert run_forked(["apply", "--no-confirm", *args]) == 0
    applied, kernel_applied = snapshot(base), kernel(root)
    point = 0
    while run_forked(["uninstall", "--yes", *args], kill_at=point) == KILLED:
        tried("fs-kill-uninstall")
        if transactions(root)[-1].kind == "uninstall" and _newest_state(root) == "applied":
            break  # done; killed while settling its journal
        assert run_forked(["rollback", "--root", str(base)]) == 0, point
        assert snapshot(base) == applied, f"uninstall killed at fs op {point}, rolled back"
        assert kernel(root) == kernel_applied, point
        point += 1
        assert point < LIMIT
    assert point > 20
    assert run_forked(["uninstall", "--yes", *args]) == 0
    assert snapshot(base) == before
    assert kernel(root) == kernel_before
    _no_keys(base)
