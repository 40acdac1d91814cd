"""Steps 4 and 5: one tunnel's parameters, prefilled from the import, validated as typed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from screens.base import StepScreen

if TYPE_CHECKING:
    from screens.flow import FlowStep

#: Field groups, by the last part of the question id.
GROUPS = (
    ("Addresses", ("customer_outside_ip", "aws_outside_ip", "customer_inside_cidr",
                   "aws_inside_cidr")),
    ("Authentication", ("psk", "mark")),
    ("Proposals", ("crypto.ike_version", "crypto.ike", "crypto.esp", "crypto.ike_lifetime",
                   "crypto.esp_lifetime")),
    ("Dead peer detection", ("crypto.dpd_delay", "crypto.dpd_timeout", "crypto.dpd_action")),
)


class TunnelScreen(StepScreen):
    """Addresses, the PSK (masked, with Show), mark, proposals, lifetimes and DPD."""

    def __init__(self, step: FlowStep, index: int) -> None:
        super().__init__(step)
        self.index = index

    def compose_body(self) -> ComposeResult:
        setup = self.wizard.setup
        assert setup is not None
        tunnel = setup.tunnels[self.index]
        origin = self.wizard.import_label or "the answers file"
        yield Static(Text.assemble(
            (f"{tunnel.name}", "bold"), (" · prefilled from ", "dim"), (origin, "dim"),
            (". Each value must match the AWS console.", "dim")), classes="explain")
        at = f"tunnels[{self.index}]"
        for title, names in GROUPS:
            yield Label(title, classes="section")
            for name in names:
                yield self.field(f"{at}.{name}")
