"""Step 9: what survives a reboot, for each persistence the plan offers."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen
from wizard.model import Setup

_KEPT, _LOST = "green", "red"


def reboot_table(setup: Setup) -> Table:
    """What a reboot keeps with the current mode and persistence, row by row."""
    choices = setup.choices
    manual = choices.mode == "manual"
    persistence = choices.persistence
    modern = persistence in ("netplan", "networkd")
    table = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 1))
    table.add_column("After a reboot", ratio=3)
    table.add_column("", ratio=4)
    table.add_row("strongSwan conns and keys, charon settings",
                  Text("kept: they are files", style=_KEPT))
    table.add_row("Forwarding, disable_xfrm, disable_policy",
                  Text("kept: set again from /etc/sysctl.d" if modern
                       else "kept: set again from /etc/sysctl.conf", style=_KEPT))
    if not manual:
        runtime = Text("recreated by the updown script when each tunnel comes up", style=_KEPT)
    elif persistence == "seed":
        runtime = Text("restored by /etc/network/interfaces and rc.local (needs ifupdown)",
                       style=_KEPT)
    elif persistence == "netplan":
        runtime = Text("created by netplan; rules restored by a systemd unit", style=_KEPT)
    elif persistence == "networkd":
        runtime = Text("created by systemd-networkd; rules restored by a systemd unit",
                       style=_KEPT)
    else:
        runtime = Text("lost: run the wizard again after a reboot", style=_LOST)
    table.add_row("Tunnel interfaces, VPC routes, iptables rules", runtime)
    if choices.heartbeat:
        table.add_row("Heartbeat", Text("kept: a systemd service", style=_KEPT))
    return table


class PersistenceScreen(StepScreen):
    """The seed's persistence, netplan, systemd-networkd or none, with what each keeps."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="persistence-note", classes="explain")
        yield self.field("choices.persistence")
        yield Static("", id="reboot-table")

    def state_changed(self) -> None:
        setup = self.wizard.setup
        if setup is None:
            return
        note = self.query_one("#persistence-note", Static)
        if setup.choices.mode == "manual":
            note.update("Manual mode creates the tunnel interfaces, routes and rules at "
                        "runtime; the document's step #5 makes them come back after a reboot. "
                        "On today's Ubuntu, netplan or systemd-networkd do the same without "
                        "ifupdown and rc.local.")
        else:
            note.update("Updown mode recreates the tunnel interfaces, routes and rules each "
                        "time a tunnel comes up, so they need no persistence; netplan and "
                        "systemd-networkd still move the kernel settings to /etc/sysctl.d.")
        self.query_one("#reboot-table", Static).update(reboot_table(setup))
