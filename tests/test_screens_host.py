"""The Interfaces step on a canned box: the NAT default from the box's addresses, interface
mistakes shown at the step, in the sidebar and at Review; and the same in plain mode."""

from __future__ import annotations

import io
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from rich.console import Console
from screens_support import CANNED_HOST, CANNED_INTERFACES, EXAMPLE, REPO, make_app
from test_screens_flow import settle, wait_for
from textual.widgets import Checkbox, Input, Static

from screens.app import WizardApp
from wizard.commands.plain import run_plain
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

SIZE = (100, 32)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def answers_app(root: Path, answers: str, **kwargs: object) -> WizardApp:
    """The wizard with an answers file beside the bundled AWS file (seed: leftid 198.51.100.10)."""
    path = root / "answers.toml"
    path.write_text(answers)
    return WizardApp(root=Root(root), dry_run=True, import_path=EXAMPLE,
                     answers_path=str(path), host=CANNED_HOST, cursor_blink=False,
                     **kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_the_nat_default_is_taken_from_the_boxs_addresses(tmp_path: Path) -> None:
    """198.51.100.10 is on no canned interface: behind NAT, with eth0's 192.0.2.10, and why."""
    app = make_app(tmp_path, start="interfaces")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.setup is not None
        assert app.setup.choices.local_ip == IPv4Address("192.0.2.10")
        assert app.screen.query_one("#i-choices-behind_nat", Checkbox).value is True
        local = app.screen.query_one("#i-choices-local_ip", Input)
        assert local.value == "192.0.2.10" and local.display
        hint = str(app.screen.query_one("#nat-hint", Static).content)
        assert "198.51.100.10 is on no interface of this box, so it is behind NAT" in hint
        assert not app.step_invalid("interfaces")
        plan = app.plan_or_none()
        assert plan is not None
        steps = {step.id: step for step in plan}
        assert "nat-local-ip" in {n.id for n in steps["tunnel1.iptables"].notes}


@pytest.mark.asyncio
async def test_the_nat_default_arrives_with_interfaces_read_late(tmp_path: Path) -> None:
    """The real app lists interfaces in a thread after the first frame; the default follows."""
    app = make_app(tmp_path, start="welcome", interfaces=())
    app._list_interfaces = lambda: CANNED_INTERFACES  # as run_app passes read_interfaces
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.setup is not None
                       and app.setup.choices.local_ip is not None, "the NAT default")
        assert app.setup is not None
        assert app.setup.choices.local_ip == IPv4Address("192.0.2.10")
        assert app.session.sources["choices.local_ip"] == "detected"


@pytest.mark.asyncio
async def test_a_wan_that_is_not_on_the_box_is_an_error_at_its_step_and_at_review(
        tmp_path: Path) -> None:
    app = answers_app(tmp_path, '[choices]\nphysical_interface = "eth9"\n',
                      interfaces=CANNED_INTERFACES, start="interfaces")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.setup is not None and app.setup.choices.physical_interface == "eth9"
        message = str(app.screen.query_one(
            "#f-choices-physical_interface .field-message", Static).content)
        assert "eth9 is not an interface of this box" in message
        assert app.step_invalid("interfaces")
        entry = next(e for e in app.sidebar_entries("interfaces") if e.step_id == "interfaces")
        assert entry.state == "current-invalid"
        blockers = app.apply_blockers()
        assert any("WAN interface" in line and "eth9" in line for line in blockers)
        assert app.plan_or_none() is None


@pytest.mark.asyncio
async def test_a_down_wan_is_a_warning_that_does_not_block(tmp_path: Path) -> None:
    down = (HostInterface("eth0", (IPv4Interface("192.0.2.10/24"),), "down", True),)
    app = make_app(tmp_path, start="interfaces", interfaces=down)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        message = str(app.screen.query_one(
            "#f-choices-physical_interface .field-message", Static).content)
        assert "eth0 is down" in message and "ip link set eth0 up" in message
        assert not app.step_invalid("interfaces")
        assert app.apply_blockers() == []


def test_plain_mode_defaults_nat_and_refuses_a_missing_wan(tmp_path: Path) -> None:
    """Plain mode takes the same defaults and reports the same mistake before any plan."""
    from test_plain_mode import TypingPrompter, args

    out = io.StringIO()
    code = run_plain(args(root=str(tmp_path), dry_run=True),
                     prompter=TypingPrompter({"choices.physical_interface": "eth9"}),
                     console=Console(file=out, width=200), host=lambda: CANNED_HOST,
                     interfaces=lambda: [*CANNED_INTERFACES,
                                         HostInterface("eth9", (), "down", False)])
    text = out.getvalue()
    assert "198.51.100.10 is on no interface of this box, so it is behind NAT" in text
    assert "eth9 has no IPv4 address" in text  # shown at the WAN question
    assert code == 2 and "The plan cannot be built" in text


@pytest.mark.asyncio
async def test_the_persistence_step_says_why_the_box_chose_its_default(tmp_path: Path) -> None:
    """A default the box decided comes with its reason, on the step where it can be changed."""
    bare = replace(CANNED_HOST, systemd=False, ifupdown=False)  # nothing restores at boot
    app = make_app(tmp_path, start="persistence", host=bare)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.setup is not None and app.setup.choices.persistence == "none"
        assert app.session.sources["choices.persistence"] == "detected"
        why = str(app.screen.query_one("#persistence-why", Static).render())
        assert why.startswith("Preselected for this box: ")
        assert app.session.detected_reason("choices.persistence") in why
