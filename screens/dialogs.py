"""Modal dialogs: a yes/no question, the help of a step, and where to save the answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from screens.fields import OrderedInput
from screens.toggles import ClearCheckbox
from wizard.safe_text import clean_text, lines, text

DEFAULT_ANSWERS_PATH = "./vpn-wizard-answers.toml"


def _safe_body(body: RenderableType) -> RenderableType:
    """A dialog's body: a string is shown as its characters (never markup), escaped."""
    if isinstance(body, str):
        return lines(body)
    if isinstance(body, Text):
        return clean_text(body)
    return body


class ConfirmDialog(ModalScreen[bool]):
    """Ask one yes/no question; dismisses with True for yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", "Cancel"),
        Binding("y", "yes", "Yes", show=False),
        Binding("n", "no", "No", show=False),
    ]

    def __init__(self, title: str, body: RenderableType, *, yes: str = "Yes", no: str = "No",
                 dialog_id: str = "confirm") -> None:
        super().__init__(id=dialog_id, classes="dialog-screen")
        self.title_text = title
        self.body = body
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text(self.title_text), classes="dialog-title")
            yield Static(_safe_body(self.body), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.no_label, id="no")
                yield Button(self.yes_label, id="yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class HelpDialog(ModalScreen[None]):
    """The help of the current step: what it is for and what each field means."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, title: str, body: RenderableType) -> None:
        super().__init__(id="help", classes="dialog-screen")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(text(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(_safe_body(self.body), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class SaveRequest:
    """Where to save the answers, and whether the pre-shared keys go in too."""

    path: str
    include_keys: bool = False


class SaveAnswersDialog(ModalScreen[SaveRequest | None]):
    """Ask where to save the answers; dismisses with a `SaveRequest`, or None when cancelled.

    What it says about the keys depends on where they came from: with an AWS
    file named in the answers, a replay reads them from it again; after a paste
    there is no such file, so the answers replay only if the keys are written
    in, which the operator is offered (off by default) instead of being told
    a comfortable untruth.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str = DEFAULT_ANSWERS_PATH, *, cursor_blink: bool = True,
                 keys_from_file: bool = True) -> None:
        super().__init__(id="save", classes="dialog-screen")
        self.default = default
        self.cursor_blink = cursor_blink
        self.keys_from_file = keys_from_file

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Save the answers"), classes="dialog-title")
            if self.keys_from_file:
                body = ("Replay them on the next box with --answers. Pre-shared keys are not "
                        "saved: a replay reads them from the AWS file the answers name. The "
                        "file is written with mode 0600.")
            else:
                body = ("Replay them on the next box with --answers. This configuration was "
                        "pasted, so no AWS file holds its pre-shared keys: without them the "
                        "answers cannot be replayed on their own (give --import with the AWS "
                        "file then). Tick the box to write the keys into the answers file; it "
                        "is written with mode 0600.")
            yield Static(Text(body), classes="dialog-body", id="save-explain")
            yield OrderedInput(self.default, id="save-path")
            if not self.keys_from_file:
                yield ClearCheckbox("Include the pre-shared keys", False, id="save-keys",
                                    compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="do-save", variant="primary")

    def on_mount(self) -> None:
        path = self.query_one("#save-path", Input)
        path.cursor_blink = self.cursor_blink
        path.focus()

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#do-save")
    def _save(self) -> None:
        value = self.query_one("#save-path", Input).value.strip()
        keys = self.query("#save-keys").results(Checkbox)
        include = any(box.value for box in keys)
        self.dismiss(SaveRequest(value, include) if value else None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
