"""`vpn-wizard confirm | rollback`: keep, or undo, the changes of a pending or unfinished apply."""

from __future__ import annotations

import argparse

from wizard.apply import confirm, rollback
from wizard.commands.common import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, needs_root, printer, say
from wizard.engine.journal import JournalError
from wizard.system import System
from wizard.system.paths import Root


def run_confirm(args: argparse.Namespace) -> int:
    """Keep the pending changes (and write the applied manifest)."""
    root = Root(args.root)
    if needs_root(root, False):
        say("error: confirm needs root.", err=True)
        return EXIT_REFUSED
    system = System.real(root)
    try:
        kept, message = confirm(system)
    except (JournalError, OSError) as err:
        say(f"error: {err}", err=True)
        return EXIT_FAILED
    finally:
        system.close()
    say(message if kept else f"error: {message}", err=not kept)
    return EXIT_OK if kept else EXIT_FAILED


def run_rollback(args: argparse.Namespace) -> int:
    """Undo an unfinished or unconfirmed apply, without asking."""
    root = Root(args.root)
    if needs_root(root, False):
        say("error: rollback needs root.", err=True)
        return EXIT_REFUSED
    system = System.real(root)
    try:
        result = rollback(system, progress=printer(None))
    except (JournalError, OSError) as err:
        say(f"error: {err}", err=True)
        return EXIT_FAILED
    finally:
        system.close()
    if result.transaction is None and result.ok:
        say("Nothing to roll back.")
        return EXIT_OK
    if not result.ok:
        what = f"rollback of {result.transaction} incomplete: " if result.transaction else ""
        say(f"error: {what}{result.error}", err=True)
        return EXIT_FAILED
    if not result.changed:
        say(f"Nothing to roll back ({result.transaction} is settled).")
        return EXIT_OK
    say(f"Rolled back {result.transaction}.")
    return EXIT_OK
