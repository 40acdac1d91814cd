"""The transaction journal: what an apply is about to do, written before it does it.

Each apply (or uninstall) is a transaction under
`ROOT/var/lib/vpn-wizard/transactions/ID/`:

* `journal.jsonl` - one JSON record per line, appended and fsynced before
  the action it announces. An action's "intent" record carries everything
  needed to undo it (a typed record of `wizard.engine.records`; a
  file's original is saved beside it first), so a process killed at any
  instant leaves a journal from which `vpn-wizard rollback` can put the box
  back, in another process, without the plan.
* `orig/N` - the bytes a file had before action N rewrote it (0600: the
  original `ipsec.secrets` holds keys).

Records, in the order they may appear:

    {"type": "begin", "id", "kind": "apply"|"uninstall", "pid", "time", "steps": [...]}
    {"type": "intent", "index", "step", "what", "undo": {"kind", ...}}
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

Nothing is kept longer than something may need it (`settle`, run under the
lock by apply, confirm and rollback): once a transaction is settled
(applied, confirmed, rolled back) no rollback can start from it, so its
`orig/` files - which hold the keys of `ipsec.secrets` - are deleted; what
`uninstall` will still need (each sysctl's value before the wizard, the
directories it created, whether strongSwan ran, the operator's own files it
replaced whole) is first folded into `baseline/` (see `Baseline`), which a
completed uninstall clears. Only the newest KEEP_SETTLED settled
transactions are kept.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.engine.records import (
    FileUndo,
    FrrUndo,
    StrongswanUndo,
    SwanctlUndo,
    SysctlUndo,
    UndoRecordError,
    from_json,
)
from wizard.system.crash import checkpoint
from wizard.system.files import atomic_write, fsync_dir
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
        checkpoint(f"mkdir {directory}")
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
        checkpoint(f"mkdir {journal.dir}")
        journal.dir.mkdir(mode=0o700)
        checkpoint(f"mkdir {journal.dir}/orig")
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
        checkpoint(f"journal {entry.get('type')}")
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
        checkpoint(f"save original {index}")
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


# --------------------------------------------------------------------------- baseline and pruning

BASELINE = f"{STATE_DIR}/baseline"
"""What the box was before the wizard first changed it, for `uninstall` (see `Baseline`)."""

KEEP_SETTLED = 10
"""Settled transactions kept for the record; older ones are deleted by `settle`."""

SETTLED = ("applied", "confirmed", "rolled-back")
"""States no rollback can start from: the originals a transaction saved are no longer needed."""


@dataclass
class Baseline:
    """The box as it was before the first kept apply, merged from every kept apply since.

    Uninstall needs it long after the transactions that recorded it were
    pruned: the value of each sysctl before the wizard changed it, the
    directories the wizard created, whether strongSwan was running, and, for
    every whole file the wizard wrote, whether it existed and - if the
    wizard replaced the operator's own file - its bytes, mode and owner, so
    uninstall puts it back instead of deleting it. A completed uninstall
    clears it; the next apply starts a new one.

    Attributes:
        files: per target path, {"existed", "mode", "uid", "gid", "data"}
            ("data": target path of the kept bytes, or None).
        sysctl: key -> value before the wizard.
        dirs: directories the wizard created, outermost first.
        strongswan_running: whether the IKE daemon ran before the wizard
            (None: no apply of the wizard restarted it).
        frr_running, frr_enabled: whether FRR ran (and frr.service was enabled)
            before the wizard first restarted it for BGP (None: never, or no systemd).
    """

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    sysctl: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    strongswan_running: bool | None = None
    frr_running: bool | None = None
    frr_enabled: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "sysctl": self.sysctl, "dirs": self.dirs,
                "strongswan_running": self.strongswan_running,
                "frr_running": self.frr_running, "frr_enabled": self.frr_enabled}

    def original(self, root: Root, path: str) -> bytes | None:
        """The kept bytes of the operator's file the wizard replaced at `path`, if any."""
        entry = self.files.get(path) or {}
        if not entry.get("existed") or not entry.get("data"):
            return None
        try:
            return root.path(entry["data"]).read_bytes()
        except FileNotFoundError:  # `settle` moved it from its transaction into the baseline
            stored = _load_baseline(root).files.get(path) or {}
            if not stored.get("data") or stored["data"] == entry["data"]:
                return None
            try:
                return root.path(stored["data"]).read_bytes()
            except FileNotFoundError:
                return None


def _load_baseline(root: Root) -> Baseline:
    try:
        raw = json.loads(root.path(f"{BASELINE}/state.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return Baseline()
    return Baseline(dict(raw.get("files") or {}), dict(raw.get("sysctl") or {}),
                    list(raw.get("dirs") or []), raw.get("strongswan_running"),
                    raw.get("frr_running"), raw.get("frr_enabled"))


def _marked(journal: Journal) -> bool:
    """Whether `settle` has folded this transaction into the baseline (a marker file beside it)."""
    return (journal.dir / "baseline-done").exists()


def _mark(journal: Journal) -> None:
    checkpoint(f"mark {journal.id}")
    os.close(os.open(journal.dir / "baseline-done", os.O_WRONLY | os.O_CREAT, 0o600))
    fsync_dir(journal.dir)


def _merge(base: Baseline, journal: Journal, keep: Callable[[Journal, str], str | None]) -> None:
    """Add what `journal` (a kept apply) saw before its changes, where `base` does not know yet."""
    records = journal.records()
    done = {r["index"] for r in records if r.get("type") == "result" and r.get("outcome") == "done"}
    for entry in records:
        if entry.get("type") != "intent" or entry.get("index") not in done:
            continue
        where = (f"transaction {journal.id}, journal entry {entry.get('index')} "
                 f"({entry.get('step')}: {entry.get('what')})")
        try:
            undo = from_json(entry.get("undo"), where)
        except UndoRecordError as err:
            raise JournalError(f"{err}; the baseline uninstall needs cannot be read") from None
        if isinstance(undo, FileUndo):
            for directory in undo.dirs:
                if directory not in base.dirs:
                    base.dirs.append(directory)
            if undo.path not in base.files:
                data = None
                if undo.existed and not undo.block and undo.saved:
                    data = keep(journal, undo.saved)
                base.files[undo.path] = {"existed": undo.existed, "mode": undo.mode,
                                         "uid": undo.uid, "gid": undo.gid, "data": data}
        elif isinstance(undo, SysctlUndo) and undo.value is not None:
            base.sysctl.setdefault(undo.key, undo.value)
        elif isinstance(undo, (StrongswanUndo, SwanctlUndo)) and base.strongswan_running is None:
            base.strongswan_running = undo.was_running
        elif isinstance(undo, FrrUndo) and base.frr_running is None:
            base.frr_running, base.frr_enabled = undo.was_running, undo.was_enabled
    base.dirs.sort(key=lambda d: d.count("/"))


def baseline(root: Root) -> Baseline:
    """The baseline as `settle` would leave it, computed without writing anything (dry runs)."""
    base = _load_baseline(root)
    for journal in transactions(root):
        if _marked(journal):
            continue
        if journal.kind == "uninstall" and journal.state == "applied":
            base = Baseline()
        elif journal.kind == "apply" and journal.state in KEPT:
            _merge(base, journal, lambda j, saved: f"{TRANSACTIONS}/{j.id}/{saved}")
    return base


def settle(root: Root) -> None:
    """Fold settled transactions into the baseline, then drop what nothing can need any more.

    Call with the lock held. In transaction order: a kept apply adds to the
    baseline (its replaced originals copied under BASELINE), a completed
    uninstall clears it; each is marked so it is folded once. Then every
    settled transaction loses its saved originals (they hold the keys of
    ipsec.secrets; no rollback can start from a settled state), transaction
    directories a crash left without a journal go, and only the newest
    KEEP_SETTLED settled transactions are kept. Every step is idempotent, so
    a crash halfway is finished by the next call.
    """
    journals = transactions(root)
    base_dir = root.path(BASELINE)
    base = _load_baseline(root)
    for journal in journals:
        if _marked(journal):
            continue
        if journal.kind == "uninstall" and journal.state == "applied":
            base = Baseline()
            _save_baseline(root, base)
            _clear_kept(base_dir, keep=set())
            _mark(journal)
        elif journal.kind == "apply" and journal.state in KEPT:
            def keep(j: Journal, saved: str) -> str | None:
                try:
                    data = j.read_original(saved)
                except FileNotFoundError:
                    return None
                name = f"files/{j.id}-{saved.rsplit('/', 1)[-1]}"
                _ensure_dir(base_dir / "files")
                atomic_write(base_dir / name, data, 0o600)
                return f"{BASELINE}/{name}"

            _merge(base, journal, keep)
            _save_baseline(root, base)
            _mark(journal)
    for journal in journals:
        if journal.state in SETTLED and (journal.kind == "uninstall" or _marked(journal)
                                         or journal.state == "rolled-back"):
            _drop_originals(journal)
    _drop_orphans(root)
    settled = [j for j in transactions(root) if j.state in SETTLED]
    for journal in settled[:-KEEP_SETTLED] if len(settled) > KEEP_SETTLED else []:
        if journal.state == "rolled-back" or _marked(journal):
            _remove_tree(journal.dir)


def _save_baseline(root: Root, base: Baseline) -> None:
    path = root.path(f"{BASELINE}/state.json")
    _ensure_dir(path.parent)
    atomic_write(path, (json.dumps(base.to_json(), sort_keys=True) + "\n").encode(), 0o600)


def _clear_kept(base_dir: Path, keep: set[str]) -> None:
    files = base_dir / "files"
    if files.is_dir():
        for item in sorted(files.iterdir()):
            if item.name not in keep:
                checkpoint(f"unlink {item}")
                item.unlink()
        fsync_dir(files)


def _drop_originals(journal: Journal) -> None:
    orig = journal.dir / "orig"
    if not orig.is_dir():
        return
    items = sorted(orig.iterdir())
    for item in items:
        checkpoint(f"unlink {item}")
        item.unlink()
    if items:
        fsync_dir(orig)


def _drop_orphans(root: Root) -> None:
    """Transaction directories without a journal: a crash inside `Journal.begin`."""
    base = root.path(TRANSACTIONS)
    if not base.is_dir():
        return
    for item in sorted(base.iterdir()):
        if item.is_dir() and not item.is_symlink() and not (item / "journal.jsonl").exists():
            _remove_tree(item)


def _remove_tree(directory: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(directory, topdown=False):
        for name in filenames:
            checkpoint(f"unlink {dirpath}/{name}")
            os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            checkpoint(f"rmdir {dirpath}/{name}")
            os.rmdir(os.path.join(dirpath, name))
    checkpoint(f"rmdir {directory}")
    directory.rmdir()
    fsync_dir(directory.parent)
