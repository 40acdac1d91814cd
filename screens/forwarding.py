"""Step 3: packet forwarding (the document's #1 steps 1-2)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen
from wizard.preview import step_renderable
from wizard.redact import Redactor

EXPLAIN = (
    "The document's first steps enable IP forwarding, so that hosts on your LAN can reach the "
    "VPC through this box. If this box is the only one using the tunnels, forwarding is not "
    "needed and can stay as it is."
)


class ForwardingScreen(StepScreen):
    """Enable IP forwarding or leave it; shows the plan's step for it."""

    def compose_body(self) -> ComposeResult:
        yield Static(EXPLAIN, classes="explain")
        yield self.field("choices.enable_forwarding")
        yield Static("", id="forwarding-step")

    def state_changed(self) -> None:
        out = self.query_one("#forwarding-step", Static)
        setup = self.wizard.setup
        plan = self.wizard.plan_or_none()
        if setup is not None and setup.choices.enable_forwarding and plan is not None:
            out.update(step_renderable(plan.step("forwarding"), 1, Redactor.for_plan(plan)))
        elif setup is not None and not setup.choices.enable_forwarding:
            out.update(Text("Forwarding is left as it is: only this box can use the tunnels.",
                            style="dim"))
        else:
            out.update(Text("The preview appears once the other steps are valid.", style="dim"))
