"""Step 8: how the VPC is reached: static routes to its CIDRs, or BGP through FRR."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Static

from screens.base import StepScreen

EXPLAIN = ("The document's <VPC CIDR>: the networks of your VPC. Each gets a route over the "
           "tunnels (manual mode) or is handed to the updown script. Give one or more, "
           "separated by commas; a network must not have host bits set.")
EXPLAIN_BGP = ("Dynamic routing: FRR's bgpd learns the VPC's routes from AWS over both "
               "tunnels and announces this box's networks; AWS routes to this side only "
               "what is announced. The ASNs and hold time are AWS's (the file's section #4, "
               "or the AWS console).")

#: The fields only dynamic routing (BGP) asks.
BGP_FIELDS = ("connection.bgp_asn", "connection.bgp_aws_asn", "connection.bgp_hold_time",
              "choices.advertise", "choices.bgp_mode")


class VpcScreen(StepScreen):
    """Static or BGP; the VPC CIDRs, or the BGP values and the networks announced to AWS."""

    def compose_body(self) -> ComposeResult:
        yield Static(EXPLAIN, classes="explain", id="vpc-explain")
        yield self.field("connection.routing")
        yield self.field("choices.vpc_cidrs")
        for question_id in BGP_FIELDS:
            yield self.field(question_id)

    def focus_first(self) -> None:
        """Start in the first value to type (the VPC CIDRs, or this box's ASN), not the routing.

        The routing is AWS's file's to say and seldom changed here; a keyboard
        operator who opens this step types the CIDRs at once, as before BGP.
        """
        for field_input in self.query("#body Input").results(Input):
            if field_input.display and all(a.display for a in field_input.ancestors
                                           if isinstance(a, Widget)):
                field_input.focus()
                return
        super().focus_first()

    def answered(self, question_id: str) -> None:
        """Choosing BGP fills AWS's defaults in the model: the fields show them at once."""
        if question_id != "connection.routing":
            return
        for field in self.fields():
            if field.question.id in BGP_FIELDS and field.question.id not in self.wizard.drafts:
                field.set_value(self.wizard.field_value(field.question))

    def state_changed(self) -> None:
        setup = self.wizard.setup
        if setup is None:
            return
        dynamic = setup.dynamic
        self.query_one("#vpc-explain", Static).update(EXPLAIN_BGP if dynamic else EXPLAIN)
        self.query_one("#f-choices-vpc_cidrs").display = not dynamic
        for question_id in BGP_FIELDS:
            self.query_one(f"#f-{question_id.replace('.', '-')}").display = dynamic
