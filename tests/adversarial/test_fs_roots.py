"""Pre-populated roots: the operator's own files, modes, owners, odd bytes, planted links and FIFOs.

Issue 9 items 5, 6 and 7, as properties over generated boxes. At every path
the plan touches, hypothesis puts nothing, or the operator's own file (lines
with or without a final newline, a non-UTF-8 byte, mode 0600/0640/0644/0700/
0755, another owner), or a hazard: a symbolic link (to a file outside the
root, or inside it), a FIFO, a directory, or a link in place of a parent
directory. Then:

* a hazard: the plan refuses with TargetFileError naming the path; an apply
  of a plan made before the hazard was planted (the race) fails and rolls
  back; nothing under the root, nor the link's target, changed;
* otherwise: an apply that fails at its last action rolls back to the
  before-snapshot (bytes, mode, owner: exact); a full apply keeps every
  existing file's mode (a secrets file only tightened), owner and
  final-newline state; uninstall then restores the before-snapshot exactly
  (a replaced updown script included) and leaves no key in the journal.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from applykit import kernel
from fskit import bookkeeping_bytes, fast_dir, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from seed_setup import SEED_PSKS, seed_setup
from tally import tried

from wizard.apply import apply_plan, fault_points
from wizard.plan import build_plan
from wizard.system import System
from wizard.system.files import kept_mode
from wizard.system.paths import Root, TargetFileError
from wizard.uninstall import uninstall

MODES = ("manual", "updown")
PATHS = {mode: sorted(build_plan(seed_setup(mode=mode)).final_files()) for mode in MODES}
PLAN_MODES = {mode: {p: c.mode for p, c in build_plan(seed_setup(mode=mode)).final_files().items()}
              for mode in MODES}
BLOCK_PATHS = {c.path for mode in MODES for s in build_plan(seed_setup(mode=mode))
               for c in s.files if c.block is not None}
OTHER_UID = 4242 if os.geteuid() == 0 else os.geteuid()

LINES = st.one_of(
    st.sampled_from([
        "# the operator's own line", "vm.swappiness=10", "net.ipv4.ip_forward = 0",
        "auto eth0", "iface eth0 inet dhcp", "charon {", "}", "conn office",
        "\tright=192.0.2.77", '192.0.2.1 192.0.2.77 : PSK "operatorsOwnKey1"', "", "exit 0",
        "#!/bin/sh",
    ]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz =.#_-", max_size=24),
)


@st.composite
def operator_file(draw: st.DrawFn) -> tuple[str, bytes, int, int]:
    lines = draw(st.lists(LINES, min_size=1, max_size=6))
    data = "\n".join(lines).encode()
    if draw(st.booleans()):
        data += "\n# r\u00e9glage".encode("latin-1")  # not UTF-8
    if draw(st.booleans()):
        data += b"\n"
    mode = draw(st.sampled_from([0o600, 0o640, 0o644, 0o700, 0o755]))
    uid = draw(st.sampled_from([os.geteuid(), OTHER_UID]))
    return ("file", data, mode, uid)


HAZARDS = st.sampled_from(["link-out", "link-in", "fifo", "dir", "parent-link"])


@st.composite
def box(draw: st.DrawFn) -> tuple[str, dict[str, tuple], str | None]:
    mode = draw(st.sampled_from(MODES))
    entries: dict[str, tuple] = {}
    for path in PATHS[mode]:
        if draw(st.booleans()):
            entries[path] = draw(operator_file())
    hazard_at = None
    if draw(st.integers(0, 3)) == 0:
        hazard_at = draw(st.sampled_from(PATHS[mode]))
        entries[hazard_at] = (draw(HAZARDS), b"", 0, 0)
    return mode, entries, hazard_at


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One tmpfs directory for the module; each example works in a fresh directory inside it."""
    with fast_dir(tmp_path_factory.mktemp("fs-roots")) as path:
        yield path


def _build(base: Path, entries: dict[str, tuple], victim: Path) -> None:
    for path, (kind, data, mode, uid) in sorted(entries.items()):
        local = base / path.lstrip("/")
        if kind == "parent-link":
            real = base / "elsewhere"
            real.mkdir(exist_ok=True)
            local.parent.parent.mkdir(parents=True, exist_ok=True)
            if not local.parent.exists():
                local.parent.symlink_to(real)
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        if local.exists() or local.is_symlink():
            continue  # a parent-link hazard already stands here
        if kind == "file":
            local.write_bytes(data)
            os.chown(local, uid, os.getegid()) if os.geteuid() == 0 else None
            local.chmod(mode)
        elif kind == "link-out":
            local.symlink_to(victim)
        elif kind == "link-in":
            (base / "decoy").write_bytes(b"decoy\n")
            local.symlink_to("/decoy")
        elif kind == "fifo":
            os.mkfifo(local)
        elif kind == "dir":
            local.mkdir()


@settings(max_examples=150)
@given(case=box())
def test_operator_files_survive_apply_rollback_and_uninstall(
    scratch: Path, case: tuple[str, dict[str, tuple], str | None]
) -> None:
    mode, entries, hazard_at = case
    work = Path(tempfile.mkdtemp(dir=scratch))
    try:
        _check(work, mode, entries, hazard_at)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check(work: Path, mode: str, entries: dict[str, tuple], hazard_at: str | None) -> None:
    base = work / "root"
    base.mkdir()
    victim = work / "victim"
    victim.write_bytes(b"not the wizard's\n")
    victim.chmod(0o644)
    _build(base, entries, victim)
    root = Root(base)
    setup = seed_setup(mode=mode)
    before, kernel_before = snapshot(base), kernel(root)
    victim_before = (victim.read_bytes(), stat.S_IMODE(victim.stat().st_mode))

    if hazard_at is not None:
        tried("fs-root-hazard")
        with pytest.raises(TargetFileError) as refused:
            build_plan(setup, root.read)
        assert refused.value.path in (hazard_at, hazard_at.rsplit("/", 1)[0])
        # The race: a plan made before the hazard was planted, applied after.
        result = apply_plan(build_plan(setup), System.real(root))
        assert not result.ok
        assert snapshot(base) == before
        assert kernel(root) == kernel_before
        assert (victim.read_bytes(), stat.S_IMODE(victim.stat().st_mode)) == victim_before
        return

    tried("fs-root")
    plan = build_plan(setup, root.read)
    last = len(fault_points(plan)) - 1
    failed = apply_plan(plan, System.real(root), fail_at=str(last))
    assert not failed.ok
    assert snapshot(base) == before, "a failed apply must roll back exactly"
    assert kernel(root) == kernel_before

    assert apply_plan(plan, System.real(root)).ok
    for path, (_, data, old_mode, uid) in entries.items():
        local = base / path.lstrip("/")
        st_now = local.lstat()
        assert stat.S_ISREG(st_now.st_mode)
        assert stat.S_IMODE(st_now.st_mode) == kept_mode(old_mode, PLAN_MODES[mode][path]), path
        assert st_now.st_uid == (uid if os.geteuid() == 0 else os.geteuid()), path
        if path in BLOCK_PATHS and data:  # an empty file has no final-newline state
            assert local.read_bytes().endswith(b"\n") == data.endswith(b"\n"), path

    assert uninstall(setup, plan, System.real(root)).ok
    assert snapshot(base) == before, "uninstall must give the operator's box back exactly"
    assert kernel(root) == kernel_before
    kept = bookkeeping_bytes(base)
    assert not any(psk.encode() in kept for psk in SEED_PSKS)
    assert victim.read_bytes() == victim_before[0]
