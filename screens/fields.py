"""Form widgets: a field driven by a `Question`, and the inputs it is made of.

A `QuestionField` knows nothing of the model: it shows a value, posts
`QuestionField.Answered` when the operator changes it, and shows whatever
problems the screen hands it. The screen (through the app) turns answers into
a new `Setup` with `Question.apply` and validates it with the core.

Apart from `screens.widgets` (the frame's sidebar) because Textual's input
widgets take longer to import than the welcome screen, which asks nothing,
takes to draw: they load with the first step that has a form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    TextArea,
)

from screens.toggles import ClearCheckbox, ClearRadioButton, ClearSelectionList
from screens.widgets import problem_text, slug
from wizard.model import Problem
from wizard.questions import Kind, Option, Question, Value
from wizard.safe_text import text


class RevealToggle(Button):
    """The Show/Hide button beside a secret: every press counts.

    Textual's Button ignores a press while its 0.2 s "pressed" effect runs.
    For a toggle that guards a key that is the wrong default: a quick
    Show-then-Hide would leave the key on screen while the operator believes it
    hidden. So this button has no press effect, and no press is ever dropped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.active_effect_duration = 0

async def run_own_binding(widget: Widget, event: events.Key) -> None:
    """Run the widget's own binding for this key now, in the order the keys came.

    Textual's Input and TextArea insert a typed character as soon as its key
    event reaches them, but leave a bound key (backspace, delete, the arrows)
    to bubble up through every container to the app, which only then looks up
    the binding and runs it (Textual issue #6605). Keys typed in a burst -- a
    fast typist, a terminal replaying input, an event loop busy validating the
    previous keystroke -- overtook the backspace on its way up, and the
    backspace then deleted one of them: "10.0.0.0/16, 10.1.0.0/16", thirty
    backspaces and a new CIDR came out as "10.0.". Running the widget's own
    bindings where the key arrives makes that impossible however slow the rest
    of the app is. Priority bindings (ctrl+q) are untouched: the app runs those
    before a key reaches any widget.
    """
    if event.is_printable:
        return  # the widget inserts it itself, in order already
    bindings = widget._bindings.copy()
    keymap = widget.app._keymap
    if keymap:
        bindings.apply_keymap(keymap)
    for binding in bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()  # done: nothing further up may run it a second time
            return


class OrderedInput(Input):
    """An `Input` whose backspace and arrows never fall behind the characters typed after them."""

    async def _on_key(self, event: events.Key) -> None:
        await run_own_binding(self, event)  # then Input's own handler, for a character


class OrderedTextArea(TextArea):
    """A `TextArea` whose editing keys never fall behind the characters typed after them."""

    async def _on_key(self, event: events.Key) -> None:
        await run_own_binding(self, event)


class QuestionField(Widget):
    """One question as a form row: label, the input widget that suits its kind, problems below.

    Kinds map to widgets: text -> Input, secret -> Input(password) with a
    reveal toggle, confirm -> Checkbox, select -> RadioSet, multi -> SelectionList.
    """

    @dataclass
    class Answered(Message):
        """The operator changed the answer (every keystroke, toggle or selection)."""

        field: QuestionField
        question_id: str
        value: Value

    @dataclass
    class Focused(Message):
        """The field's input got focus: the screen shows its help in the hint line."""

        question: Question

    revealed: reactive[bool] = reactive(False)
    """A secret field shows its characters (only after the operator asks)."""

    def __init__(
        self,
        question: Question,
        value: Value,
        *,
        kind: Kind | None = None,
        options: Sequence[Option] = (),
    ) -> None:
        self.kind: Kind = kind or question.kind
        super().__init__(id=f"f-{slug(question.id)}", classes=f"field field-{self.kind}")
        self.question = question
        self.value = value
        self.options = tuple(options)
        self.input_id = f"i-{slug(question.id)}"
        self._shown: list[Problem] | None = None

    def compose(self) -> ComposeResult:
        if self.kind == "confirm":
            yield ClearCheckbox(self.question.label, bool(self.value), id=self.input_id,
                                compact=True)
        else:
            with Horizontal(classes="field-row"):
                yield Label(self.question.label, classes="field-label")
                yield from self._compose_input()
        yield Static("", classes="field-message")

    def _compose_input(self) -> ComposeResult:
        value = self.value
        if self.kind == "text":
            yield OrderedInput(str(value), id=self.input_id, compact=True,
                               select_on_focus=False,
                               placeholder=f"e.g. {self.question.example}"
                               if self.question.example else "")
        elif self.kind == "secret":
            yield OrderedInput(str(value), id=self.input_id, password=True, compact=True,
                               select_on_focus=False)
            yield RevealToggle("Show", id=f"reveal-{slug(self.question.id)}", classes="reveal",
                               compact=True)
        elif self.kind == "select":
            with RadioSet(id=self.input_id, compact=True):
                for option in self.options:
                    yield ClearRadioButton(text(option.label), option.value == value,
                                           name=option.value,
                                           id=f"{self.input_id}-{slug(option.value)}",
                                           compact=True)
        else:  # multi
            chosen = set(value) if isinstance(value, tuple | list) else set()
            yield ClearSelectionList(
                *((text(o.label), o.value, o.value in chosen) for o in self.options),
                id=self.input_id, compact=True,
            )

    # ------------------------------------------------------------------ state from the screen

    def show_problems(self, problems: Sequence[Problem], draft_error: str | None = None) -> None:
        """Put the problems under the field, or the parse error of what is typed now.

        A parse error means the model still holds the previous value, so its
        problems describe text that is no longer in the field: showing them
        beside the parse error would blame the operator for a value long gone.
        """
        shown = [Problem(self.question.id, draft_error)] if draft_error else list(problems)
        if shown == self._shown:
            return  # nothing new to say: spare the relayout on every keystroke
        self._shown = shown
        message = self.query_one(".field-message", Static)
        message.update(problem_text(shown))
        message.display = bool(shown)
        self.set_class(any(p.severity == "error" for p in shown), "-invalid")
        self.set_class(bool(shown) and all(p.severity == "warning" for p in shown), "-warning")

    def set_value(self, value: Value) -> None:
        """Show a value the model chose (e.g. a suggestion), without posting `Answered`."""
        self.value = value
        with self.prevent(Input.Changed, Checkbox.Changed, RadioSet.Changed,
                          SelectionList.SelectedChanged):
            if self.kind in ("text", "secret"):
                field_input = self.query_one(f"#{self.input_id}", Input)
                if field_input.value != str(value):
                    field_input.value = str(value)
            elif self.kind == "confirm":
                self.query_one(f"#{self.input_id}", Checkbox).value = bool(value)
            elif self.kind == "select":
                for button in self.query(RadioButton):
                    if button.name == value and not button.value:
                        button.value = True
            elif self.kind == "multi":
                chosen = set(value) if isinstance(value, tuple | list) else set()
                selection = self.query_one(f"#{self.input_id}", SelectionList)
                for option in self.options:
                    if option.value in chosen:
                        selection.select(option.value)
                    else:
                        selection.deselect(option.value)

    def set_options(self, options: Sequence[Option], value: Value) -> None:
        """Replace a multi question's options (the LAN list changes with the WAN choice)."""
        self.options = tuple(options)
        self.value = value
        if self.kind != "multi":
            return
        chosen = set(value) if isinstance(value, tuple | list) else set()
        selection = self.query_one(f"#{self.input_id}", SelectionList)
        with self.prevent(SelectionList.SelectedChanged):
            selection.clear_options()
            selection.add_options([(o.label, o.value, o.value in chosen) for o in self.options])

    # ------------------------------------------------------------------ events to the screen

    def _answer(self, value: Value) -> None:
        if value == self.value:
            return  # widgets announce their initial value on mount; that is not an answer
        self.value = value
        self.post_message(self.Answered(self, self.question.id, value))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._answer(event.value)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._answer(event.value)

    @on(RadioSet.Changed)
    def _radio_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        if event.pressed.name is not None:
            self._answer(event.pressed.name)

    @on(SelectionList.SelectedChanged)
    def _selection_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        selected = set(event.selection_list.selected)
        self._answer(tuple(o.value for o in self.options if o.value in selected))

    @on(Button.Pressed, ".reveal")
    def _toggle_reveal(self, event: Button.Pressed) -> None:
        event.stop()
        self.revealed = not self.revealed

    def watch_revealed(self, revealed: bool) -> None:
        if self.kind != "secret" or not self.is_mounted:
            return
        self.query_one(f"#{self.input_id}", Input).password = not revealed
        self.query_one(".reveal", Button).label = "Hide" if revealed else "Show"

    def on_descendant_focus(self) -> None:
        self.post_message(self.Focused(self.question))
