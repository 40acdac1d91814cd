"""One journaled transaction: each action journaled before it is done; rollback; confirm.

Every action goes through the same four moves:

1. look at the host through its adapter: is the effect already there? (then
   it is "unchanged" and nothing is journaled for it - a re-run changes nothing);
2. write an "intent" record with the typed undo record, and fsync it;
3. do it;
4. write a "done" record.

If an action fails, everything with an intent record is undone in reverse
order - an action that failed halfway included, since every undo is harmless
when there is nothing to undo. The daemons (strongSwan, systemd) are
restarted last, once their configuration is back. A process killed anywhere
leaves a journal `vpn-wizard rollback` can finish the job from (see
`wizard.engine.journal`); a journal entry this version cannot read stops the
rollback before it changes anything, with a sentence naming the entry.

When a plan that carries its setup is kept (confirmed, or applied without a
confirmation), the applied manifest is written as one more journaled action
of the same transaction, so a rollback removes it or puts the previous one back.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from wizard.engine.actions import Action, undoer_for
from wizard.engine.base import ActionContext
from wizard.engine.journal import (
    TRANSACTIONS,
    Journal,
    JournalError,
    NullJournal,
    locked,
    settle,
    unfinished,
)
from wizard.engine.records import UndoRecord, UndoRecordError, from_json, to_json
from wizard.manifest import MANIFEST_MODE, MANIFEST_PATH, restamp
from wizard.plan_types import FileChange
from wizard.render import boot_guard as boot_unit
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.secret import Secret, redact
from wizard.system import HostError, System, boot
from wizard.system.executable import vpn_wizard_command
from wizard.system.paths import TargetFileError
from wizard.system.revert_process import spawn, stop

StepState = Literal["running", "done", "unchanged", "failed", "rolled-back"]

FAIL_AT_ENV = "VPN_WIZARD_FAIL_AT"
"""Fault injection for tests and the lab: fail at this action index (or step id)."""
KILL_AT_ENV = "VPN_WIZARD_KILL_AT"
"""Crash injection: SIGKILL ourselves right after doing this action, before recording it."""

MANIFEST_STEP = "manifest"
"""The step id of the manifest write in the journal (it is not a plan step)."""


@dataclass(frozen=True)
class StepEvent:
    """Progress of one plan step, for the CLI's lines and the TUI's list.

    Attributes:
        step_id: the plan step's id ("tunnel1.iptables").
        state: where the step is.
        message: detail for the operator (why it failed, why it was skipped);
            never contains a PSK.
    """

    step_id: str
    state: StepState
    message: str = ""


@dataclass(frozen=True)
class ApplyResult:
    """How an apply (or rollback, or uninstall) ended.

    Attributes:
        ok: True when every action succeeded (or was already in place).
        changed: False when everything was already in place (idempotent re-run).
        failed_step: the step whose action failed, if any.
        error: why, in the operator's words.
        transaction: the journal id, for `confirm`/`rollback` and the logs.
        events: every StepEvent sent to `progress`, in order.
    """

    ok: bool
    changed: bool
    failed_step: str | None
    error: str | None
    transaction: str | None
    events: tuple[StepEvent, ...]


class FaultInjected(HostError):
    """The failure asked for by `fail_at` (tests and the lab)."""


class SimulatedCrash(BaseException):
    """Stands in for SIGKILL in-process: no handler of ours runs, the journal stays as is.

    Raised instead of killing the process when KILL_AT is "raise:N", so unit
    tests can crash at every action without a process per point.
    """


def _matches(point: str | None, index: int, step_id: str) -> bool:
    if not point:
        return False
    return point == step_id if not point.isdigit() else int(point) == index


def _maybe_crash(kill_at: str | None, index: int, step_id: str) -> None:
    """The crash hook: SIGKILL (or, for in-process tests, SimulatedCrash) at this action."""
    if not kill_at:
        return
    if kill_at.startswith("raise:"):
        if _matches(kill_at[6:], index, step_id):
            raise SimulatedCrash(index)
    elif _matches(kill_at, index, step_id):
        os.kill(os.getpid(), signal.SIGKILL)


def run_actions(
    actions: Sequence[Action],
    system: System,
    *,
    kind: str = "apply",
    conns: tuple[str, ...] = (),
    secrets: Sequence[Secret] = (),
    step_ids: Sequence[str] = (),
    progress: Callable[[StepEvent], None] = lambda e: None,
    fail_at: str | None = None,
    confirm_timeout: float | None = None,
    manifest: str | None = None,
) -> ApplyResult:
    """Run `actions` as one journaled transaction; see the module docstring.

    Args:
        manifest: the applied manifest's text (see `wizard.manifest`), written
            when the transaction is kept: at the end of this run without a
            confirm timeout, else by `confirm`. None: no manifest (uninstall,
            a plan built without its setup).
    """
    events: list[StepEvent] = []

    def emit(event: StepEvent) -> None:
        event = StepEvent(event.step_id, event.state, redact(event.message, secrets))
        events.append(event)
        progress(event)

    def refused(error: str) -> ApplyResult:
        return ApplyResult(False, False, None, error, None, tuple(events))

    if system.dry_run:
        return _Run(actions, system, NullJournal(), conns, secrets, step_ids, emit, events,
                    fail_at, None).run(None, None, None)
    pending = unfinished(system.root)
    if pending is not None:
        return refused(
            f"an earlier {pending.kind} ({pending.id}) is unfinished ({pending.state}): "
            "run 'vpn-wizard rollback' (or 'vpn-wizard confirm') first"
        )
    try:
        with locked(system.root, wait=2.0):
            settle(system.root)
            pending_confirm = manifest is not None and confirm_timeout is not None
            meta = {"manifest": manifest} if pending_confirm else {}
            journal = Journal.begin(
                system.root, kind, steps=list(step_ids),
                actions=[[a.step_id, a.what] for a in actions], conns=list(conns), **meta,
            )
            timer_pid = None
            if confirm_timeout is not None:
                timer_pid = spawn(system.root, journal.id,
                                  f"{TRANSACTIONS}/{journal.id}/timer.log")
                journal.record({"type": "timer", "pid": timer_pid})
                _arm_boot_guard(system)
            runner = _Run(actions, system, journal, conns, secrets, step_ids, emit, events,
                          fail_at or os.environ.get(FAIL_AT_ENV), os.environ.get(KILL_AT_ENV))
            return runner.run(confirm_timeout, timer_pid,
                              None if confirm_timeout is not None else manifest)
    except JournalError as err:  # another process holds the lock; a journal we cannot read
        return refused(f"{err}; nothing was changed")
    except OSError as err:
        return refused(f"cannot write the journal under /var/lib/vpn-wizard: {err}")


def needed(actions: Sequence[Action], system: System, conns: tuple[str, ...] = ()
           ) -> list[bool] | None:
    """Which actions would do something on the box as it is: a dry run through the adapters.

    `system` must be a recording one. Returns None when the dry run fails
    (the real run will fail the same way, and say why).
    """
    assert system.dry_run, "needed() runs on a recording System"
    journal = NullJournal()
    result = _Run(actions, system, journal, conns, (), (), lambda e: None, [], None,
                  None).run(None, None, None)
    if not result.ok:
        return None
    done = {r["index"] for r in journal.records() if r.get("type") == "intent"}
    return [i in done for i in range(len(actions))]


class _Run:
    """The body of one transaction, under the lock: actions in step order, then the outcome."""

    def __init__(self, actions: Sequence[Action], system: System, journal: Journal,
                 conns: tuple[str, ...], secrets: Sequence[Secret], step_ids: Sequence[str],
                 emit: Callable[[StepEvent], None], events: list[StepEvent],
                 fail_at: str | None, kill_at: str | None) -> None:
        self.actions = list(actions)
        self.system = system
        self.journal = journal
        self.secrets = secrets
        self.emit = emit
        self.events = events
        self.fail_at = fail_at
        self.kill_at = kill_at
        self.ctx = ActionContext(system, journal, conns)
        self.by_step: dict[str, list[int]] = {}
        for i, action in enumerate(self.actions):
            self.by_step.setdefault(action.step_id, []).append(i)
        self.order = list(step_ids) or list(self.by_step)
        self.order += [s for s in self.by_step if s not in self.order]

    def run(self, timeout: float | None, timer_pid: int | None,
            manifest: str | None) -> ApplyResult:
        ctx, journal = self.ctx, self.journal
        for step_id in self.order:
            self.emit(StepEvent(step_id, "running"))
            ctx.step_changed = False
            notes: list[str] = []
            for index in self.by_step.get(step_id, []):
                failed = self._one(index, self.actions[index], notes)
                if failed is not None:
                    return failed
            if ctx.step_changed:
                self.emit(StepEvent(step_id, "done", "; ".join(notes)))
            else:
                self.emit(StepEvent(step_id, "done" if notes else "unchanged",
                                    "; ".join(notes) or "already in place"))
        if manifest is not None and ctx.changed and not self.system.dry_run:
            action = manifest_action(restamp(manifest, journal.id, _utc_now()))
            failed = self._one(len(self.actions), action, [])
            if failed is not None:
                return failed
        if timeout is not None and ctx.changed:
            journal.set_state("pending-confirm", deadline=time.time() + timeout,
                              timer_pid=timer_pid)
        elif not self.system.dry_run:
            journal.set_state("applied", changed=ctx.changed)
            settle(self.system.root)
        return ApplyResult(True, ctx.changed, None, None, journal.id or None,
                           tuple(self.events))

    def _one(self, index: int, action: Action, notes: list[str]) -> ApplyResult | None:
        """Prepare, journal, do and record one action; on failure, roll back and say why."""
        ctx, journal, step_id = self.ctx, self.journal, action.step_id
        try:
            prepared = action.prepare(index, ctx)
            if prepared.skipped or prepared.already:
                outcome = "skipped" if prepared.skipped else "unchanged"
                journal.record({"type": "result", "index": index, "step": step_id,
                                "what": action.what, "outcome": outcome,
                                "why": prepared.skipped})
                if prepared.skipped:
                    notes.append(f"skipped: {prepared.skipped}")
                if _matches(self.fail_at, index, step_id):
                    raise FaultInjected(f"injected failure at action {index} ({action.what})")
                _maybe_crash(self.kill_at, index, step_id)
                return None
            assert prepared.undo is not None and prepared.do is not None
            journal.record({"type": "intent", "index": index, "step": step_id,
                            "what": action.what, "undo": to_json(prepared.undo)})
            if _matches(self.fail_at, index, step_id):
                raise FaultInjected(f"injected failure at action {index} ({action.what})")
            prepared.do()
            _maybe_crash(self.kill_at, index, step_id)
            journal.record({"type": "result", "index": index, "step": step_id,
                            "outcome": "done"})
            ctx.changed = ctx.step_changed = True
            return None
        except Exception as err:  # any failure, ours or the host's, rolls back
            message = redact(str(err) or type(err).__name__, self.secrets)
            journal.record({"type": "result", "index": index, "step": step_id,
                            "outcome": "failed", "error": message})
            self.emit(StepEvent(step_id, "failed", message))
            errors: list[str] = []
            if not self.system.dry_run:
                errors = undo_journal(journal, self.system, self.emit, self.secrets)
                settle(self.system.root)
            error = f"{action.what}: {message}"
            if errors:
                error += "; rollback incomplete: " + "; ".join(errors)
            return ApplyResult(False, False, step_id, error, journal.id or None,
                               tuple(self.events))


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def manifest_action(text: str) -> Action:
    """The manifest write, as one more action: atomic, 0600, undone like any managed file."""
    change = FileChange(MANIFEST_PATH, MANIFEST_MODE, None, text)
    return Action(MANIFEST_STEP, f"write {MANIFEST_PATH} ({MANIFEST_MODE:04o})", change)


# --------------------------------------------------------------------------- undo


def read_undo(journal: Journal) -> list[tuple[dict[str, object], UndoRecord]]:
    """Every intent not yet undone, with its typed undo record, newest first.

    Raises:
        UndoRecordError: an entry this version cannot read, named by
            transaction, index, step and action.
    """
    records = journal.records()
    undone = {r.get("index") for r in records if r.get("type") == "undone"}
    out: list[tuple[dict[str, object], UndoRecord]] = []
    for entry in records:
        if entry.get("type") != "intent" or entry.get("index") in undone:
            continue
        index = entry.get("index")
        if not isinstance(index, int) or type(index) is bool:
            raise UndoRecordError(f"transaction {journal.id}: an intent record has no index")
        where = (f"transaction {journal.id}, journal entry {index} "
                 f"({entry.get('step')}: {entry.get('what')})")
        out.append((entry, from_json(entry.get("undo"), where)))
    out.sort(key=lambda pair: int(pair[0]["index"]), reverse=True)  # type: ignore[call-overload]
    return out


def undo_journal(
    journal: Journal,
    system: System,
    emit: Callable[[StepEvent], None],
    secrets: Sequence[Secret] = (),
) -> list[str]:
    """Undo every action of `journal` that has an intent and no undone record.

    Every record is read before anything is undone: an entry this version
    cannot read refuses the whole rollback (the journal is left as it is, for
    the version that wrote it) rather than half of it. Then best effort: an
    undo that fails is recorded and reported, and the others still run,
    because stopping halfway would leave the box in a state no one planned.
    Returns the errors.
    """
    try:
        pending = read_undo(journal)
    except UndoRecordError as err:
        return [f"{err}; nothing was undone (run the vpn-wizard version that wrote it)"]
    journal.set_state("rolling-back")
    errors: list[str] = []
    steps_done: list[str] = []
    phases: dict[int, list[tuple[dict[str, object], UndoRecord]]] = {}
    for entry, record in pending:
        if entry["step"] not in steps_done:
            steps_done.append(str(entry["step"]))
        phases.setdefault(undoer_for(record).phase(record), []).append((entry, record))
    for phase in sorted(phases):
        for entry, record in phases[phase]:
            try:
                undoer_for(record).undo(record, system, journal)
            except (HostError, OSError, TargetFileError) as err:
                message = redact(str(err), secrets)
                errors.append(f"{entry['step']}: undo failed: {message}")
                journal.record({"type": "undo-failed", "index": entry["index"],
                                "error": message})
            else:
                journal.record({"type": "undone", "index": entry["index"]})
    for step_id in steps_done:
        emit(StepEvent(step_id, "rolled-back", "undone" if not errors else "undone (see errors)"))
    journal.set_state("rolled-back" if not errors else "rollback-failed", errors=errors)
    if not errors:
        _disarm_boot_guard(system)
    return errors



def _arm_boot_guard(system: System) -> None:
    """While a confirmation is pending, a power loss must not keep the changes (boot_guard)."""
    if boot.can_arm(system):
        boot.arm(system.root, boot_unit.UNIT, boot_unit.WANTS_LINK,
                 boot_unit.unit(vpn_wizard_command(DEFAULT_COMMAND)))


def _disarm_boot_guard(system: System) -> None:
    """The transaction is settled: the boot guard has nothing left to guard."""
    if not system.dry_run and boot.armed(system.root, boot_unit.UNIT, boot_unit.WANTS_LINK):
        boot.disarm(system.root, boot_unit.UNIT, boot_unit.WANTS_LINK)


# --------------------------------------------------------------------------- after apply


def rollback(
    system: System,
    transaction: str | None = None,
    *,
    progress: Callable[[StepEvent], None] = lambda e: None,
    only_if: Sequence[str] | None = None,
    wait: float = 30.0,
) -> ApplyResult:
    """Undo an unfinished or unconfirmed transaction (the newest, unless named).

    Args:
        only_if: act only when the transaction is in one of these states
            (the revert timer passes "pending-confirm" and "applying", so a
            confirmation that wins the race is respected).
        wait: seconds to wait for the lock held by a running apply.
    """
    events: list[StepEvent] = []

    def emit(event: StepEvent) -> None:
        events.append(event)
        progress(event)

    try:
        with locked(system.root, wait=wait):
            settle(system.root)  # finish the pruning a kill interrupted, whatever follows
            journal = Journal(system.root, transaction) if transaction else unfinished(system.root)
            if journal is None or not journal.records():
                return ApplyResult(True, False, None, None, None, ())
            allowed = only_if or ("applying", "pending-confirm", "rolling-back",
                                  "rollback-failed")
            if journal.state not in allowed:
                return ApplyResult(True, False, None, None, journal.id, ())
            errors = undo_journal(journal, system, emit)
            settle(system.root)
    except JournalError as err:  # the lock is held; a settled journal this version cannot read
        return ApplyResult(False, False, None, str(err), transaction, ())
    error = "; ".join(errors) or None
    return ApplyResult(not errors, True, None, error, journal.id, tuple(events))


def confirm(system: System, transaction: str | None = None) -> tuple[bool, str]:
    """Keep the changes of a pending apply: write the applied manifest, stop the revert timer.

    Returns:
        (kept, message). A confirmation after the deadline is refused: the
        timer may already be undoing the changes. If the manifest cannot be
        written, its write is undone, the changes are kept all the same, and
        the message says so.
    """
    note = ""
    with locked(system.root, wait=30.0):
        journal = Journal(system.root, transaction) if transaction else unfinished(system.root)
        if journal is None or journal.state != "pending-confirm":
            return False, "nothing is waiting for confirmation"
        state = journal.last_state()
        if time.time() > float(state.get("deadline", 0)):
            return False, f"too late: the confirmation time of {journal.id} has passed"
        staged = journal.begin_record().get("manifest")
        if isinstance(staged, str):
            note = _write_manifest_now(journal, system, staged)
        journal.set_state("confirmed")
        _disarm_boot_guard(system)
        settle(system.root)
        pid = state.get("timer_pid")
    if pid:
        stop(int(pid), journal.id)
    return True, f"changes of {journal.id} kept{note}"


def _write_manifest_now(journal: Journal, system: System, staged: str) -> str:
    """The manifest write of a confirmation, journaled in the pending transaction."""
    index = 1 + max((int(r["index"]) for r in journal.records()
                     if isinstance(r.get("index"), int)), default=-1)
    action = manifest_action(restamp(staged, journal.id, _utc_now()))
    ctx = ActionContext(system, journal)
    record: UndoRecord | None = None
    try:
        prepared = action.prepare(index, ctx)
        if prepared.already or prepared.undo is None or prepared.do is None:
            return ""
        record = prepared.undo
        journal.record({"type": "intent", "index": index, "step": MANIFEST_STEP,
                        "what": action.what, "undo": to_json(record)})
        prepared.do()
        journal.record({"type": "result", "index": index, "step": MANIFEST_STEP,
                        "outcome": "done"})
        return ""
    except (HostError, OSError, TargetFileError) as err:
        if record is not None:
            undoer_for(record).undo(record, system, journal)
            journal.record({"type": "undone", "index": index})
        return (f"; the applied manifest {MANIFEST_PATH} could not be written ({err}): "
                "'vpn-wizard status' and 'uninstall' will need --import/--answers")
