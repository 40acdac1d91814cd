"""`vpn-wizard plan`: the whole plan, as Rich text or JSON, without touching anything."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from wizard import inputs
from wizard.plan import build_plan
from wizard.plan_json import dumps, plan_document
from wizard.preview import problems_renderable, render_plan
from wizard.system.paths import Root


def run_plan(args: argparse.Namespace) -> int:
    """Print the plan; exit 2 when the inputs are unusable or invalid."""
    err = Console(stderr=True)
    root = Root(args.root)
    try:
        loaded = inputs.load(args.import_path, args.answers, root)
    except inputs.InputError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        err.print("Nothing was changed.")
        return 2
    if loaded.errors:
        err.print(problems_renderable(loaded.problems))
        err.print("[bold red]The plan was not built:[/] fix the errors above. Nothing was changed.")
        return 2
    plan = build_plan(loaded.setup, root.read)
    if args.save_answers:
        from wizard.answers import save_answers

        save_answers(args.save_answers, loaded.setup, include_secrets=args.include_secrets)
        err.print(f"answers saved to {args.save_answers} (mode 0600)")
    if args.format == "json":
        sys.stdout.write(dumps(plan_document(loaded.setup, plan, show_secrets=args.show_secrets,
                                             sources=loaded.sources)))
        return 0
    out = Console()
    for note in loaded.notes:
        out.print(f"[dim]import:[/] {note}", highlight=False)
    for renderable in render_plan(loaded.setup, plan, show_secrets=args.show_secrets,
                                  sources=loaded.sources, problems=loaded.problems):
        out.print(renderable)
    return 0
