"""Step 6: the tunnels built now by hand (#2-#5) or by strongSwan's updown script."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen

MANUAL = (
    "Manual (the document's steps #2-#5): the tunnel interfaces, VPC routes, iptables rules "
    "and sysctls are created now, once, and persistence decides whether they come back after "
    "a reboot."
)
UPDOWN = (
    "Automated (the updown script): strongSwan runs a script each time a tunnel comes up or "
    "goes down, which creates and removes the interface, routes and rules, so traffic fails "
    "over to whichever tunnel is up."
)

BACKEND = (
    "strongSwan reads the conns either from ipsec.conf and ipsec.secrets through the 'ipsec' "
    "starter, as the document does, or from swanctl files loaded over vici, for boxes whose "
    "strongSwan has no starter."
)


class ModeScreen(StepScreen):
    """Manual route-based steps or the automated updown script (two sentences), and the
    strongSwan configuration style."""

    def compose_body(self) -> ComposeResult:
        yield self.field("choices.mode")
        yield Static(Text(MANUAL), classes="explain", id="explain-manual")
        yield Static(Text(UPDOWN), classes="explain", id="explain-updown")
        yield self.field("choices.backend")
        yield Static(Text(BACKEND), classes="explain", id="explain-backend")

    def state_changed(self) -> None:
        setup = self.wizard.setup
        mode = setup.choices.mode if setup else "manual"
        self.query_one("#explain-manual").set_class(mode == "manual", "chosen")
        self.query_one("#explain-updown").set_class(mode == "updown", "chosen")
