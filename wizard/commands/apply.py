"""`vpn-wizard apply`: the plan, done for real (or recorded); confirm and rollback: `transaction`.

Exit codes: 0 done (or nothing to do), 1 failed or not confirmed (and rolled
back), 2 refused before any change (bad inputs, a box that cannot take the
plan, no root). Every refusal ends with a sentence saying what was changed:
nothing.

Every line goes out through `_say`, which escapes control characters
(wizard.safe_text): a value from an input or a journal never reaches the
terminal raw. The dry-run log is shown through the plan's Redactor.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from collections.abc import Callable

from wizard import inputs
from wizard.apply import ApplyResult, StepEvent, apply_plan, confirm, rollback
from wizard.journal import Journal
from wizard.plan import build_plan
from wizard.plan_types import Plan
from wizard.preflight import preflight
from wizard.redact import Redactor
from wizard.render import boot_guard as boot_unit
from wizard.safe_text import printable
from wizard.system import System, boot
from wizard.system.executable import vpn_wizard_command
from wizard.system.paths import Root

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

_LABEL = {
    "running": "..",
    "done": "ok",
    "unchanged": "==",
    "failed": "!!",
    "rolled-back": "<-",
}


def _say(text: str = "", *, err: bool = False) -> None:
    """Print one message; its control characters (from any value in it) escaped."""
    print(printable(text, keep_newlines=True), file=sys.stderr if err else sys.stdout,
          flush=True)


def _printer(plan: Plan | None, masked: Plan | None = None) -> Callable[[StepEvent], None]:
    """Print each finished step; titles from `plan`, messages masked for `masked or plan`."""
    titles = {s.id: s.title for s in plan} if plan else {}
    redactor = Redactor.for_plan(masked or plan)

    def show(event: StepEvent) -> None:
        if event.state == "running":
            return
        title = titles.get(event.step_id, "")
        line = f"  [{_LABEL[event.state]}] {event.step_id:<28} {title}"
        if event.message and event.message != "already in place":
            line += f"\n        {redactor.text(event.message)}"
        _say(line.rstrip())

    return show


def _needs_root(root: Root, dry_run: bool) -> bool:
    return root.is_host and not dry_run and os.geteuid() != 0


def _load(args: argparse.Namespace, root: Root) -> inputs.Loaded | None:
    try:
        loaded = inputs.load(args.import_path, args.answers, root)
    except inputs.InputError as exc:
        _say(f"error: {exc}", err=True)
        _say("Nothing was changed.", err=True)
        return None
    if loaded.errors:
        for problem in loaded.errors:
            _say(f"error: {problem}", err=True)
        _say("The plan was not applied: fix the errors above. Nothing was changed.", err=True)
        return None
    return loaded


def run_apply(args: argparse.Namespace) -> int:
    """Apply the plan; wait for a confirmation unless --no-confirm."""
    root = Root(args.root)
    dry_run = bool(getattr(args, "dry_run", False))
    if _needs_root(root, dry_run):
        _say("error: applying to this box needs root (or use --dry-run, or --root DIR). "
             "Nothing was changed.", err=True)
        return EXIT_REFUSED
    loaded = _load(args, root)
    if loaded is None:
        return EXIT_REFUSED
    system = System.recording(root) if dry_run else System.real(root)
    try:
        problems = preflight(loaded.setup, system)
        if problems:
            for problem in problems:
                _say(f"error: {problem}", err=True)
            _say("The plan was not applied. Nothing was changed.", err=True)
            return EXIT_REFUSED
        plan = build_plan(loaded.setup, root.read, heartbeat_command=vpn_wizard_command())
        if system.simulated and not dry_run:
            _say(f"--root {args.root}: files are written there; links, routes, rules, sysctls "
                 "and daemons are simulated in run/vpn-wizard-sim/kernel.json under it.")
        timeout = None if (args.no_confirm or dry_run) else float(args.confirm_timeout)
        result = apply_plan(plan, system, progress=_printer(plan), confirm_timeout=timeout)
        if dry_run:
            _say("Would run:")
            redactor = Redactor.for_plan(plan)
            for line in system.log:
                _say(f"  {printable(redactor.text(line))}")
            _say("Dry run: nothing was changed.")
            return EXIT_OK if result.ok else EXIT_FAILED
        return _after_apply(system, result, timeout, Redactor.for_plan(plan))
    finally:
        system.close()


def _after_apply(system: System, result: ApplyResult, timeout: float | None,
                 redactor: Redactor) -> int:
    if not result.ok:
        _say(f"error: {redactor.text(str(result.error))}", err=True)
        if result.failed_step:
            _say(f"Step {result.failed_step} failed; every change made before it was rolled "
                 "back.", err=True)
        else:
            _say("Nothing was changed.", err=True)
        return EXIT_FAILED if result.failed_step else EXIT_REFUSED
    if not result.changed:
        _say("Everything was already in place: nothing was changed.")
        return EXIT_OK
    if timeout is None:
        _say(f"Applied (transaction {result.transaction}).")
        return EXIT_OK
    assert result.transaction is not None
    return wait_for_confirmation(system, result.transaction, timeout)


def wait_for_confirmation(system: System, transaction: str, timeout: float) -> int:
    """Wait for `vpn-wizard confirm` (or "yes" typed here); roll back when time runs out.

    The detached revert timer would roll back without us; doing it here too,
    under the same lock, just lets this process report the outcome.
    """
    interactive = sys.stdin is not None and sys.stdin.isatty()
    _say(f"Applied (transaction {transaction}). Keep these changes? Run 'vpn-wizard confirm'"
         + (" or type 'yes' here" if interactive else "")
         + f" within {timeout:.0f} s, otherwise everything is rolled back.")
    if boot.armed(system.root):  # say every file the wizard writes, this one included
        _say(f"Until then a power loss rolls back too: {boot_unit.UNIT} is in place, and is "
             "removed again on confirm or rollback.")
    journal = Journal(system.root, transaction)
    deadline = time.monotonic() + timeout
    try:
        while True:
            state = journal.state
            if state == "confirmed":
                _say("Confirmed: the changes are kept.")
                return EXIT_OK
            if state in ("rolled-back", "rollback-failed"):
                _say("Not confirmed in time: every change was rolled back."
                     if state == "rolled-back" else "Not confirmed; the rollback failed: "
                     "see 'vpn-wizard rollback'.", err=state != "rolled-back")
                return EXIT_FAILED
            if time.monotonic() >= deadline + 0.5:
                return _revert_now(system, transaction, "Not confirmed in time")
            if interactive:
                ready, _, _ = select.select([sys.stdin], [], [], 0.2)
                if ready:
                    answer = sys.stdin.readline().strip().lower()
                    if answer in ("y", "yes"):
                        kept, message = confirm(system, transaction)
                        _say(message)
                        return EXIT_OK if kept else EXIT_FAILED
                    if answer in ("n", "no"):
                        return _revert_now(system, transaction, "Declined")
            else:
                time.sleep(0.2)
    except KeyboardInterrupt:
        return _revert_now(system, transaction, "Interrupted")


def _revert_now(system: System, transaction: str, why: str) -> int:
    result = rollback(system, transaction, only_if=("pending-confirm",), wait=120.0)
    state = Journal(system.root, transaction).state
    if state == "confirmed":
        _say("Confirmed: the changes are kept.")
        return EXIT_OK
    if result.ok:
        _say(f"{why}: every change was rolled back.")
        return EXIT_FAILED
    _say(f"{why}; the rollback failed: {result.error}", err=True)
    return EXIT_FAILED
