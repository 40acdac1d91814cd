"""`vpn-wizard uninstall`: preview everything the wizard added on this box, ask, then remove it.

With no arguments the setup comes from the applied manifest the wizard wrote
when the apply was kept (`wizard.manifest`); `--import`/`--answers` name it
instead (a box whose manifest is gone). The removal is a plan like apply's
(`wizard.uninstall.build_uninstall_plan`): previewed by the same machinery,
every file diff and command, keys masked; then run by the same engine,
journaled, rolled back on failure. It asks before removing anything: `--yes`
answers for a script, and without a terminal and without `--yes` it refuses.
"""

from __future__ import annotations

import argparse
import sys

from wizard import inputs
from wizard.apply import apply_plan
from wizard.commands.common import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, needs_root, printer, say
from wizard.manifest import ManifestError
from wizard.model import Setup
from wizard.redact import Redactor
from wizard.safe_text import SafeConsole, printable
from wizard.system import System
from wizard.system.paths import Root, TargetFileError
from wizard.uninstall import preview, target_from, uninstall_plan_for


def _given_setup(args: argparse.Namespace, root: Root) -> Setup | bool | None:
    """The setup the inputs name, None when none were given, False when they are unusable."""
    import_path, answers = getattr(args, "import_path", None), getattr(args, "answers", None)
    if not import_path and not answers:
        return None
    try:
        loaded = inputs.load(import_path, answers, root)
    except inputs.InputError as exc:
        say(f"error: {exc}", err=True)
        return False
    if loaded.errors:
        for problem in loaded.errors:
            say(f"error: {problem}", err=True)
        return False
    return loaded.setup


def _ask() -> bool:
    answer = input("Remove everything listed above? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def run_uninstall(args: argparse.Namespace) -> int:
    """Preview the removal of the wizard's setup, ask (or --yes), and run it."""
    root = Root(args.root)
    dry_run = bool(getattr(args, "dry_run", False))
    if needs_root(root, dry_run):
        say("error: uninstall needs root (or --dry-run). Nothing was changed.", err=True)
        return EXIT_REFUSED
    given = _given_setup(args, root)
    if given is False:
        say("Nothing was changed.", err=True)
        return EXIT_REFUSED
    try:
        setup, command, manifest = target_from(root.read, given or None)
    except ManifestError as exc:
        say(f"error: {exc}", err=True)
        say("Nothing was changed.", err=True)
        return EXIT_REFUSED
    system = System.recording(root) if dry_run else System.real(root)
    try:
        try:
            plan = uninstall_plan_for(system, setup, command)
        except TargetFileError as exc:
            say(f"error: {exc}", err=True)
            say("Nothing was changed.", err=True)
            return EXIT_REFUSED
        if manifest is not None and not given:
            say(f"The wizard's setup on this box: {manifest.setup.connection.vpn_connection_id}"
                f" (transaction {manifest.transaction}, kept {manifest.applied_at}).")
        out = SafeConsole()
        for renderable in preview(plan):
            out.print(renderable)
        if not (dry_run or getattr(args, "yes", False)):
            if sys.stdin is None or not sys.stdin.isatty():
                say("error: uninstall asks before it removes anything: run it in a terminal, "
                    "or pass --yes to remove what is listed above. Nothing was changed.",
                    err=True)
                return EXIT_REFUSED
            if not _ask():
                say("Not removed: nothing was changed.")
                return EXIT_OK
        result = apply_plan(plan, system, progress=printer(plan))
        redactor = Redactor.for_plan(plan)
        if dry_run:
            say("Would run:")
            for line in system.log:
                say(f"  {printable(redactor.text(line))}")
            say("Dry run: nothing was changed.")
            return EXIT_OK if result.ok else EXIT_FAILED
        if not result.ok:
            say(f"error: {redactor.text(str(result.error))}", err=True)
            say("The uninstall was rolled back." if result.failed_step
                else "Nothing was changed.", err=True)
            return EXIT_FAILED if result.failed_step else EXIT_REFUSED
        say("Removed what the wizard had added." if result.changed
            else "Nothing of the wizard's was left: nothing was changed.")
        return EXIT_OK
    finally:
        system.close()
