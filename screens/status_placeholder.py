"""Step 13: a placeholder for the live status screen (screens/status.py replaces it)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen


class StatusPlaceholderScreen(StepScreen):
    """Says what the run did; the live tunnel status will appear here."""

    def compose_body(self) -> ComposeResult:
        wizard = self.wizard
        if wizard.changed:
            said = Text("The plan was applied to this box.", style="bold green")
        else:
            said = Text("Nothing on this box was changed.", style="bold green")
        yield Static(said, id="status-said")
        yield Static(Text("The live status of both tunnels and the heartbeat will appear here. "
                          "Until then: sudo ipsec status, or vpn-wizard status.", style="dim"),
                     id="status-placeholder")

    def next_label(self) -> str:
        return "Quit"

    async def go_next(self) -> None:
        self.wizard.action_quit()
