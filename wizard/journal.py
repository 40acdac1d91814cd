"""The transaction journal: what an apply is about to do, written before it does it.

Each apply (or uninstall) is a transaction under
`ROOT/var/lib/vpn-wizard/transactions/ID/`:

* `journal.jsonl` - one JSON record per line, appended and fsynced before
  the action it announces. An action's "intent" record carries everything
  needed to undo it (a file's original is saved beside it first), so a
  process killed at any instant leaves a journal from which `vpn-wizard
  rollback` can put the box back, in another process, without the plan.
* `orig/N` - the bytes a file had before action N rewrote it (0600: the
  original `ipsec.secrets` holds keys).

Records, in the order they may appear:

    {"type": "begin", "id", "kind": "apply"|"uninstall", "pid", "time", "steps": [...]}
    {"type": "intent", "index", "step", "what", "undo": {...}}
    {"type": "result", "index", "step", "outcome": "done"|"unchanged"|"skipped"|"failed", ...}
    {"type": "undone", "index"} / {"type": "undo-failed", "index", "error"}
    {"type": "state", "state", ...}

States: "applying" (implicit after begin), "applied", "pending-confirm"
(with "deadline" and "timer_pid"), "confirmed", "rolling-back",
"rolled-back", "rollback-failed". A transaction is unfinished while its
state is applying, pending-confirm, rolling-back or rollback-failed.

A lock file serialises everyone who changes the box or a journal (apply,
confirm, rollback, the revert timer); the kernel drops a dead process's
lock, which is also how the timer tells a crashed apply from a slow one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wizard.system.files import fsync_dir
from wizard.system.paths import Root

STATE_DIR = "/var/lib/vpn-wizard"
TRANSACTIONS = f"{STATE_DIR}/transactions"
LOCK = f"{STATE_DIR}/lock"

UNFINISHED = ("applying", "pending-confirm", "rolling-back", "rollback-failed")
KEPT = ("applied", "confirmed")


class JournalError(Exception):
    """The journal cannot be written or read; nothing should change without it."""


class LockBusy(JournalError):
    """Another vpn-wizard process holds the lock."""


def _ensure_dir(path: Path) -> None:
    created: list[Path] = []
    probe = path
    while not probe.exists():
        created.insert(0, probe)
        probe = probe.parent
    for directory in created:
        directory.mkdir(mode=0o700)
        fsync_dir(directory.parent)


@contextlib.contextmanager
def locked(root: Root, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the wizard's lock; wait up to `wait` seconds, then raise LockBusy."""
    path = root.path(LOCK)
    _ensure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockBusy("another vpn-wizard process is changing this box") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def lock_is_free(root: Root) -> bool:
    """Whether no process holds the lock right now."""
    try:
        with locked(root):
            return True
    except LockBusy:
        return False


def _new_id() -> str:
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"-{int(now % 1 * 1e6):06d}"


class Journal:
    """One transaction's records, appended durably."""

    def __init__(self, root: Root, tx_id: str) -> None:
        self.root = root
        self.id = tx_id
        self.dir = root.path(f"{TRANSACTIONS}/{tx_id}")
        self.path = self.dir / "journal.jsonl"

    # -- writing ----------------------------------------------------------

    @classmethod
    def begin(cls, root: Root, kind: str, **meta: Any) -> Journal:
        """Create a transaction and durably record its start."""
        tx_id = _new_id()
        journal = cls(root, tx_id)
        while journal.dir.exists():  # two in the same microsecond
            tx_id = _new_id()
            journal = cls(root, tx_id)
        _ensure_dir(journal.dir.parent)
        journal.dir.mkdir(mode=0o700)
        (journal.dir / "orig").mkdir(mode=0o700)
        fsync_dir(journal.dir.parent)
        journal.record(
            {"type": "begin", "id": tx_id, "kind": kind, "pid": os.getpid(),
             "time": time.time(), **meta}
        )
        fsync_dir(journal.dir)
        return journal

    def record(self, entry: dict[str, Any]) -> None:
        """Append one record and fsync it: on return, it survives a crash."""
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def save_original(self, index: int, data: bytes) -> str:
        """Keep a file's pre-change bytes (0600); returns the name the undo record uses."""
        name = f"orig/{index}"
        path = self.dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent)
        return name

    def read_original(self, name: str) -> bytes:
        return (self.dir / name).read_bytes()

    def set_state(self, state: str, **extra: Any) -> None:
        self.record({"type": "state", "state": state, "time": time.time(), **extra})

    # -- reading ----------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """Every complete record; a line torn by a crash mid-write is ignored."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def begin_record(self) -> dict[str, Any]:
        records = self.records()
        return records[0] if records and records[0].get("type") == "begin" else {}

    def last_state(self) -> dict[str, Any]:
        """The latest state record, or an implicit "applying" one."""
        for entry in reversed(self.records()):
            if entry.get("type") == "state":
                return entry
        return {"type": "state", "state": "applying"}

    @property
    def state(self) -> str:
        return str(self.last_state()["state"])

    @property
    def kind(self) -> str:
        return str(self.begin_record().get("kind", "apply"))


class NullJournal(Journal):
    """The journal of a dry run: accepts everything, keeps nothing."""

    def __init__(self) -> None:
        self.id = ""
        self._records: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        self._records.append(entry)

    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def save_original(self, index: int, data: bytes) -> str:
        return ""


def transactions(root: Root) -> list[Journal]:
    """All transactions on the target, oldest first."""
    base = root.path(TRANSACTIONS)
    if not base.is_dir():
        return []
    return [Journal(root, p.name) for p in sorted(base.iterdir()) if (p / "journal.jsonl").exists()]


def unfinished(root: Root) -> Journal | None:
    """The newest transaction that was neither kept nor fully undone, if any."""
    for journal in reversed(transactions(root)):
        if journal.state in UNFINISHED:
            return journal
    return None
