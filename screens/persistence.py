"""Step 9: what survives a reboot, for each persistence the plan offers (`wizard.steps`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen
from wizard.steps import persistence_note, reboot_table


class PersistenceScreen(StepScreen):
    """The seed's persistence, netplan, systemd-networkd or none, with what each keeps."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="persistence-note", classes="explain")
        yield self.field("choices.persistence")
        yield Static("", id="persistence-why", classes="explain")
        yield Static("", id="reboot-table")

    def state_changed(self) -> None:
        setup = self.wizard.setup
        if setup is None:
            return
        self.query_one("#persistence-note", Static).update(persistence_note(setup))
        self.query_one("#reboot-table", Static).update(reboot_table(setup))
        why = self.wizard.detected_reason("choices.persistence")
        self.query_one("#persistence-why", Static).update(
            Text(f"Preselected for this box: {why}.") if why else "")
