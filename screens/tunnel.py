"""Steps 4 and 5: one tunnel's parameters, prefilled from the import, validated as typed."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label, Static

from screens.base import FlowStep, StepScreen, refresh_fields_from_model
from wizard.crypto import RECOMMENDED

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
        if self.wizard.by_hand:
            intro = Text.assemble((f"{tunnel.name}", "bold"), (
                " · type each value as the AWS console shows it (VPN connection, Tunnel "
                "details); the proposals start at AWS's document defaults.", "dim"))
        else:
            intro = Text.assemble(
                (f"{tunnel.name}", "bold"), (" · prefilled from ", "dim"), (origin, "dim"),
                (". Each value must match the AWS console.", "dim"))
        yield Static(intro, classes="explain")
        at = f"tunnels[{self.index}]"
        for title, names in GROUPS:
            yield Label(title, classes="section")
            if title == "Proposals":
                yield from self._compose_recommended()
            for name in names:
                yield self.field(f"{at}.{name}")

    def _compose_recommended(self) -> ComposeResult:
        """The recommended proposals, offered first with the reason; the file's stay until asked."""
        with Horizontal(classes="preset-row"):
            yield Button("Use recommended", id="use-recommended", compact=True)
            first = RECOMMENDED.ike.split(",")[0]
            yield Static(Text(f"IKEv{RECOMMENDED.ike_version}  {first}, with a fallback",
                              style="bold", overflow="fold"), classes="preset-title")
        yield Static(Text(
            f"{RECOMMENDED.reason} The values below stay your file's until you press the "
            "button; AWS accepts these unless the tunnel options were narrowed in its console.",
            style="dim"), classes="explain preset-reason")

    def preset_answers(self) -> dict[str, str]:
        """The answers the recommended preset gives this tunnel's proposal fields."""
        at = f"tunnels[{self.index}].crypto"
        return {f"{at}.ike_version": str(RECOMMENDED.ike_version),
                f"{at}.ike": RECOMMENDED.ike, f"{at}.esp": RECOMMENDED.esp}

    @on(Button.Pressed, "#use-recommended")
    def _use_recommended(self) -> None:
        answers = self.preset_answers()
        for question_id, value in answers.items():
            self.wizard.answer(question_id, value)
        refresh_fields_from_model(self, list(answers))
        self.refresh_state()
        self.set_status("Recommended proposals set: change the AWS tunnel options to match "
                        "if they were narrowed.", "green")
