"""Step 7: the physical (WAN) interface, NAT, and the LAN interfaces whose hosts use the tunnels."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from screens.base import StepScreen
from screens.fields import QuestionField
from wizard.questions import BY_ID, behind_nat, nat_hint

WAN = ("The tunnels ride on the interface that reaches the AWS endpoints: usually the one with "
       "the default route, preselected below.")
LAN = ("Choose the LAN interfaces whose hosts will reach the VPC through this box. Choose none "
       "when this box is the only client, or when the LAN is on the same interface as the WAN. "
       "They matter because packets decapsulated from a tunnel keep its mark and would be "
       "encrypted straight back, unless disable_xfrm is set on the interface they leave by.")


class InterfacesScreen(StepScreen):
    """WAN interface (from netlink, default route marked), NAT and local IP, LAN interfaces."""

    def compose_body(self) -> ComposeResult:
        yield Static(WAN, classes="explain")
        yield self.field("choices.physical_interface")
        yield Label("NAT", classes="section")
        yield Static("", id="nat-hint", classes="explain")
        yield self.field("choices.behind_nat")
        yield self.field("choices.local_ip")
        yield Label("LAN", classes="section")
        yield Static(LAN, classes="explain")
        yield self.field("choices.lan_interfaces")

    def _field(self, question_id: str) -> QuestionField:
        return next(f for f in self.fields() if f.question.id == question_id)

    def answered(self, question_id: str) -> None:
        wizard = self.wizard
        setup = wizard.setup
        if setup is None:
            return
        if question_id == "choices.physical_interface":
            wan = setup.choices.physical_interface
            lan = tuple(n for n in setup.choices.lan_interfaces if n != wan)
            if lan != setup.choices.lan_interfaces:
                wizard.answer("choices.lan_interfaces", lan)
            question = BY_ID["choices.lan_interfaces"]
            assert question.options is not None and wizard.setup is not None
            self._field("choices.lan_interfaces").set_options(
                question.options(wizard.setup, wizard.context), lan)
        elif question_id == "choices.behind_nat" and wizard.ui_answers.get(question_id) is True:
            local = self._field("choices.local_ip")
            value = wizard.field_value(local.question)
            local.set_value(value)
            wizard.answer("choices.local_ip", value)

    def state_changed(self) -> None:
        wizard = self.wizard
        setup = wizard.setup
        if setup is None:
            return
        self._field("choices.local_ip").display = behind_nat(setup, wizard.ui_answers)
        self.query_one("#nat-hint", Static).update(
            Text(nat_hint(setup, wizard.context) or "Is the customer gateway address "
                 "configured on this box, or on a NAT device in front of it?"))
