"""Step 13: what the run did, and the door to the live status of both tunnels.

After a real apply the live panel (`screens.status.StatusScreen`) opens by
itself; after a dry run it opens on request, says it shows a dry run, and
its keys only show the command each would run (the source records through
`System.recording`, see `wizard.status.live.open_status`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Static

from screens.base import StepScreen
from screens.status import StatusScreen


class StatusStepScreen(StepScreen):
    """Says what the run did and opens the live status panel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "live_status", "Live status"),
    ]

    def compose_body(self) -> ComposeResult:
        wizard = self.wizard
        if wizard.changed:
            said = Text("The plan was applied to this box.", style="bold green")
        else:
            said = Text("Nothing on this box was changed.", style="bold green")
        yield Static(said, id="status-said")
        if wizard.dry_run:
            about = ("The live status shows the tunnels this plan would set up, read from the "
                     "box as it is now. This was a dry run: its keys only show the command "
                     "each would run. From a shell: vpn-wizard status --dry-run --import FILE "
                     "--answers FILE.")
        else:
            about = ("The live status shows both tunnels, their traffic and the heartbeat, "
                     "and can bring a tunnel up or down. From a shell: vpn-wizard status.")
        yield Static(Text(about, style="dim"), id="status-placeholder")
        yield Button("Live status (s)", id="live-status")

    def on_mount(self) -> None:
        # StepScreen.on_mount runs after this one: Textual calls each class's own handler.
        if self.wizard.changed and not self.wizard.dry_run:
            self.call_after_refresh(self.action_live_status)

    @on(Button.Pressed, "#live-status")
    def _open(self) -> None:
        self.action_live_status()

    def action_live_status(self) -> None:
        self.app.push_screen(StatusScreen(self.wizard.status_source(), can_go_back=True))

    def next_label(self) -> str:
        return "Quit"

    async def go_next(self) -> None:
        self.wizard.action_quit()
