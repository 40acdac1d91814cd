"""`vpn-wizard plan`: the whole plan, as Rich text or JSON, without touching anything.

Output goes through `wizard.safe_text.SafeConsole` and every value is a Rich
`Text`: nothing read from an input is parsed as markup or reaches the terminal
as a raw control byte.
"""

from __future__ import annotations

import argparse
import os
import sys

from rich.text import Text

from wizard import inputs
from wizard.model import Setup
from wizard.plan import build_plan
from wizard.plan_json import dumps, plan_document
from wizard.preview import problems_renderable, render_plan
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.safe_text import SafeConsole, assemble
from wizard.system.executable import vpn_wizard_command
from wizard.system.paths import Root


def run_plan(args: argparse.Namespace) -> int:
    """Print the plan; exit 2 when the inputs are unusable or invalid."""
    err = SafeConsole(stderr=True)
    root = Root(args.root)
    if args.include_secrets and not args.save_answers:
        err.print("error: --include-secrets only has a meaning with --save-answers FILE. "
                  "Nothing was changed.")
        return 2
    try:
        loaded = inputs.load(args.import_path, args.answers, root)
    except inputs.InputError as exc:
        err.print(assemble(("error: ", "bold red"), (exc, "")))
        err.print("Nothing was changed.")
        return 2
    if loaded.errors:
        err.print(problems_renderable(loaded.problems))
        err.print(Text.assemble(("The plan was not built: ", "bold red"),
                                "fix the errors above. Nothing was changed."))
        return 2
    plan = build_plan(loaded.setup, root.read,
                          heartbeat_command=vpn_wizard_command(DEFAULT_COMMAND))
    if args.save_answers:
        from wizard.answers import AnswersError, save_answers

        try:
            save_answers(args.save_answers, loaded.setup, include_secrets=args.include_secrets,
                         import_path=_import_for(args.save_answers, loaded.import_path),
                         imported=loaded.imported)
        except AnswersError as exc:
            err.print(assemble(("error: ", "bold red"), (exc, "")))
            return 1
        err.print(assemble("answers saved to ", (args.save_answers, ""),
                           " (mode 0600, with the pre-shared keys)" if args.include_secrets
                           else " (mode 0600)"))
    if args.format == "json":
        sys.stdout.write(dumps(plan_document(loaded.setup, plan, show_secrets=args.show_secrets,
                                             sources=loaded.sources)))
        return 0
    out = SafeConsole()
    for path in sorted(root.unreadable):
        err.print(assemble(("note: ", "yellow"), (path, ""),
                           " is not readable by this user; its diff is shown against an empty "
                           "file (run as root for the exact diff)."))
    out.print(assemble(("detected: ", "dim"), (_detected(root, loaded.setup), "")))
    for note in loaded.notes:
        out.print(assemble(("import: ", "dim"), (note, "")))
    for renderable in render_plan(loaded.setup, plan, show_secrets=args.show_secrets,
                                  sources=loaded.sources, problems=loaded.problems):
        out.print(renderable)
    return 0


def _import_for(answers_path: str, import_path: str | None) -> str | None:
    """The AWS file as the answers file's `import` names it: relative to the answers file.

    A replay resolves `import` against the answers file's own directory, so the
    path given on this command line (relative to the current directory) would
    point elsewhere once the two are not side by side.
    """
    if import_path is None:
        return None
    answers_dir = os.path.dirname(os.path.abspath(answers_path))
    return os.path.relpath(os.path.abspath(import_path), answers_dir)


def _detected(root: Root, setup: Setup) -> str:
    """What the box is (wizard.system.host) and whether the plan's choices match its defaults."""
    from wizard.host_defaults import decide
    from wizard.system.host import describe, probe

    facts = probe(root)
    proposed = decide(facts, None)
    backend, persistence = proposed.backend.value, proposed.persistence.value
    line = f"{describe(facts)} -> backend {backend}, persistence {persistence}"
    chosen = setup.choices
    if (chosen.backend, chosen.persistence) != (backend, persistence):
        line += (f" (this plan uses backend {chosen.backend}, persistence "
                 f"{chosen.persistence}, as the inputs say)")
    return line
