"""One apply run, for every front end: choose the System, preflight, apply, keep or revert.

`ApplyRun` is the only caller of the engine (`wizard.apply`: `apply_plan`,
`confirm`, `rollback`) outside the confirm/rollback/uninstall commands. The
TUI's Apply step, plain mode and `vpn-wizard apply` each make one, hand it a
progress callback, and draw the `Outcome` it returns: a state and the
sentence that says what happened to the box. A dry run swaps only the
executor (`System.recording`), so it runs every line of the same code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from wizard.apply import ApplyResult, StepEvent, apply_plan, confirm, rollback
from wizard.engine.journal import Journal
from wizard.model import Setup
from wizard.plan_types import Plan
from wizard.preflight import preflight
from wizard.redact import Redactor
from wizard.session.confirm import CONFIRM_SECONDS
from wizard.system import System
from wizard.system.paths import Root

#: Seconds a rollback waits for the lock a running apply holds.
ROLLBACK_WAIT = 120.0

State = Literal["refused", "recorded", "failed", "unchanged", "applied", "pending", "kept",
                "not-kept", "rolled-back", "rollback-failed", "crashed"]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

Progress = Callable[[StepEvent], None]


def _quiet(event: StepEvent) -> None:
    """No progress wanted."""


@dataclass(frozen=True)
class Outcome:
    """How a run (or its keep / revert) ended, as every front end shows it.

    Attributes:
        state: what happened; `pending` waits for `ApplyRun.keep` or `revert`.
        sentence: what happened to the box, in one or two sentences (secrets masked).
        result: the engine's result, when the engine ran.
        refused: why the box cannot take the plan (preflight), one line each.
        log: what was done (a dry run: would be done), one command a line, keys masked.
        notes: what the operator should know besides (a --root's simulated kernel).
        transaction: the journal id of a real run.
    """

    state: State
    sentence: str
    result: ApplyResult | None = None
    refused: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    transaction: str | None = None

    @property
    def changed(self) -> bool:
        """True when the box now differs from before the run (or may: a crash, a failed undo)."""
        return self.state in ("applied", "pending", "kept", "rollback-failed", "crashed")

    @property
    def exit_code(self) -> int:
        """The command line's exit code: 0 done, 1 failed or rolled back, 2 refused."""
        if self.state in ("recorded", "unchanged", "applied", "kept", "pending"):
            return EXIT_OK if self.result is None or self.result.ok else EXIT_FAILED
        if self.state == "refused":
            return EXIT_REFUSED
        if self.state == "failed" and self.result is not None and not self.result.failed_step:
            return EXIT_REFUSED
        return EXIT_FAILED


def needs_root(root: Root, dry_run: bool) -> Outcome | None:
    """The refusal when a real run on this box is asked for without root, else None."""
    if root.is_host and not dry_run and os.geteuid() != 0:
        return Outcome("refused", "Applying to this box needs root (or use --dry-run, or "
                                  "--root DIR). Nothing was changed.")
    return None


@dataclass
class ApplyRun:
    """One plan applied (or recorded) on one target, then kept or reverted.

    Attributes:
        setup: the setup the plan was built from (preflight checks it against the box).
        plan: the plan to apply (`Session.plan()`).
        root: the target's `/`.
        dry_run: record instead of applying.
        confirm_timeout: seconds a real run waits for `keep`; None keeps it at once
            (`vpn-wizard apply --no-confirm`).
        transaction: the journal id, once a real run changed something.
        deadline: when an unkept run is rolled back (time.monotonic()); 0 when nothing waits.
    """

    setup: Setup
    plan: Plan
    root: Root
    dry_run: bool = False
    confirm_timeout: float | None = CONFIRM_SECONDS
    transaction: str | None = None
    deadline: float = 0.0
    redactor: Redactor = field(init=False)

    def __post_init__(self) -> None:
        self.redactor = Redactor.for_plan(self.plan)

    def masked(self, text: str) -> str:
        """`text` with every key of the plan masked."""
        return self.redactor.text(text)

    def _system(self) -> System:
        return System.recording(self.root) if self.dry_run else System.real(self.root)

    # ------------------------------------------------------------------ the run

    def start(self, progress: Progress = _quiet) -> Outcome:
        """Preflight, then apply the plan (record it, in a dry run), reporting each step."""
        system = self._system()
        try:
            notes = ()
            if system.simulated and not self.dry_run:
                notes = (f"--root {self.root.root}: files are written there; links, routes, "
                         "rules, sysctls and daemons are simulated in "
                         "run/vpn-wizard-sim/kernel.json under it.",)
            refused = tuple(preflight(self.setup, system))
            if refused:
                return Outcome("refused", "This box cannot take the plan yet. Nothing was "
                                          "changed.", refused=refused, notes=notes)
            timeout = None if self.dry_run else self.confirm_timeout
            result = apply_plan(self.plan, system, progress=progress, confirm_timeout=timeout)
            log = tuple(self.masked(line) for line in system.log)
        finally:
            system.close()
        return self._ended(result, log, notes, timeout)

    def _ended(self, result: ApplyResult, log: tuple[str, ...], notes: tuple[str, ...],
               timeout: float | None) -> Outcome:
        def out(state: State, sentence: str) -> Outcome:
            return Outcome(state, sentence, result, (), log, notes, result.transaction)

        if self.dry_run and result.ok:
            return out("recorded", "Dry run: nothing was changed.")
        if not result.ok:
            error = self.masked(str(result.error))
            if result.failed_step:
                return out("failed", f"Step {result.failed_step} failed: {error}. Every change "
                                     "made before it was rolled back; nothing was changed.")
            return out("failed", f"Refused: {error}. Nothing was changed.")
        if not result.changed or result.transaction is None:
            return out("unchanged", "Everything was already in place: nothing was changed.")
        self.transaction = result.transaction
        if timeout is None:
            return out("applied", f"Applied (transaction {result.transaction}).")
        self.deadline = time.monotonic() + timeout
        return out("pending", f"Applied (transaction {result.transaction}). Keep these "
                              f"changes? Unless they are kept within {timeout:.0f} s, every "
                              "change is rolled back.")

    def seconds_left(self) -> int:
        """Whole seconds until an unkept run is rolled back (0: time is up, or nothing waits)."""
        return max(0, int(self.deadline - time.monotonic())) if self.deadline else 0

    # ------------------------------------------------------------------ keep or revert

    def keep(self) -> Outcome:
        """The operator keeps the changes: stop the revert timer (refused once time is up)."""
        assert self.transaction is not None
        self.deadline = 0.0
        system = System.real(self.root)
        try:
            kept, message = confirm(system, self.transaction)
        finally:
            system.close()
        if kept:
            return Outcome("kept", "Confirmed: the changes are kept.",
                           transaction=self.transaction)
        return Outcome("not-kept", f"Not kept: {message}.", transaction=self.transaction)

    def revert(self, why: str, progress: Progress = _quiet) -> Outcome:
        """Undo the pending run now (the operator said no, or time ran out)."""
        assert self.transaction is not None
        self.deadline = 0.0
        system = System.real(self.root)
        try:
            result = rollback(system, self.transaction, progress=progress,
                              only_if=("pending-confirm",), wait=ROLLBACK_WAIT)
        finally:
            system.close()
        return self._settled(why, result)

    def _settled(self, why: str, result: ApplyResult | None) -> Outcome:
        """What the journal says after a revert (a confirmation may have won the race)."""
        assert self.transaction is not None
        state = Journal(self.root, self.transaction).state
        if state == "confirmed":
            return Outcome("kept", "Confirmed: the changes are kept.",
                           transaction=self.transaction)
        if state == "rollback-failed" or (result is not None and not result.ok):
            error = self.masked(str(result.error if result else "see the journal"))
            return Outcome("rollback-failed", f"{why}; the rollback failed: {error}. Run "
                                              "'vpn-wizard rollback'.", result,
                           transaction=self.transaction)
        return Outcome("rolled-back", f"{why}: every change was rolled back; nothing was "
                                      "changed.", result, transaction=self.transaction)

    def wait(self, ask: Callable[[float], str | None] | None = None) -> Outcome:
        """Wait for a keep: `vpn-wizard confirm` from elsewhere, or "yes"/"no" from `ask`.

        Args:
            ask: reads one line the operator typed, waiting at most the seconds
                given (None when nothing was typed); None when nobody can type here.
                The detached revert timer would roll back without this process;
                reverting here too, under the same lock, lets it report the outcome.
        """
        assert self.transaction is not None
        journal = Journal(self.root, self.transaction)
        try:
            while True:
                state = journal.state
                if state == "confirmed":
                    self.deadline = 0.0
                    return Outcome("kept", "Confirmed: the changes are kept.",
                                   transaction=self.transaction)
                if state in ("rolled-back", "rollback-failed"):
                    return self._settled("Not confirmed in time", None)
                if time.monotonic() >= self.deadline + 0.5:
                    return self.revert("Not confirmed in time")
                line = ask(0.2) if ask is not None else None
                if ask is None:
                    time.sleep(0.2)
                answer = (line or "").strip().lower()
                if answer in ("y", "yes"):
                    return self.keep()
                if answer in ("n", "no"):
                    return self.revert("Declined")
        except KeyboardInterrupt:
            return self.revert("Interrupted")
