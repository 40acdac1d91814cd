"""`vpn-wizard plan`: the whole plan, as Rich text or JSON, without touching anything.

Output goes through `wizard.safe_text.SafeConsole` and every value is a Rich
`Text`: nothing read from an input is parsed as markup or reaches the terminal
as a raw control byte.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rich.console import RenderableType
from rich.text import Text

from wizard.answers import AnswersError
from wizard.host_defaults import decide
from wizard.model import Setup, errors
from wizard.safe_text import SafeConsole, assemble
from wizard.session import HostDefaults, Session
from wizard.steps import reboot_table
from wizard.system.host import describe, probe
from wizard.system.paths import Root


def load_session(args: argparse.Namespace, root: Root, *, dry_run: bool,
                 say: Callable[[RenderableType], None]) -> Session | None:
    """The command line's inputs and flags in a `Session`, or None (the reasons said) if unusable.

    The host's defaults come from the target's files alone (`HostDefaults.probe`
    without interfaces): a command names its WAN interface in the answers file.
    """
    session = Session(root, dry_run=dry_run, host=HostDefaults.probe(root),
                      answers_path=args.answers)
    if not session.load(args.import_path, args.answers) or session.setup is None:
        say(assemble(("error: ", "bold red"), (session.import_error or "no input given", "")))
        say(Text("Nothing was changed."))
        return None
    refused = session.take_flags({
        "choices.backend": getattr(args, "backend", None),
        "choices.persistence": getattr(args, "persistence", None),
        "choices.fast_failover": getattr(args, "fast_failover", None),
        # routing first: choosing BGP is what makes the BGP questions asked
        "connection.routing": getattr(args, "routing", None),
        "connection.bgp_asn": getattr(args, "bgp_asn", None),
        "connection.bgp_aws_asn": getattr(args, "bgp_aws_asn", None),
        "choices.advertise": getattr(args, "advertise", None),
        "choices.bgp_mode": getattr(args, "bgp_mode", None),
    })
    for reason in refused:
        say(assemble(("error: ", "bold red"), (reason, "")))
    if refused or errors(session.problems):
        if errors(session.problems):
            # Imported here: Rich's syntax highlighting (Pygments) is a tenth of
            # `apply`'s start-up on a small box, and apply prints no preview.
            from wizard.preview import problems_renderable

            say(problems_renderable(session.problems))
        say(Text.assemble(("The plan was not built: ", "bold red"),
                          "fix the errors above. Nothing was changed."))
        return None
    if session.plan() is None and session.target_file_failure is not None:
        raise session.target_file_failure  # cli.main says which file and what to fix
    return session


def run_plan(args: argparse.Namespace) -> int:
    """Print the plan; exit 2 when the inputs are unusable or invalid."""
    err = SafeConsole(stderr=True)
    root = Root(args.root)
    if args.include_secrets and not args.save_answers:
        err.print("error: --include-secrets only has a meaning with --save-answers FILE. "
                  "Nothing was changed.")
        return 2
    session = load_session(args, root, dry_run=True, say=err.print)
    if session is None:
        return 2
    setup = session.setup
    plan = session.plan()
    assert setup is not None and plan is not None
    if args.save_answers:
        try:
            said = session.save_answers(args.save_answers, include_secrets=args.include_secrets)
        except AnswersError as exc:
            err.print(assemble(("error: ", "bold red"), (exc, "")))
            return 1
        err.print(assemble((said, "")))
    if args.format == "json":
        from wizard.plan_json import dumps, plan_document  # the engine's undo words: JSON only

        sys.stdout.write(dumps(plan_document(setup, plan, show_secrets=args.show_secrets,
                                             sources=session.sources)))
        return 0
    out = SafeConsole()
    for path in sorted(root.unreadable):
        err.print(assemble(("note: ", "yellow"), (path, ""),
                           " is not readable by this user; its diff is shown against an empty "
                           "file (run as root for the exact diff)."))
    out.print(assemble(("detected: ", "dim"), (_detected(root, setup), "")))
    for note in session.import_notes:
        out.print(assemble(("import: ", "dim"), (note, "")))
    from wizard.preview import render_plan

    for renderable in render_plan(setup, plan, show_secrets=args.show_secrets,
                                  sources=session.sources, problems=session.problems):
        out.print(renderable)
    out.print(reboot_table(setup))
    return 0


def _detected(root: Root, setup: Setup) -> str:
    """What the box is (wizard.system.host) and whether the plan's choices match its defaults."""
    facts = probe(root)
    proposed = decide(facts, None)
    backend, persistence = proposed.backend.value, proposed.persistence.value
    line = f"{describe(facts)} -> backend {backend}, persistence {persistence}"
    chosen = setup.choices
    if (chosen.backend, chosen.persistence) != (backend, persistence):
        line += (f" (this plan uses backend {chosen.backend}, persistence "
                 f"{chosen.persistence}, as the inputs say)")
    return line
