"""What a step screen asks of the app that holds it, as a Protocol.

`StepScreen.wizard` is typed by this, not by `screens.app.WizardApp`, so the
step screens need not import the app that imports them (no cycle, even a
type-only one). `WizardApp` satisfies it: most members are its session's
(`wizard.session.Session`) state and questions, the rest navigation and the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the session's engine is not loaded before the first frame
    from screens.widgets import SidebarEntry
    from wizard.model import Problem, Setup
    from wizard.plan_types import Plan
    from wizard.questions import Question, Value
    from wizard.session import ApplyRun, Outcome, Session
    from wizard.status.sources import StatusSource
    from wizard.system.paths import Root


class StepHost(Protocol):
    """The app as its step screens use it."""

    session: Session
    setup: Setup | None
    root: Root
    dry_run: bool
    checks: list[Any]
    context: Any
    drafts: dict[str, str]
    ui_answers: dict[str, Value]
    problems: list[Problem]
    import_path: Path | None
    import_label: str
    import_format: str | None
    import_notes: tuple[str, ...]
    import_error: str | None
    import_file: Callable[..., bool]
    import_text: Callable[[str], bool]
    start_by_hand: Callable[[], None]
    by_hand: bool
    field_value: Callable[[Question], Value]
    answer: Callable[[str, Value], None]
    step_problems: Callable[[str], list[Problem]]
    plan_or_none: Callable[[], Plan | None]
    apply_blockers: Callable[[], list[str]]
    cursor_blink: bool
    apply_run: ApplyRun | None
    changed: bool

    @property
    def applying_plan(self) -> Plan | None: ...
    def status_source(self) -> StatusSource: ...
    def start_apply(self) -> None: ...
    def finish_apply(self, outcome: Outcome) -> None: ...
    def action_quit(self) -> None: ...
    def step_number(self, step_id: str) -> int: ...
    def is_first(self, step_id: str) -> bool: ...
    def sidebar_entries(self, current: str) -> list[SidebarEntry]: ...
    def goto(self, step_id: str) -> None: ...
    def goto_offset(self, offset: int) -> None: ...
