"""Modal dialogs: a yes/no question, the help of a step, and where to save the answers."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from screens.widgets import OrderedInput
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


class SaveAnswersDialog(ModalScreen[str | None]):
    """Ask where to save the answers; dismisses with the path, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str = DEFAULT_ANSWERS_PATH, *, cursor_blink: bool = True) -> None:
        super().__init__(id="save", classes="dialog-screen")
        self.default = default
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Save the answers"), classes="dialog-title")
            yield Static(
                Text("Replay them on the next box with --answers. Pre-shared keys are not "
                     "saved: they come from the AWS file. The file is written with mode 0600."),
                classes="dialog-body",
            )
            yield OrderedInput(self.default, id="save-path")
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
        self.dismiss(value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
