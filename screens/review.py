"""Step 11: what the plan does, at a glance first, then every step folded; nothing has changed yet.

The review opens with a summary (the files it touches, how many commands,
the warnings, what a reboot keeps), then the tunnels, then each step of the
plan folded under its title. A "Jump to" list opens the step that writes a
file, or the warnings, and scrolls there: at 80x24 the whole plan flat was
about 38 pages of scrolling.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Collapsible, Select, Static

from screens.base import StepScreen
from screens.dialogs import ConfirmDialog
from screens.persistence import reboot_table
from wizard.model import Problem, Setup
from wizard.plan_types import Plan
from wizard.preview import NOTHING_CHANGED, problems_renderable, step_renderable, summary
from wizard.redact import Redactor
from wizard.safe_text import printable, text


@dataclass(frozen=True)
class Target:
    """One entry of the "Jump to" list: what it says and which section it opens."""

    label: str
    section: str
    """The DOM id of the Collapsible to open and scroll to."""


def step_section(number: int) -> str:
    return f"plan-step-{number}"


def warning_count(problems: list[Problem]) -> int:
    """Warnings as the review lists them: one per message, however many fields it names."""
    return len({(p.severity, p.message) for p in problems})


def jump_targets(plan: Plan, problems: list[Problem]) -> list[Target]:
    """Every file the plan writes (to its step), then the warnings, in plan order."""
    targets: list[Target] = []
    seen: set[str] = set()
    for number, step in enumerate(plan, start=1):
        for change in step.files:
            if change.changed and change.path not in seen:
                seen.add(change.path)
                targets.append(Target(f"{change.path} (step {number})", step_section(number)))
    if problems:
        targets.append(Target(f"Warnings ({warning_count(problems)})", "plan-warnings"))
    noted = [n for n, s in enumerate(plan, start=1) if s.notes]
    for number in noted:
        targets.append(Target(f"Differs from the document: step {number}",
                              step_section(number)))
    return targets


def at_a_glance(setup: Setup, plan: Plan, problems: list[Problem]) -> RenderableType:
    """The summary the review opens with: files, commands, warnings, and what a reboot keeps."""
    changed = [c for step in plan for c in step.files if c.changed]
    paths = sorted({c.path: c.before is None for c in changed}.items())
    commands = sum(len(step.commands) for step in plan)
    out = Text()
    out.append("At a glance\n", style="bold")
    out.append(f"{len(plan.steps)} steps · {len(paths)} files written · {commands} commands"
               f" · {warning_count(problems)} warnings"
               f" · {sum(1 for s in plan if s.notes)} steps differ from the AWS document\n")
    out.append("Files: ", style="bold")
    out.append_text(text(", ".join(f"{p}{' (new)' if new else ''}" for p, new in paths)
                         or "none"))
    out.append("\n")
    parts: list[RenderableType] = [out, reboot_table(setup)]
    return Group(*parts)


class ReviewScreen(StepScreen):
    """The plan as `vpn-wizard plan` prints it (wizard.preview), secrets masked, folded by step."""

    def compose_body(self) -> ComposeResult:
        wizard = self.wizard
        yield Static(Text(NOTHING_CHANGED, style="bold green"), id="nothing-changed")
        blockers = wizard.apply_blockers()
        if blockers:
            text_ = Text("Before this plan can be applied:\n", style="bold red")
            for line in blockers:
                text_.append(f"  • {printable(line)}\n", style="red")
            yield Static(text_, id="blockers")
        plan = wizard.plan_or_none()
        setup = wizard.setup
        if plan is None or setup is None:
            yield Static(Text("The plan cannot be built until the errors above are fixed.",
                              style="dim"))
            return
        problems = wizard.problems
        yield Static(at_a_glance(setup, plan, problems), id="at-a-glance")
        targets = jump_targets(plan, problems)
        yield Select([(t.label, t.section) for t in targets], prompt="Jump to a file or a warning…",
                     id="jump", compact=True)
        with Collapsible(title="Tunnels", collapsed=True, id="plan-tunnels"):
            yield Static(summary(setup), classes="plan-part")
        if problems:
            with Collapsible(title=f"Warnings ({warning_count(problems)})", collapsed=False,
                             id="plan-warnings"):
                yield Static(problems_renderable(problems), classes="plan-part")
        redactor = Redactor.for_plan(plan)
        for number, step in enumerate(plan, start=1):
            with Collapsible(title=self._fold_title(number, step.title, bool(step.notes)),
                             collapsed=True, id=step_section(number), classes="plan-step"):
                yield Static(step_renderable(step, number, redactor), classes="plan-part")
        yield Static(Text(NOTHING_CHANGED, style="bold green"), classes="plan-part")

    @staticmethod
    def _fold_title(number: int, title: str, noted: bool) -> str:
        return f"{number}. {printable(title)}" + (" (differs from the document)" if noted else "")

    @on(Select.Changed, "#jump")
    def _jump_to(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        self.open_section(event.value)

    def open_section(self, section: str) -> None:
        """Unfold a section and bring its top to the top of the view."""
        fold = self.query_one(f"#{section}", Collapsible)
        fold.collapsed = False

        def scroll() -> None:
            body = self.query_one("#body", Widget)
            body.scroll_to_widget(fold, animate=False, top=True, immediate=True)

        self.call_after_refresh(scroll)

    def next_label(self) -> str:
        return "Dry run…" if self.wizard.dry_run else "Apply…"

    def focus_first(self) -> None:
        self.query_one("#body").focus()

    async def go_next(self) -> None:
        wizard = self.wizard
        blockers = wizard.apply_blockers()
        if blockers:
            self.set_status(blockers[0], "red")
            return
        plan = wizard.plan_or_none()
        assert plan is not None
        if wizard.dry_run:
            title = "Run the plan as a dry run?"
            body = Text(f"{len(plan.steps)} steps are recorded, not run: nothing on this box "
                        "changes.")
        else:
            title = "Apply the plan to this box?"
            body = Text(f"{len(plan.steps)} steps change files under /etc and the network. "
                        "If a step fails, the steps before it are rolled back.")

        def confirmed(yes: bool | None) -> None:
            if yes:
                wizard.start_apply()

        self.app.push_screen(
            ConfirmDialog(title, body, yes="Dry run" if wizard.dry_run else "Apply",
                          no="Not yet", dialog_id="confirm-apply"), confirmed)

