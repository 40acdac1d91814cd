"""The widgets of the frame every step shares: the step sidebar and the problem lines.

Only what the first frame draws lives here, so it is all the welcome screen
imports; the form widgets (`QuestionField` and its inputs, `screens.fields`)
load with the first step that asks a question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option as ListOption

from wizard.model import Problem
from wizard.safe_text import printable


def slug(question_id: str) -> str:
    """A DOM id fragment for a question id: "tunnels[0].psk" -> "tunnels-0-psk"."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", question_id).strip("-")


def problem_text(problems: Iterable[Problem]) -> Text:
    """Problems as the lines under a field: errors in red, warnings in yellow."""
    out = Text()
    for p in problems:
        if out:
            out.append("\n")
        if p.severity == "error":
            out.append("✗ ", style="bold red")
            out.append(printable(p.message), style="red")
        else:
            out.append("! ", style="bold yellow")
            out.append(printable(p.message), style="yellow")
    return out


@dataclass(frozen=True)
class SidebarEntry:
    """One step as the sidebar lists it."""

    step_id: str
    title: str
    state: str
    """"current", "done", "invalid", "current-invalid", "todo" or "locked"."""


_MARKS = {
    "current": ("▸", "bold"),
    "current-invalid": ("▸", "bold red"),
    "done": ("✓", "green"),
    "invalid": ("✗", "red"),
    "todo": (" ", ""),
    "locked": (" ", "dim"),
}


class Sidebar(OptionList):
    """The wizard's steps with their state; choosing one jumps to it."""

    @dataclass
    class Jump(Message):
        """The operator chose a step in the sidebar."""

        step_id: str

    def __init__(self, entries: Sequence[SidebarEntry]) -> None:
        super().__init__(id="sidebar")
        self.entries: tuple[SidebarEntry, ...] = ()
        self.show(entries)

    def show(self, entries: Sequence[SidebarEntry]) -> None:
        """Redraw the list for new states, keeping the highlight on the current step."""
        if tuple(entries) == self.entries:
            return
        self.entries = tuple(entries)
        highlighted = self.highlighted
        self.clear_options()
        for number, entry in enumerate(self.entries, start=1):
            mark, style = _MARKS[entry.state]
            label = Text.assemble((f"{mark} ", style), (f"{number:>2} ", "dim"),
                                  (entry.title, style))
            self.add_option(ListOption(label, id=entry.step_id,
                                       disabled=entry.state == "locked"))
        current = next((i for i, e in enumerate(self.entries) if e.state.startswith("current")),
                       None)
        self.highlighted = current if current is not None else highlighted

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Jump(event.option.id))
