"""Step 8: the VPC's CIDRs, routed over the tunnels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen

EXPLAIN = ("The document's <VPC CIDR>: the networks of your VPC. Each gets a route over the "
           "tunnels (manual mode) or is handed to the updown script. Give one or more, "
           "separated by commas; a network must not have host bits set.")


class VpcScreen(StepScreen):
    """One or more VPC CIDRs, each checked (host bits get a "did you mean")."""

    def compose_body(self) -> ComposeResult:
        yield Static(EXPLAIN, classes="explain")
        yield self.field("choices.vpc_cidrs")
