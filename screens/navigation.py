"""Moving between the wizard's steps: which step opens, which is locked, what the sidebar shows.

A mixin of `screens.app.WizardApp`, kept apart so the app module holds only
the wiring of the session, the run and the dialogs. Where a step may go and
what is wrong with it are the session's answers (`step_invalid`); this module
only turns them into screens and sidebar states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screens.base import FlowStep, StepScreen
from screens.flow import BY_ID as FLOW_BY_ID
from screens.flow import FLOW
from screens.widgets import SidebarEntry

if TYPE_CHECKING:
    from textual.app import App

    from wizard.model import Setup
    from wizard.session import ApplyRun

    _Base = App[int]
else:
    _Base = object


class StepNavigation(_Base):
    """Step switching for the wizard app (which provides the attributes declared here)."""

    current: str
    visited: set[str]
    setup: Setup | None
    apply_run: ApplyRun | None
    apply_finished: bool

    def step_invalid(self, step_id: str) -> bool:
        raise NotImplementedError

    def _screen_for(self, step: FlowStep) -> StepScreen | str:
        """The step's screen: kept ones are installed once under "step-<id>"."""
        if not step.cached:
            return step.make(step)
        name = f"step-{step.id}"
        if not self.is_screen_installed(name):
            self.install_screen(step.make(step), name)
        return name

    def step_index(self, step_id: str) -> int:
        return next(i for i, step in enumerate(FLOW) if step.id == step_id)

    def step_number(self, step_id: str) -> int:
        return self.step_index(step_id) + 1

    def is_first(self, step_id: str) -> bool:
        return self.step_index(step_id) == 0

    def locked(self, step: FlowStep) -> bool:
        """A step that cannot be opened yet: nothing imported, or apply not started/finished."""
        if step.needs_setup and self.setup is None:
            return True
        if step.id == "apply":
            return self.apply_run is None
        if step.id == "status":
            return not self.apply_finished
        return False

    def sidebar_entries(self, current: str) -> list[SidebarEntry]:
        entries = []
        for step in FLOW:
            invalid = not self.locked(step) and self.step_invalid(step.id)
            if step.id == current:
                state = "current-invalid" if invalid else "current"
            elif self.locked(step):
                state = "locked"
            elif invalid:
                state = "invalid"
            elif step.id in self.visited:
                state = "done"
            else:
                state = "todo"
            entries.append(SidebarEntry(step.id, step.title, state))
        return entries

    def goto(self, step_id: str) -> None:
        """Show a step (a fresh screen, prefilled from the model)."""
        step = FLOW_BY_ID[step_id]
        screen = self.screen
        if isinstance(screen, StepScreen):
            if getattr(screen, "running", False) or getattr(screen, "deadline", 0):
                screen.set_status("Wait for the run to end.")
                return
            if self.locked(step):
                screen.set_status(f"{step.title} opens later: "
                                  + ("import a configuration first." if self.setup is None
                                     else "it follows the review."))
                return
        if step_id == self.current and isinstance(screen, StepScreen):
            return
        self.visited.add(self.current)
        self.current = step_id
        self.switch_screen(self._screen_for(step))

    def goto_offset(self, offset: int) -> None:
        index = self.step_index(self.current) + offset
        if not 0 <= index < len(FLOW):
            return
        self.goto(FLOW[index].id)

    async def action_next(self) -> None:
        if isinstance(self.screen, StepScreen):
            await self.screen.go_next()

    def action_back(self) -> None:
        if isinstance(self.screen, StepScreen) and not self.is_first(self.current):
            self.goto_offset(-1)

