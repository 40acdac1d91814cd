"""Step 11: every file as a diff and every command, grouped by step; nothing has changed yet."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen
from screens.dialogs import ConfirmDialog
from wizard.preview import NOTHING_CHANGED, render_plan
from wizard.safe_text import printable


class ReviewScreen(StepScreen):
    """The plan as `vpn-wizard plan` prints it (wizard.preview), secrets masked."""

    def compose_body(self) -> ComposeResult:
        wizard = self.wizard
        yield Static(Text(NOTHING_CHANGED, style="bold green"), id="nothing-changed")
        blockers = wizard.apply_blockers()
        if blockers:
            text = Text("Before this plan can be applied:\n", style="bold red")
            for line in blockers:
                text.append(f"  • {printable(line)}\n", style="red")
            yield Static(text, id="blockers")
        plan = wizard.plan_or_none()
        setup = wizard.setup
        if plan is None or setup is None:
            yield Static(Text("The plan cannot be built until the errors above are fixed.",
                              style="dim"))
            return
        for part in render_plan(setup, plan, problems=wizard.problems):
            yield Static(part, classes="plan-part")

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
