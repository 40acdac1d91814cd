"""Dynamic routing (BGP) in the full-screen wizard: a BGP file is supported, not refused.

Issue 9 refused a BGP file on the Import step; issue 12 runs BGP through FRR.
The Import step now takes such a file, and the VPC step asks what BGP needs
instead of the VPC's CIDRs: the networks announced to AWS and whether tunnel 2
is a standby (the ASNs and hold time come from the file). A static file can be
switched to BGP there too, starting from AWS's defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console
from screens_support import idle, make_app, type_into, wait_for
from textual.widgets import RadioButton, Static

from screens.app import WizardApp

SIZE = (100, 32)
GENERIC_BGP = Path(__file__).resolve().parent / "data" / "aws-generic-bgp.txt"
pytestmark = pytest.mark.asyncio


def _screen_text(app: WizardApp) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return " ".join(console.export_text().split())


def _shown(app: WizardApp, dom_id: str) -> bool:
    return bool(app.screen.query_one(f"#{dom_id}").display)


async def test_importing_a_bgp_file_is_taken_and_the_vpc_step_asks_for_bgp(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path / "root", import_path=None, start="import")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await type_into(pilot, "#import-path", str(GENERIC_BGP))
        await pilot.click("#load-file")
        await wait_for(pilot, lambda: app.setup is not None, "the file is loaded")
        assert app.setup is not None and app.setup.connection.routing == "dynamic"
        assert not app.step_invalid("import")
        assert "dynamic routing with BGP" not in _screen_text(app)
        app.goto("vpc")
        await wait_for(pilot, lambda: app.current == "vpc", "the VPC step")
        await idle(pilot)
        assert not _shown(app, "f-choices-vpc_cidrs")
        for dom_id in ("f-connection-bgp_asn", "f-choices-advertise", "f-choices-bgp_mode"):
            assert _shown(app, dom_id), dom_id
        assert app.step_invalid("vpc")  # nothing announced yet
        await type_into(pilot, "#i-choices-advertise", "192.0.2.0/24")
        await wait_for(pilot, lambda: not app.step_invalid("vpc"), "the step is complete")
        assert app.setup.choices.advertise[0].compressed == "192.0.2.0/24"
        plan = app.plan_or_none()
        assert plan is not None and "frr.bgp" in [s.id for s in plan]


async def test_a_static_file_switched_to_bgp_starts_from_awss_defaults(tmp_path: Path) -> None:
    app = make_app(tmp_path / "root", start="vpc")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert _shown(app, "f-choices-vpc_cidrs") and not _shown(app, "f-connection-bgp_asn")
        field = app.screen.query_one("#f-connection-routing")
        dynamic = next(b for b in field.query(RadioButton) if b.name == "dynamic")
        dynamic.value = True  # what a click on the option does
        await wait_for(pilot, lambda: app.setup is not None and app.setup.dynamic,
                       "BGP is chosen")
        await idle(pilot)
        assert _shown(app, "f-connection-bgp_asn") and not _shown(app, "f-choices-vpc_cidrs")
        assert app.screen.query_one("#i-connection-bgp_aws_asn").value == "64512"
        assert app.screen.query_one("#i-connection-bgp_hold_time").value == "30"
        assert app.step_invalid("vpc")  # this box's ASN is not in a strongSwan file
        # ... which is the VPC step's field to fill: the file itself is fine.
        assert not app.step_invalid("import")
        assert not app.session.step_problems("import")
        await type_into(pilot, "#i-connection-bgp_asn", "65010")
        await type_into(pilot, "#i-choices-advertise", "192.0.2.0/24")
        await wait_for(pilot, lambda: not app.step_invalid("vpc"), "the step is complete")
        assert app.setup is not None and app.setup.tunnels[1].bgp is not None
        assert app.setup.tunnels[1].bgp.customer_asn == 65010
