"""Pilot walks through the wizard: the model after each step, keyboard only, dry and real runs."""

from __future__ import annotations

import hashlib
import os
import stat
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from rich.console import Console
from screens_support import (
    BROKEN_HOST,
    EXAMPLE,
    REPO,
    SEED_DOCUMENT,
    make_app,
    type_into,
    wait_for,
)
from seed_setup import SEED_PSKS, seed_connection
from textual.pilot import Pilot
from textual.widgets import Button, Input, RichLog, SelectionList, Static

from screens.app import WizardApp
from screens.apply import ApplyScreen
from screens.dialogs import ConfirmDialog, HelpDialog, SaveAnswersDialog
from screens.review import ReviewScreen
from screens.status_step import StatusStepScreen
from wizard.answers import load_answers, resolve
from wizard.aws import load as load_aws
from wizard.preview import NOTHING_CHANGED

SIZE = (100, 32)
pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def seed_file() -> str:
    """The AWS document the product automates: the shared seed, else the bundled copy."""
    return str(SEED_DOCUMENT) if SEED_DOCUMENT.is_file() else EXAMPLE


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def next_step(pilot: Pilot, expected: str) -> None:
    await pilot.click("#next")
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, WizardApp)
    assert app.current == expected, app.screen.query_one("#nav-status", Static).content
    assert app.screen.id == expected



def screen_text(app: WizardApp) -> str:
    """Everything the Static widgets of the current screen render, as plain text."""
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


async def test_walk_from_import_to_review_with_the_seed(tmp_path: Path) -> None:
    """Mouse and typing, step by step, checking the model after each one."""
    app = make_app(tmp_path, import_path=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.setup is None
        await next_step(pilot, "import")
        # Next refuses to leave Import before a file is loaded.
        await pilot.click("#next")
        await settle(pilot)
        assert app.current == "import"
        await type_into(pilot, "#import-path", seed_file())
        await pilot.click("#load-file")
        await settle(pilot)
        assert app.import_error is None
        assert app.setup is not None
        if seed_file() != EXAMPLE:
            # The importer read exactly what the seed's hand-typed values say.
            assert app.setup.connection == seed_connection()
        assert app.import_format == "strongswan"
        assert app.setup.choices.physical_interface == "eth0"  # the default-route interface

        await next_step(pilot, "forwarding")
        await pilot.click("#i-choices-enable_forwarding")
        await settle(pilot)
        assert app.setup.choices.enable_forwarding is False
        await pilot.click("#i-choices-enable_forwarding")
        await settle(pilot)
        assert app.setup.choices.enable_forwarding is True

        await next_step(pilot, "tunnel1")
        await type_into(pilot, "#i-tunnels-0-crypto-dpd_delay", "15")
        assert app.setup.tunnels[0].crypto.dpd_delay == 15
        await type_into(pilot, "#i-tunnels-0-crypto-ike_lifetime", "4h")
        assert app.setup.tunnels[0].crypto.ike_lifetime == 14400
        await type_into(pilot, "#i-tunnels-0-psk", "short")
        assert app.step_invalid("tunnel1")
        await type_into(pilot, "#i-tunnels-0-psk", "Replacement.key_1")
        assert app.setup.tunnels[0].psk.reveal() == "Replacement.key_1"
        assert not app.step_invalid("tunnel1")

        await next_step(pilot, "tunnel2")
        await type_into(pilot, "#i-tunnels-1-mark", "100")
        assert app.step_invalid("tunnel2")
        message = app.screen.query_one("#f-tunnels-1-mark .field-message", Static)
        assert "already used by Tunnel1" in str(message.content)
        await type_into(pilot, "#i-tunnels-1-mark", "300")
        assert app.setup.tunnels[1].mark == 300
        assert not app.step_invalid("tunnel2")
        await pilot.click("#i-tunnels-1-crypto-ike_version-2")
        await settle(pilot)
        assert app.setup.tunnels[1].crypto.ike_version == 2

        await next_step(pilot, "mode")
        await pilot.click("#i-choices-mode-updown")
        await settle(pilot)
        assert app.setup.choices.mode == "updown"
        assert app.step_invalid("vpc")  # updown needs a VPC CIDR

        await next_step(pilot, "interfaces")
        # 198.51.100.10 is on no canned interface: behind NAT by default, with eth0's address.
        assert app.setup.choices.local_ip == IPv4Address("192.0.2.10")
        await pilot.click("#i-choices-behind_nat")
        await settle(pilot)
        assert app.setup.choices.local_ip is None
        await pilot.click("#i-choices-behind_nat")
        await settle(pilot)
        assert app.setup.choices.local_ip == IPv4Address("192.0.2.10")  # eth0's address
        lan = app.screen.query_one("#i-choices-lan_interfaces", SelectionList)
        assert [lan.get_option_at_index(i).value for i in range(lan.option_count)] == [
            "eth1", "wlan0"]  # the WAN interface is not offered as a LAN
        await pilot.click("#i-choices-lan_interfaces", offset=(2, 0))
        await settle(pilot)
        assert app.setup.choices.lan_interfaces == ("eth1",)
        await pilot.click("#i-choices-physical_interface-eth1")
        await settle(pilot)
        assert app.setup.choices.physical_interface == "eth1"
        assert app.setup.choices.lan_interfaces == ()  # the new WAN left the LAN list
        await pilot.click("#i-choices-physical_interface-eth0")
        await settle(pilot)
        assert app.setup.choices.physical_interface == "eth0"

        await next_step(pilot, "vpc")
        await type_into(pilot, "#i-choices-vpc_cidrs", "10.0.0.1/16")
        assert "did you mean 10.0.0.0/16" in app.drafts["choices.vpc_cidrs"]
        await type_into(pilot, "#i-choices-vpc_cidrs", "10.0.0.0/16, 10.1.0.0/16")
        assert app.setup.choices.vpc_cidrs == (IPv4Network("10.0.0.0/16"),
                                               IPv4Network("10.1.0.0/16"))
        assert not app.step_invalid("vpc")

        await next_step(pilot, "persistence")
        await pilot.click("#i-choices-persistence-networkd")
        await settle(pilot)
        assert app.setup.choices.persistence == "networkd"
        assert "recreated by the updown script" in screen_text(app)

        await next_step(pilot, "heartbeat")
        await type_into(pilot, "#i-choices-heartbeat_interval", "10")
        assert app.setup.choices.heartbeat_interval == 10
        assert "169.254.23.5" in str(app.screen.query_one("#targets", Static).content)

        await next_step(pilot, "review")
        assert isinstance(app.screen, ReviewScreen)
        assert app.apply_blockers() == []
        plan = app.plan_or_none()
        assert plan is not None
        ids = [s.id for s in plan]
        assert "updown.script" in ids and "tunnel1.interface" not in ids
        assert "persistence.sysctl" in ids  # networkd keeps the kernel settings in sysctl.d
        text = screen_text(app)
        assert NOTHING_CHANGED in text
        assert "/etc/ipsec.conf" in text and "/etc/ipsec.d/aws-updown.sh" in text
        for key in (*SEED_PSKS, "Replacement.key_1"):
            assert key not in text
        assert str(app.screen.query_one("#next", Button).label) == "Dry run…"
        assert app.changed is False


async def test_keyboard_only_walk(tmp_path: Path) -> None:
    """The same flow without the mouse: Tab, Space, arrows, Enter, typing, ctrl+n."""
    app = make_app(tmp_path, import_path=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "import"
        assert isinstance(app.focused, Input) and app.focused.id == "import-path"
        await pilot.press(*EXAMPLE, "enter")
        await settle(pilot)
        assert app.setup is not None and app.setup.connection.vpn_connection_id == "vpn-0e1a2b3c"

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "forwarding"
        await pilot.press("space")
        await settle(pilot)
        assert app.setup.choices.enable_forwarding is False
        await pilot.press("space")
        await settle(pilot)
        assert app.setup.choices.enable_forwarding is True

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "tunnel1"
        assert app.focused is not None and app.focused.id == "i-tunnels-0-customer_outside_ip"
        # Enter moves to the next field, as in a form; four fields down is the PSK.
        await pilot.press("enter", "enter", "enter", "enter")
        assert app.focused is not None and app.focused.id == "i-tunnels-0-psk"
        await pilot.press("end", *"_x")
        await settle(pilot)
        assert app.setup.tunnels[0].psk.reveal() == "ExampleKey.One_1_x"
        await pilot.press("tab", "enter")  # Show
        await settle(pilot)
        assert app.screen.query_one("#i-tunnels-0-psk", Input).password is False
        await pilot.press("enter")  # Hide again
        await settle(pilot)
        assert app.screen.query_one("#i-tunnels-0-psk", Input).password is True
        # Show and Hide in one quick burst: no press may be dropped, or the key stays on
        # screen while the operator believes it hidden (Textual's Button drops presses
        # during its 0.2 s pressed effect; the reveal toggle has none).
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert app.screen.query_one("#i-tunnels-0-psk", Input).password is True

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "tunnel2"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "mode"
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.setup.choices.mode == "updown"

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "interfaces"
        assert app.setup.choices.local_ip == IPv4Address("192.0.2.10")  # behind NAT by default
        await pilot.press("tab", "space")  # behind NAT: off
        await settle(pilot)
        assert app.setup.choices.local_ip is None
        await pilot.press("space")  # and on again
        await settle(pilot)
        assert app.setup.choices.local_ip == IPv4Address("192.0.2.10")
        await pilot.press("tab", "tab", "space")  # past the private address, to the LAN list
        await settle(pilot)
        assert app.setup.choices.lan_interfaces == ("eth1",)
        await pilot.press("space")
        await settle(pilot)
        assert app.setup.choices.lan_interfaces == ()

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.current == "vpc"
        await pilot.press(*"10.20.0.0/16")
        await settle(pilot)
        assert app.setup.choices.vpc_cidrs == (IPv4Network("10.20.0.0/16"),)

        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        assert app.current == "heartbeat"
        await pilot.press("space")
        await settle(pilot)
        assert app.setup.choices.heartbeat is False

        await pilot.press("ctrl+p")
        await settle(pilot)
        assert app.current == "persistence"
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        assert app.current == "review"
        assert app.plan_or_none() is not None

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ApplyScreen)
        await wait_for(pilot, lambda: app.apply_finished, "the dry run")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, StatusStepScreen)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Nothing on this box was changed" in str(
            app.screen.query_one(".dialog-body", Static).content)
        await pilot.press("y")
        await settle(pilot)
    assert app.return_value == 0
    assert app.changed is False


async def test_dry_run_apply_writes_nothing(tmp_path: Path) -> None:
    """Every step recorded through the real engine; the target's files are left byte for byte."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "ipsec.conf").write_text("config setup\n\nconn other\n\tmark=7\n")
    (etc / "sysctl.conf").write_text("#net.ipv4.ip_forward=1\n")
    before = tree_digest(tmp_path)
    app = make_app(tmp_path, start="review")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        await pilot.click("#yes")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        await wait_for(pilot, lambda: screen.finished, "the dry run")
        await settle(pilot)
        plan = app.applying_plan
        assert plan is not None
        for step in plan:
            row = str(screen.query_one(f"#row-{step.id.replace('.', '-')}", Static).content)
            assert row.startswith("✓"), row
        text = screen_text(app)
        assert "Dry run complete: nothing on this box was changed." in text
        log = "\n".join(line.text for line in screen.query_one("#log", RichLog).lines)
        assert "What would run:" in log
        assert "ip link add Tunnel1 type vti" in log
        for key in (*SEED_PSKS, "ExampleKey.One_1", "ExampleKey.Two_2"):
            assert key not in log
        assert app.apply_result is not None and app.apply_result.ok
        assert app.changed is False
    assert tree_digest(tmp_path) == before


async def test_real_apply_under_a_root_is_kept_or_rolled_back(tmp_path: Path) -> None:
    """Not a dry run, on --root DIR (simulated kernel): files appear, Keep keeps them."""
    app = make_app(tmp_path, start="review", dry_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        await pilot.click("#yes")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        await wait_for(pilot, lambda: screen.deadline > 0 or screen.finished, "the apply")
        await settle(pilot)
        assert screen.deadline > 0, screen_text(app)
        assert "conn Tunnel1" in (tmp_path / "etc/ipsec.conf").read_text()
        assert app.changed is True
        # Next is refused until the operator decides.
        await pilot.click("#next")
        await settle(pilot)
        assert app.current == "apply"
        await pilot.click("#keep")
        await settle(pilot)
        assert screen.finished and "Confirmed: the changes are kept." in screen_text(app)
    assert "conn Tunnel1" in (tmp_path / "etc/ipsec.conf").read_text()
    secrets = tmp_path / "etc/ipsec.secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600


async def test_real_apply_rolled_back_on_request(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="review", dry_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        await pilot.click("#yes")
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        await wait_for(pilot, lambda: screen.deadline > 0, "the apply")
        await settle(pilot)
        await pilot.click("#revert")
        await wait_for(pilot, lambda: screen.finished, "the rollback")
        await settle(pilot)
        assert "every change was rolled back" in screen_text(app)
        assert app.changed is False
    assert not (tmp_path / "etc/ipsec.secrets").exists()


async def test_failing_host_blocks_apply_but_not_the_walk(tmp_path: Path) -> None:
    app = make_app(tmp_path, dry_run=False, host=BROKEN_HOST)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.step_invalid("welcome")
        for expected in ("import", "forwarding", "tunnel1"):
            await next_step(pilot, expected)
        app.goto("review")
        await settle(pilot)
        blockers = app.apply_blockers()
        assert any("sudo apt install iptables" in b for b in blockers)
        await pilot.click("#next")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)  # no confirm dialog: apply is blocked
        assert "Running as root" in str(app.screen.query_one("#nav-status", Static).content)


async def test_dry_run_blocks_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path, host=BROKEN_HOST, start="review")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.step_invalid("welcome")
        assert app.apply_blockers() == []


async def test_sidebar_jumps_and_locks(tmp_path: Path) -> None:
    app = make_app(tmp_path, import_path=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.goto("tunnel1")  # locked until a file is imported
        await settle(pilot)
        assert app.current == "welcome"
        assert [e.state for e in app.sidebar_entries("welcome")][2:] == ["locked"] * 11
        app.import_file(Path(EXAMPLE), label=EXAMPLE)
        app.goto("vpc")
        await settle(pilot)
        assert app.current == "vpc"
        states = {e.step_id: e.state for e in app.sidebar_entries("vpc")}
        assert states["vpc"] == "current" and states["welcome"] == "done"
        assert states["apply"] == "locked"  # only through the review


async def test_back_and_forth_keeps_drafts_and_values(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "#i-tunnels-0-aws_outside_ip", "203.0.113")
        assert "tunnels[0].aws_outside_ip" in app.drafts
        await next_step(pilot, "tunnel2")
        assert app.sidebar_entries("tunnel2")[3].state == "invalid"
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert app.screen.query_one("#i-tunnels-0-aws_outside_ip", Input).value == "203.0.113"
        assert app.plan_or_none() is None  # a draft never reaches the plan
        await type_into(pilot, "#i-tunnels-0-aws_outside_ip", "203.0.113.9")
        assert app.plan_or_none() is not None


async def test_help_and_quit_dialogs(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="vpc")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert app.current == "vpc" and app.is_running


async def test_save_answers(tmp_path: Path) -> None:
    """ctrl+s writes a 0600 answers file without the keys that replays to the same setup."""
    app = make_app(tmp_path / "root", start="vpc")
    target = tmp_path / "answers.toml"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "#i-choices-vpc_cidrs", "10.0.0.0/16")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SaveAnswersDialog)
        assert app.screen.query_one("#save-path", Input).value == "./vpn-wizard-answers.toml"
        await type_into(pilot, "#save-path", str(target))
        await pilot.press("enter")
        await settle(pilot)
        setup = app.setup
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert "ExampleKey" not in text
    answers = load_answers(target)
    assert answers.import_path is not None
    imported = load_aws(target.parent / answers.import_path)
    assert resolve(answers, imported).setup == setup


async def test_import_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "vpn.txt"
    text = (REPO / EXAMPLE).read_text().replace("right=203.0.113.1", "right=203.0.113", 1)
    bad.write_text(text)
    app = make_app(tmp_path / "root", import_path=None, start="import")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "#import-path", str(bad))
        await pilot.click("#load-file")
        await settle(pilot)
        assert app.setup is None
        assert app.import_error is not None and "line 41" in app.import_error
        assert "is not an IPv4 address" in screen_text(app)
        assert app.step_invalid("import")


async def test_last_step_opens_the_live_status_of_the_setups_tunnels(tmp_path: Path) -> None:
    """After the run, `s` opens the live panel for the tunnels of the setup just planned."""
    from status_fixtures import RecordedSource, snapshot_from_vici

    from screens.status import StatusScreen

    asked: list[object] = []

    def source(setup: object) -> RecordedSource:
        asked.append(setup)
        return RecordedSource(snapshot_from_vici("both_up"))

    app = make_app(tmp_path, start="review", status_source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        await pilot.click("#yes")
        await settle(pilot)
        apply_screen = app.screen
        await wait_for(pilot, lambda: apply_screen.finished, "the dry run")
        await pilot.click("#next")
        await settle(pilot)
        assert app.current == "status"
        assert not isinstance(app.screen, StatusScreen)  # a dry run does not open it by itself
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, StatusScreen)
        assert asked == [app.setup]
        assert "Tunnel1" in screen_text(app) and "ESTABLISHED" in screen_text(app)
