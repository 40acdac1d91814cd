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
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList
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


class StepFooter(Footer):
    """Textual's footer, with its keys from the first frame and re-listed only when they change.

    Textual's `Footer` starts empty and lists the keys after the screen's first
    refresh, then again on every move of the focus, mounting (and styling) a
    widget per key each time: before the first frame settles that is a second
    layout and drawing of the screen for the same five keys. This one lists
    them when it is composed and whenever the keys shown (with whether each is
    enabled) differ from the ones on screen.
    """

    _listed: tuple[tuple[str, str, str, bool, str], ...] | None = None
    """The keys on screen."""

    def compose(self) -> ComposeResult:
        self.set_reactive(Footer._bindings_ready, True)  # the screen's keys are known now
        self._listed = self._keys()
        yield from super().compose()

    def _keys(self) -> tuple[tuple[str, str, str, bool, str], ...]:
        """What the footer shows: each shown binding's key, action, label, state, tooltip."""
        return tuple((binding.key, binding.action, binding.description, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                     if binding.show)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen and self._keys() == self._listed:
            return  # the same keys: nothing to re-list
        super().bindings_changed(screen)
