"""The transaction journal: durable, append-only, readable after a crash, private."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.journal import Journal, LockBusy, lock_is_free, locked, transactions, unfinished
from wizard.system.paths import Root


def test_begin_creates_a_private_transaction_and_records_it(tmp_path: Path) -> None:
    root = Root(tmp_path)
    journal = Journal.begin(root, "apply", steps=["forwarding"])
    assert journal.dir.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "var/lib/vpn-wizard").stat().st_mode & 0o777 == 0o700
    assert journal.path.stat().st_mode & 0o777 == 0o600
    first = journal.records()[0]
    assert first["type"] == "begin" and first["kind"] == "apply"
    assert first["pid"] == os.getpid() and first["steps"] == ["forwarding"]
    assert journal.state == "applying"
    assert unfinished(root) is not None and unfinished(root).id == journal.id


def test_each_record_is_fsynced_before_record_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal.begin(Root(tmp_path), "apply")
    synced: list[bytes] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced.append(Path(f"/proc/self/fd/{fd}").read_bytes()[-80:])

    monkeypatch.setattr(os, "fsync", spy)
    journal.record({"type": "intent", "index": 7, "step": "s", "what": "w", "undo": {}})
    assert synced and b'"index": 7' in synced[0]


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    journal = Journal.begin(Root(tmp_path), "apply")
    journal.record({"type": "intent", "index": 0, "step": "s", "what": "w", "undo": {}})
    with open(journal.path, "a") as f:
        f.write('{"type": "result", "ind')  # the crash came mid-write
    assert [r["type"] for r in journal.records()] == ["begin", "intent"]


def test_states_and_unfinished(tmp_path: Path) -> None:
    root = Root(tmp_path)
    a = Journal.begin(root, "apply")
    a.set_state("applied")
    b = Journal.begin(root, "apply")
    b.set_state("pending-confirm", deadline=1.0)
    assert [j.id for j in transactions(root)] == [a.id, b.id]
    assert unfinished(root).id == b.id
    b.set_state("confirmed")
    assert unfinished(root) is None


def test_originals_are_kept_private(tmp_path: Path) -> None:
    journal = Journal.begin(Root(tmp_path), "apply")
    name = journal.save_original(3, b'a b : PSK "secret"\n')
    assert journal.read_original(name) == b'a b : PSK "secret"\n'
    assert (journal.dir / name).stat().st_mode & 0o777 == 0o600


def test_the_lock_excludes_another_process(tmp_path: Path) -> None:
    root = Root(tmp_path)
    assert lock_is_free(root)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom wizard.journal import locked\nfrom wizard.system.paths import Root\n"
         f"with locked(Root({str(tmp_path)!r})):\n"
         "    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not lock_is_free(root)
        with pytest.raises(LockBusy), locked(root, wait=0.2):
            pass
    finally:
        holder.kill()
        holder.wait()
    # The kernel drops a dead process's lock: this is how a crash is told from a slow apply.
    assert lock_is_free(root)
