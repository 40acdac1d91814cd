"""The frame every wizard step shares: sidebar, title, body, hint line, Back/Next, footer.

A step subclasses `StepScreen` and yields its body from `compose_body`. Forms
are made of `QuestionField`s built by `field()`; their answers go to the app,
which applies them to the model through `wizard.questions` and validates with
`wizard.model`, then asks the screen to `refresh_state()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header, Static

from screens.host import StepHost
from screens.widgets import Sidebar, StepFooter, problem_text
from wizard.questions import BY_ID, Question
from wizard.steps import StepInfo

if TYPE_CHECKING:
    # The form widgets load with the first step that has a form (`field()`): the welcome
    # screen asks nothing, and Textual's inputs take longer to import than it takes to draw.
    # So this module names them by their CSS type ("QuestionField", "Input") at run time.
    from screens.fields import QuestionField


@dataclass(frozen=True)
class FlowStep:
    """One step of the wizard: the catalogue's entry (`wizard.steps`) and the screen that draws it.

    Defined beside `StepScreen`, which it builds and which is built from it;
    `screens.flow` lists one per step.

    Attributes:
        info: id, title, help and problem paths, as every front end knows the step.
        make: builds the screen (a fresh one on every visit, prefilled from the model).
        cached: the screen is built once and kept, so going back and forth is
            instant; the review, apply and status steps are rebuilt on every visit
            because what they show is made when they open.
    """

    info: StepInfo
    make: Callable[[FlowStep], StepScreen]
    cached: bool = True

    @property
    def id(self) -> str:
        """The screen's DOM id and the catalogue's key."""
        return self.info.id

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def help(self) -> str:
        return self.info.help

    @property
    def needs_setup(self) -> bool:
        return self.info.needs_setup

    @property
    def wheres(self) -> tuple[str, ...]:
        return self.info.wheres


def _breakpoint(app: App[object]) -> str:
    """The width class (`App.HORIZONTAL_BREAKPOINTS`) Textual gives a screen of the app's size.

    A screen built with it already has the class Textual's first resize would
    add, so that resize restyles nothing: without it every widget of the first
    frame is styled twice, once without the class and once with it.
    """
    width = app.size.width
    for edge, name in sorted(app.HORIZONTAL_BREAKPOINTS or [], reverse=True):
        if width >= edge:
            return name
    return ""


class StepScreen(Screen[None]):
    """One step of the wizard, framed."""

    AUTO_FOCUS = ""
    """Textual focuses nothing by itself: `focus_first` puts the focus where the operator
    starts (Textual's default, the first focusable widget, is the sidebar: the focus would
    move twice before the first frame, each move restyling widgets and re-listing the
    footer's keys)."""

    def __init__(self, step: FlowStep) -> None:
        super().__init__(id=step.id, classes=f"step {_breakpoint(self.app)}".rstrip())
        self.step = step

    @property
    def wizard(self) -> StepHost:
        """The app, typed by what a step asks of it: the model, the host facts, navigation."""
        return cast("StepHost", self.app)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        with Horizontal(id="main"):
            yield Sidebar(self.wizard.sidebar_entries(self.step.id))
            with Vertical(id="content"):
                yield Static(self.heading(), id="step-title")
                with VerticalScroll(id="body"):
                    yield Static("", id="step-problems")
                    yield from self.compose_body()
                yield Static("", id="hint")
                with Horizontal(id="nav"):
                    yield Button("Back", id="back", compact=True,
                                 disabled=self.wizard.is_first(self.step.id))
                    yield Static("", id="nav-status")
                    yield Button(self.next_label(), id="next", variant="primary", compact=True)
        yield StepFooter()

    def compose_body(self) -> ComposeResult:
        """The step's own widgets."""
        yield from ()

    def heading(self) -> Text:
        number = self.wizard.step_number(self.step.id)
        return Text.assemble((f"Step {number} · ", "dim"), (self.step.title, "bold"))

    def next_label(self) -> str:
        return "Next"

    def on_mount(self) -> None:
        self.sub_title = self.step.title + (" · dry run" if self.wizard.dry_run else "")
        for widget in self.query("Input, TextArea"):  # by CSS type: see the imports
            widget.cursor_blink = self.wizard.cursor_blink  # type: ignore[attr-defined]
        self.refresh_state()
        self.focus_first()
        self._model_shown = not self._resumed

    _resumed = False
    """The screen has been on screen (resumed) at least once."""
    _model_shown = False
    """`on_mount` has just shown the model, and Textual's first resume is still to come."""

    def on_screen_resume(self) -> None:
        """Back on screen (a kept screen is shown again): show the model as it is now."""
        self._resumed = True
        if self._model_shown:  # the first showing, just after on_mount: nothing new to show
            self._model_shown = False
            return
        if self.wizard.setup is not None:
            for field in self.fields():  # a draft shows its own text (or "" not entered yet)
                field.set_value(self.wizard.field_value(field.question))
        self.refresh_state()
        if self.is_mounted and self.focused is None:  # what had the focus is gone (AUTO_FOCUS)
            self.focus_first()

    def focus_first(self) -> None:
        """Focus the first thing to answer, so the keyboard starts in the form.

        At once (`Screen.set_focus`), not after the next refresh (`Widget.focus`):
        the first frame is then drawn with the focus where it stays.
        """
        body = self.query_one("#body")
        for widget in body.query("*"):
            shown = widget.display and all(
                a.display for a in widget.ancestors if isinstance(a, Widget))
            if isinstance(widget, Widget) and widget.focusable and shown:
                self.set_focus(widget)
                return
        self.set_focus(self.query_one("#next", Button))

    # ------------------------------------------------------------------ fields

    def field(self, question_id: str) -> QuestionField:
        """A form field for one question, showing the model's value (or the operator's draft)."""
        from screens.fields import QuestionField

        question = BY_ID[question_id]
        wizard = self.wizard
        assert wizard.setup is not None
        kind = question.kind_in(wizard.setup, wizard.context)
        options = question.options(wizard.setup, wizard.context) if question.options else ()
        value = wizard.field_value(question)
        if kind == "text" and isinstance(value, tuple):  # a choice list with nothing to offer
            value = ", ".join(value)  # (a one-interface box's LAN list), typed as names
        return QuestionField(question, value, kind=kind, options=options)

    def fields(self) -> list[QuestionField]:
        return cast("list[QuestionField]", list(self.query("QuestionField")))

    # QuestionField's messages, handled by name (`on_<widget>_<message>`, as Textual routes
    # them) rather than with @on, which would need the class before the first frame.

    def on_question_field_answered(self, event: QuestionField.Answered) -> None:
        self.wizard.answer(event.question_id, event.value)
        self.answered(event.question_id)
        self.refresh_state()

    def answered(self, question_id: str) -> None:
        """Hook: react to an answer after the model took it (show/hide dependent fields)."""

    def on_question_field_focused(self, event: QuestionField.Focused) -> None:
        self.show_hint(event.question)

    def show_hint(self, question: Question) -> None:
        self.query_one("#hint", Static).update(Text(question.help, style="dim italic"))

    # ------------------------------------------------------------------ state

    def refresh_state(self) -> None:
        """Show the model's problems under each field and the step's state in the sidebar."""
        wizard = self.wizard
        self.query_one(Sidebar).show(wizard.sidebar_entries(self.step.id))
        problems = wizard.step_problems(self.step.id)
        covered: set[int] = set()
        for field in self.fields():
            mine = field.question.problems(problems)
            covered.update(id(p) for p in mine)
            field.show_problems(mine, wizard.drafts.get(field.question.id))
        rest = [p for p in problems if id(p) not in covered]
        box = self.query_one("#step-problems", Static)
        box.update(problem_text(rest))
        box.display = bool(rest)
        self.state_changed()

    def state_changed(self) -> None:
        """Hook: the model changed; update anything the step shows from it."""

    def set_status(self, message: str, style: str = "yellow") -> None:
        """One line beside the Next button: why Next did nothing, or what just happened."""
        self.query_one("#nav-status", Static).update(Text(message, style=style))

    def leave_reason(self) -> str | None:
        """Why Next cannot leave this step yet, or None when it can."""
        return None

    async def go_next(self) -> None:
        """Next was asked for: move on unless the step objects."""
        reason = self.leave_reason()
        if reason:
            self.set_status(reason)
            return
        self.wizard.goto_offset(+1)

    # ------------------------------------------------------------------ navigation

    @on(Button.Pressed, "#next")
    async def _next_pressed(self) -> None:
        await self.go_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.wizard.goto_offset(-1)

    @on(Sidebar.Jump)
    def _jump(self, event: Sidebar.Jump) -> None:
        if event.step_id != self.step.id:
            self.wizard.goto(event.step_id)

    def help_text(self) -> Text:
        """The f1 help: the step's purpose, each field's help, then the keys that work here."""
        text = Text(self.step.help)
        questions = [f.question for f in self.fields()]
        if questions:
            text.append("\n")
        for question in questions:
            text.append(f"\n{question.label}: ", style="bold")
            text.append(question.help)
        text.append("\n\nKeys", style="bold")
        for keys, what in KEYS_HELP:
            text.append(f"\n  {keys:<14}", style="bold")
            text.append(what)
        return text


KEYS_HELP: tuple[tuple[str, str], ...] = (
    ("Tab, Shift+Tab", "move to the next or previous field or button"),
    ("Space", "tick or untick a box, choose a radio option or a list entry"),
    ("Up, Down", "move between the options of a list"),
    ("Enter", "go to the next field; on a button, press it"),
    ("Ctrl+N, Ctrl+P", "next step, previous step"),
    ("Ctrl+S", "save your answers to a file"),
    ("Ctrl+Q", "quit (q too, outside a text field)"),
)
"""The keys every step understands, for the f1 help: a newcomer should not have to guess."""


def refresh_fields_from_model(screen: StepScreen, question_ids: list[str]) -> None:
    """Show the model's current value in these fields (after the model changed them itself)."""
    setup = screen.wizard.setup
    if setup is None:
        return
    for field in screen.fields():
        if field.question.id in question_ids:
            field.set_value(screen.wizard.field_value(field.question))
