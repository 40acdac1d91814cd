"""What the transaction commands share: escaped output, step lines, exit codes, the root check."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from wizard.apply import StepEvent
from wizard.plan_types import Plan
from wizard.redact import Redactor
from wizard.safe_text import printable
from wizard.system.paths import Root

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

_LABEL = {
    "running": "..",
    "done": "ok",
    "unchanged": "==",
    "failed": "!!",
    "rolled-back": "<-",
}


def say(text: str = "", *, err: bool = False) -> None:
    """Print one message; its control characters (from any value in it) escaped."""
    print(printable(text, keep_newlines=True), file=sys.stderr if err else sys.stdout,
          flush=True)


def printer(plan: Plan | None, masked: Plan | None = None) -> Callable[[StepEvent], None]:
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
        say(line.rstrip())

    return show


def needs_root(root: Root, dry_run: bool) -> bool:
    """Changing the real box (not a --root directory, not a dry run) needs root."""
    return root.is_host and not dry_run and os.geteuid() != 0
