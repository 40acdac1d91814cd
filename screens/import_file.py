"""Step 2: load AWS's configuration file, from a path or pasted, and show what was found."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static, TextArea

from screens.base import StepScreen
from screens.fields import OrderedInput, OrderedTextArea
from wizard.preview import summary
from wizard.safe_text import assemble, text
from wizard.session import Session


class PathSuggester(Suggester):
    """Completes file paths as they are typed (→ at the end accepts the completion)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        directory, prefix = os.path.split(expanded)
        try:
            names = sorted(os.listdir(directory or "."))
        except OSError:
            return None
        matches = [n for n in names if n.startswith(prefix) and n != prefix
                   and (prefix.startswith(".") or not n.startswith("."))]
        if not matches:
            return None
        name = matches[0]
        rest = name[len(prefix):]
        if os.path.isdir(os.path.join(directory or ".", name)):
            rest += "/"
        return value + rest


def import_renderable(wizard: Session) -> RenderableType:
    """What was found in the file, or the importer's refusal with its line (from the session)."""
    if wizard.import_error:
        parts: list[RenderableType] = [Text("The file was not imported:", style="bold red"),
                                       text(wizard.import_error, style="red")]
        if wizard.setup is not None:
            parts.append(text(f"Still using {wizard.import_label or 'the answers file'}, "
                              "loaded before.", style="dim"))
        return Group(*parts)
    if wizard.setup is None:
        return Text("No file loaded yet.", style="dim")
    if wizard.by_hand:
        return Group(
            assemble(("Tunnels typed by hand", "bold green"),
                     (": fill in every value at the Tunnel 1 and Tunnel 2 steps.", "green")),
            text("Outside addresses, inside /30s and pre-shared keys are as the AWS console "
                 "shows them (Download configuration is not needed).", style="dim"))
    parts = []
    origin = wizard.import_label or "the answers file"
    fmt = f" ({wizard.import_format} format)" if wizard.import_format else ""
    parts.append(assemble(("Loaded ", "green"), (origin, "bold"), (fmt, "green")))
    parts.append(summary(wizard.setup, origins=wizard.import_origins))
    for note in wizard.import_notes:
        parts.append(text(f"note: {note}", style="yellow"))
    return Group(*parts)


class ImportScreen(StepScreen):
    """Type a path (with completion) or paste the text; the result or the error shows below."""

    def compose_body(self) -> ComposeResult:
        yield Static("Give the configuration file AWS offers for download (strongSwan, Generic "
                     "or XML format).", classes="explain")
        yield Label("Path to the file (→ completes it)", classes="section")
        with Horizontal(id="path-row"):
            yield OrderedInput(self.wizard.import_label if self.wizard.import_path else "",
                               id="import-path", placeholder="e.g. ~/Downloads/vpn-0123abcd.txt",
                               suggester=PathSuggester(), compact=True)
            yield Button("Load", id="load-file", compact=True)
        yield Static("", id="import-result")
        yield Label("…or paste its text", classes="section")
        yield OrderedTextArea(id="paste", soft_wrap=False)
        yield Button("Load pasted text", id="load-paste", compact=True)
        yield Label("…or, with only the AWS console's values", classes="section")
        yield Button("Enter the tunnels by hand", id="by-hand", compact=True)

    def state_changed(self) -> None:
        self.query_one("#import-result", Static).update(import_renderable(self.wizard.session))

    @on(Input.Submitted, "#import-path")
    @on(Button.Pressed, "#load-file")
    def _load_file(self) -> None:
        path = self.query_one("#import-path", Input).value.strip()
        if not path:
            self.set_status("Type the path of the file first.")
            return
        self.wizard.import_file(Path(os.path.expanduser(path)), label=path)
        self.set_status("")
        self.refresh_state()

    @on(Button.Pressed, "#load-paste")
    def _load_paste(self) -> None:
        area = self.query_one("#paste", TextArea)
        text = area.text
        if not text.strip():
            self.set_status("Paste the text first.")
            return
        if self.wizard.import_text(text):
            # The path field must not claim the configuration came from a file it did not.
            self.query_one("#import-path", Input).value = ""
        area.clear()  # the text holds the keys: never leave them on screen
        self.set_status("The pasted text was cleared from the screen.", "dim")
        self.refresh_state()

    @on(Button.Pressed, "#by-hand")
    def _by_hand(self) -> None:
        """Both tunnels empty, to type in at the next two steps with the same checks."""
        self.wizard.start_by_hand()
        self.query_one("#import-path", Input).value = ""
        self.set_status("Type each tunnel's values at the Tunnel 1 and Tunnel 2 steps.", "green")
        self.refresh_state()

    def leave_reason(self) -> str | None:
        if self.wizard.setup is None:
            return "Load an AWS configuration file first."
        return None
