"""`vpn-wizard apply`: the plan, done for real (or recorded), then kept or rolled back.

Exit codes: 0 done (or nothing to do), 1 failed or not confirmed (and rolled
back), 2 refused before any change (bad inputs, a box that cannot take the
plan, no root). Every refusal ends with a sentence saying what was changed:
nothing. `confirm` and `rollback` are wizard.commands.transaction's,
`uninstall` is wizard.commands.uninstall's.

The run itself is the session's `ApplyRun`; this module only prints what it
returns. Every line goes out through `say`, which escapes control characters
(wizard.safe_text): a value from an input or a journal never reaches the
terminal raw.
"""

from __future__ import annotations

import argparse
import select
import sys

from wizard.commands.common import EXIT_REFUSED, printer, say
from wizard.commands.plan import load_session
from wizard.render import boot_guard as boot_unit
from wizard.safe_text import SafeConsole
from wizard.session import ApplyRun, Outcome, needs_root
from wizard.system import boot
from wizard.system.paths import Root


def run_apply(args: argparse.Namespace) -> int:
    """Apply the plan through an `ApplyRun`; wait for a confirmation unless --no-confirm."""
    root = Root(args.root)
    dry_run = bool(getattr(args, "dry_run", False))
    refused = needs_root(root, dry_run)
    if refused is not None:
        say(f"error: {refused.sentence}", err=True)
        return refused.exit_code
    session = load_session(args, root, dry_run=dry_run, say=SafeConsole(stderr=True).print)
    if session is None:
        return EXIT_REFUSED
    plan = session.plan()
    assert session.setup is not None and plan is not None
    timeout = None if args.no_confirm else float(args.confirm_timeout)
    run = ApplyRun(session.setup, plan, root, dry_run=dry_run, confirm_timeout=timeout)
    outcome = run.start(progress=printer(plan))
    return _report(run, outcome)


def _report(run: ApplyRun, outcome: Outcome) -> int:
    """Say how the run ended; wait for the confirmation when it waits for one."""
    for reason in outcome.refused:
        say(f"error: {reason}", err=True)
    for note in outcome.notes:
        say(note)
    if run.dry_run and outcome.result is not None:
        say("Would run:")
        for line in outcome.log:
            say(f"  {line}")
    if outcome.state == "pending":
        assert outcome.transaction is not None
        return _report(run, wait_for_confirmation(run, outcome.transaction))
    say(outcome.sentence, err=outcome.state in ("refused", "failed", "not-kept",
                                                "rollback-failed", "crashed"))
    return outcome.exit_code


def wait_for_confirmation(run: ApplyRun, transaction: str) -> Outcome:
    """Say how to keep the changes, then wait (`ApplyRun.wait`) for a confirm or a "yes"."""
    interactive = sys.stdin is not None and sys.stdin.isatty()
    say(f"Applied (transaction {transaction}). Keep these changes? Run 'vpn-wizard confirm'"
        + (" or type 'yes' here" if interactive else "")
        + f" within {run.confirm_timeout or 0:.0f} s, otherwise everything is rolled back.")
    # Say every file the wizard writes, this one included.
    if boot.armed(run.root, boot_unit.UNIT, boot_unit.WANTS_LINK):
        say(f"Until then a power loss rolls back too: {boot_unit.UNIT} is in place, and is "
            "removed again on confirm or rollback.")

    def typed(timeout: float) -> str | None:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        return sys.stdin.readline() if ready else None

    return run.wait(typed if interactive else None)
