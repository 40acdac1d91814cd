"""The transaction journal: durable, append-only, readable after a crash, private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.engine.journal import (
    KEEP_SETTLED,
    TRANSACTIONS,
    Journal,
    LockBusy,
    baseline,
    lock_is_free,
    locked,
    settle,
    transactions,
    unfinished,
)
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
         "import time\nfrom wizard.engine.journal import locked\nfrom wizard.system.paths import Root\n"
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


# --------------------------------------------------------------------------- baseline and pruning


def _tx(root: Root, state: str, kind: str = "apply", original: bytes | None = None,
        undo: dict | None = None) -> Journal:
    journal = Journal.begin(root, kind)
    if original is not None or undo is not None:
        saved = journal.save_original(0, original) if original is not None else None
        journal.record({"type": "intent", "index": 0, "step": "s", "what": "w",
                        "undo": undo or {"kind": "file", "path": "/etc/ipsec.d/aws-updown.sh",
                                         "existed": True, "mode": 0o700, "uid": 0, "gid": 0,
                                         "saved": saved, "dirs": [], "block": False}})
        journal.record({"type": "result", "index": 0, "step": "s", "outcome": "done"})
    journal.set_state(state)
    return journal


def test_settle_drops_the_originals_of_settled_transactions_only(tmp_path: Path) -> None:
    root = Root(tmp_path)
    kept = _tx(root, "confirmed", original=b'a b : PSK "secret"\n')
    undone = _tx(root, "rolled-back", original=b'a b : PSK "secret"\n')
    pending = _tx(root, "pending-confirm", original=b'a b : PSK "secret"\n')
    settle(root)
    assert list((kept.dir / "orig").iterdir()) == []
    assert list((undone.dir / "orig").iterdir()) == []
    assert [p.name for p in (pending.dir / "orig").iterdir()] == ["0"]  # a rollback needs it


def test_settle_keeps_a_replaced_file_for_uninstall_then_uninstall_clears_it(
    tmp_path: Path
) -> None:
    root = Root(tmp_path)
    _tx(root, "applied", original=b"#!/bin/sh\n# mine\n")
    second = _tx(root, "applied", original=b"#!/bin/bash\n# the wizard's\n")
    settle(root)
    base = baseline(root)
    assert base.original(root, "/etc/ipsec.d/aws-updown.sh") == b"#!/bin/sh\n# mine\n"
    assert base.files["/etc/ipsec.d/aws-updown.sh"]["mode"] == 0o700
    kept = root.path(base.files["/etc/ipsec.d/aws-updown.sh"]["data"])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert second.id  # the second apply's original (the wizard's own file) is not "the operator's"
    _tx(root, "applied", kind="uninstall")
    settle(root)
    assert baseline(root).files == {}
    assert not kept.exists()


def test_baseline_is_the_same_before_and_after_settle(tmp_path: Path) -> None:
    root = Root(tmp_path)
    _tx(root, "applied", undo={"kind": "sysctl", "key": "net.ipv4.ip_forward", "value": "0"})
    _tx(root, "applied", undo={"kind": "sysctl", "key": "net.ipv4.ip_forward", "value": "1"})
    _tx(root, "applied", undo={"kind": "strongswan", "was_running": False})
    _tx(root, "rolled-back", undo={"kind": "sysctl", "key": "vm.x", "value": "5"})
    computed = baseline(root)
    settle(root)
    assert baseline(root) == computed
    assert computed.sysctl == {"net.ipv4.ip_forward": "0"}  # the first kept value wins
    assert computed.strongswan_running is False


def test_the_journal_keeps_only_the_newest_settled_transactions(tmp_path: Path) -> None:
    root = Root(tmp_path)
    for _ in range(KEEP_SETTLED + 5):
        _tx(root, "applied", original=b"x")
        settle(root)
    pending = _tx(root, "pending-confirm")
    settle(root)
    journals = transactions(root)
    assert len(journals) == KEEP_SETTLED + 1 and journals[-1].id == pending.id


def test_a_transaction_directory_without_a_journal_is_removed(tmp_path: Path) -> None:
    root = Root(tmp_path)
    Journal.begin(root, "apply").set_state("applied")
    orphan = root.path(f"{TRANSACTIONS}/20200101T000000-000000")
    (orphan / "orig").mkdir(parents=True)  # a crash inside Journal.begin
    settle(root)
    assert not orphan.exists()
