"""`vpn-wizard apply | confirm | rollback | uninstall`: the plan, done for real (or recorded).

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
import contextlib
import os
import select
import sys
from collections.abc import Callable

from wizard import inputs
from wizard.apply import StepEvent, confirm, rollback
from wizard.journal import JournalError
from wizard.plan import build_plan
from wizard.plan_types import Plan
from wizard.redact import Redactor
from wizard.render import boot_guard as boot_unit
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.safe_text import printable
from wizard.session import ApplyRun, Outcome, needs_root
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
    """Apply the plan through an `ApplyRun`; wait for a confirmation unless --no-confirm."""
    from wizard.commands.plan import load_session
    from wizard.safe_text import SafeConsole

    root = Root(args.root)
    dry_run = bool(getattr(args, "dry_run", False))
    refused = needs_root(root, dry_run)
    if refused is not None:
        _say(f"error: {refused.sentence}", err=True)
        return refused.exit_code
    session = load_session(args, root, dry_run=dry_run, say=SafeConsole(stderr=True).print)
    if session is None:
        return EXIT_REFUSED
    plan = session.plan()
    assert session.setup is not None and plan is not None
    timeout = None if args.no_confirm else float(args.confirm_timeout)
    run = ApplyRun(session.setup, plan, root, dry_run=dry_run, confirm_timeout=timeout)
    outcome = run.start(progress=_printer(plan))
    return _report(run, outcome)


def _report(run: ApplyRun, outcome: Outcome) -> int:
    """Say how the run ended; wait for the confirmation when it waits for one."""
    for reason in outcome.refused:
        _say(f"error: {reason}", err=True)
    for note in outcome.notes:
        _say(note)
    if run.dry_run and outcome.result is not None:
        _say("Would run:")
        for line in outcome.log:
            _say(f"  {line}")
    if outcome.state == "pending":
        assert outcome.transaction is not None
        return _report(run, wait_for_confirmation(run, outcome.transaction))
    _say(outcome.sentence, err=outcome.state in ("refused", "failed", "not-kept",
                                                 "rollback-failed", "crashed"))
    return outcome.exit_code


def wait_for_confirmation(run: ApplyRun, transaction: str) -> Outcome:
    """Say how to keep the changes, then wait (`ApplyRun.wait`) for a confirm or a "yes"."""
    interactive = sys.stdin is not None and sys.stdin.isatty()
    _say(f"Applied (transaction {transaction}). Keep these changes? Run 'vpn-wizard confirm'"
         + (" or type 'yes' here" if interactive else "")
         + f" within {run.confirm_timeout or 0:.0f} s, otherwise everything is rolled back.")
    if boot.armed(run.root):  # say every file the wizard writes, this one included
        _say(f"Until then a power loss rolls back too: {boot_unit.UNIT} is in place, and is "
             "removed again on confirm or rollback.")

    def typed(timeout: float) -> str | None:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        return sys.stdin.readline() if ready else None

    return run.wait(typed if interactive else None)


def run_confirm(args: argparse.Namespace) -> int:
    """Keep the pending changes."""
    root = Root(args.root)
    if _needs_root(root, False):
        _say("error: confirm needs root.", err=True)
        return EXIT_REFUSED
    try:
        kept, message = confirm(System.real(root))
    except (JournalError, OSError) as err:
        _say(f"error: {err}", err=True)
        return EXIT_FAILED
    _say(message if kept else f"error: {message}", err=not kept)
    return EXIT_OK if kept else EXIT_FAILED


def run_rollback(args: argparse.Namespace) -> int:
    """Undo an unfinished or unconfirmed apply, without asking."""
    root = Root(args.root)
    if _needs_root(root, False):
        _say("error: rollback needs root.", err=True)
        return EXIT_REFUSED
    system = System.real(root)
    try:
        result = rollback(system, progress=_printer(None))
    except (JournalError, OSError) as err:
        _say(f"error: {err}", err=True)
        return EXIT_FAILED
    finally:
        system.close()
    if result.transaction is None:
        _say("Nothing to roll back.")
        return EXIT_OK
    if not result.ok:
        _say(f"error: rollback of {result.transaction} incomplete: {result.error}", err=True)
        return EXIT_FAILED
    if not result.changed:
        _say(f"Nothing to roll back ({result.transaction} is settled).")
        return EXIT_OK
    _say(f"Rolled back {result.transaction}.")
    return EXIT_OK


def run_uninstall(args: argparse.Namespace) -> int:
    """Remove everything the wizard added, for the setup the inputs describe."""
    from wizard.uninstall import uninstall

    root = Root(args.root)
    dry_run = bool(getattr(args, "dry_run", False))
    if _needs_root(root, dry_run):
        _say("error: uninstall needs root (or --dry-run). Nothing was changed.", err=True)
        return EXIT_REFUSED
    loaded = _load(args, root)
    if loaded is None:
        return EXIT_REFUSED
    system = System.recording(root) if dry_run else System.real(root)
    with contextlib.ExitStack() as stack:
        stack.callback(system.close)
        plan = build_plan(loaded.setup, root.read,
                          heartbeat_command=vpn_wizard_command(DEFAULT_COMMAND))
        result = uninstall(loaded.setup, plan, system, progress=_printer(None, plan))
        if dry_run:
            _say("Would run:")
            redactor = Redactor.for_plan(plan)
            for line in system.log:
                _say(f"  {printable(redactor.text(line))}")
            _say("Dry run: nothing was changed.")
            return EXIT_OK if result.ok else EXIT_FAILED
        if not result.ok:
            _say(f"error: {Redactor.for_plan(plan).text(str(result.error))}", err=True)
            _say("The uninstall was rolled back." if result.failed_step
                 else "Nothing was changed.", err=True)
            return EXIT_FAILED if result.failed_step else EXIT_REFUSED
        _say("Removed what the wizard had added." if result.changed
             else "Nothing of the wizard's was left: nothing was changed.")
        return EXIT_OK
