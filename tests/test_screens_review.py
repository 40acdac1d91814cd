"""Review and import at 80x24: a summary first, folded steps, whole values (issue 11, 9-11)."""

from __future__ import annotations

import io
import re
from ipaddress import IPv4Interface
from pathlib import Path

import pytest
from rich.console import Console
from screens_support import REPO, make_app
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Collapsible, Input, Select, Static
from textual.widgets._collapsible import CollapsibleTitle

from wizard import aws
from wizard.answers import resolve
from wizard.model import validate
from wizard.preview import problems_renderable
from wizard.wording import place, places

pytestmark = pytest.mark.asyncio

SMALL = (80, 24)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def drawn(widget: Widget) -> str:
    """Every line the widget draws at its size on screen, as plain text (scrolled or not)."""
    height = max(widget.virtual_size.height, widget.size.height)
    strips = widget.render_lines(Region(0, 0, widget.size.width, height))
    return "\n".join(strip.text for strip in strips)


def flat(text: str) -> str:
    """Lines joined with single spaces, the table rules dropped: a wrapped value reads whole."""
    return " ".join(re.sub(r"[│┃┆┊|]", " ", text).split())


# ---------------------------------------------------------------- item 10: nothing cut


@pytest.mark.parametrize("example", ["examples/aws-config.xml", "examples/aws-generic.txt",
                                     "examples/aws-strongswan-seed.txt"])
async def test_the_import_table_shows_every_value_whole_at_80x24(
    tmp_path: Path, example: str
) -> None:
    app = make_app(tmp_path, start="import", import_path=example)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        result = app.screen.query_one("#import-result", Static)
        shown = drawn(result)
        assert "…" not in shown, shown
        assert app.setup is not None
        text = flat(shown)
        for tunnel in app.setup.tunnels:
            for value in (tunnel.aws_outside_ip, tunnel.customer_inside_cidr,
                          tunnel.aws_inside_cidr):
                assert str(value) in text, (value, shown)
            for proposal in (*tunnel.crypto.ike.split(","), *tunnel.crypto.esp.split(",")):
                assert proposal.strip() in text.replace(", ", ","), (proposal, shown)


async def test_review_step_titles_are_whole_at_80x24(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="review")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        plan = app.plan_or_none()
        assert plan is not None
        titles = [flat(drawn(t)) for t in app.screen.query(CollapsibleTitle)]
        for number, step in enumerate(plan, start=1):
            assert any(f"{number}. {step.title}" in t for t in titles), (step.title, titles)
        assert not any("…" in t for t in titles)


async def test_a_long_status_beside_next_wraps_at_80x24(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.click("#use-recommended")
        await settle(pilot)
        status = app.screen.query_one("#nav-status", Static)
        message = str(status.content)
        assert len(message) > status.size.width, "pick a message longer than one line"
        assert flat(drawn(status)) == " ".join(message.split())


# ---------------------------------------------------------------- item 9: summary, folds, jump


async def test_review_opens_with_a_summary_and_folded_steps(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="review")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        plan = app.plan_or_none()
        assert plan is not None
        glance = flat(drawn(app.screen.query_one("#at-a-glance", Static)))
        assert f"{len(plan.steps)} steps" in glance
        for path in {c.path for s in plan for c in s.files if c.changed}:
            assert path in glance
        assert "After a reboot" in glance and "commands" in glance and "warnings" in glance
        folds = list(app.screen.query(".plan-step").results(Collapsible))
        assert len(folds) == len(plan.steps) and all(f.collapsed for f in folds)
        body = app.screen.query_one("#body", Widget)
        await settle(pilot)
        # the flat review was ~38 pages at 80x24: now a few
        assert body.virtual_size.height <= 4 * body.size.height, body.virtual_size


async def test_jump_to_a_file_opens_its_step_and_scrolls_to_it(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="review")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        jump = app.screen.query_one("#jump", Select)
        plan = app.plan_or_none()
        assert plan is not None
        number = next(n for n, s in enumerate(plan, start=1)
                      if any(c.path == "/etc/ipsec.secrets" for c in s.files))
        option = next(value for label, value in jump._options
                      if "/etc/ipsec.secrets" in str(label))
        jump.value = option
        await settle(pilot)
        fold = app.screen.query_one(f"#plan-step-{number}", Collapsible)
        assert not fold.collapsed
        body = app.screen.query_one("#body", Widget)
        assert body.scroll_offset.y > 0
        assert fold.region.y >= body.region.y and fold.region.y < body.region.bottom
        assert "/etc/ipsec.secrets" in drawn(fold.query_one(".plan-part", Static))


# ---------------------------------------------------------------- item 11: the operator's words


def test_field_paths_become_the_operators_words() -> None:
    assert places(["tunnels[0].crypto.ike", "tunnels[0].crypto.esp"]) == (
        "Tunnel 1, IKE and ESP proposals")
    assert places(["tunnels[0].crypto.ike", "tunnels[1].crypto.ike", "tunnels[0].crypto.esp",
                   "tunnels[1].crypto.esp"]) == "Tunnels 1 and 2, IKE and ESP proposals"
    assert place("tunnels[1].psk") == "Tunnel 2, pre-shared key"
    assert place("choices.vpc_cidrs[2]") == "VPC CIDRs"


def test_plan_problems_name_fields_in_words() -> None:
    """The seed's weak proposals, as `vpn-wizard plan` and the review list them."""
    setup = resolve(None, aws.load(REPO / "examples/aws-strongswan-seed.txt")).setup
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(problems_renderable(validate(setup)))
    out = console.export_text()
    assert "Tunnels 1 and 2, IKE and ESP proposals" in out
    assert "tunnels[" not in out and "crypto." not in out


async def test_the_review_blockers_drop_the_error_of_a_value_no_longer_typed(
    tmp_path: Path,
) -> None:
    """Interval 0 (out of range), then "abc": the review says only that "abc" is not a number."""
    app = make_app(tmp_path, start="heartbeat")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#i-choices-heartbeat_interval", Input)
        field.value = "0"
        await settle(pilot)
        assert any("1-3600" in line for line in app.apply_blockers())
        field.value = "abc"
        await settle(pilot)
        blockers = app.apply_blockers()
        assert any("whole number" in line for line in blockers), blockers
        assert not any("1-3600" in line for line in blockers), blockers


def test_the_inside_network_message_names_the_real_prefix() -> None:
    from dataclasses import replace

    setup = resolve(None, aws.load(REPO / "examples/aws-strongswan-seed.txt")).setup
    tunnel = replace(setup.tunnels[0], customer_inside_cidr=IPv4Interface("169.254.50.2/29"),
                     aws_inside_cidr=IPv4Interface("169.254.60.1/29"))
    setup = replace(setup, connection=replace(setup.connection,
                                              tunnels=(tunnel, setup.tunnels[1])))
    messages = [p.message for p in validate(setup) if p.where == "tunnels[0].aws_inside_cidr"]
    assert messages, "a different network must be refused"
    assert not any("same /30" in m for m in messages), messages
    assert any("169.254.50.0/29" in m for m in messages), messages


# ---------------------------------------------------------------- item 14: saving after a paste


@pytest.mark.parametrize("include_keys", [True, False])
async def test_saving_after_a_paste_tells_the_truth_about_the_keys(
    tmp_path: Path, include_keys: bool
) -> None:
    from textual.widgets import Checkbox, TextArea

    from screens.dialogs import SaveAnswersDialog
    from wizard import inputs
    from wizard.system.paths import Root

    root = tmp_path / "root"
    root.mkdir()
    app = make_app(root, import_path=None, start="import")
    target = tmp_path / "answers.toml"
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        app.screen.query_one("#paste", TextArea).text = (
            REPO / "examples/aws-strongswan-seed.txt").read_text()
        await pilot.click("#load-paste")
        await settle(pilot)
        assert app.setup is not None and app.import_path is None
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SaveAnswersDialog)
        said = str(dialog.query_one("#save-explain", Static).content)
        assert "come from the AWS file" not in said and "pasted" in said
        dialog.query_one("#save-path", Input).value = str(target)
        dialog.query_one("#save-keys", Checkbox).value = include_keys
        await pilot.click("#do-save")
        await settle(pilot)
        setup = app.setup
        notes = [n.message for n in app._notifications]
    saved = target.read_text()
    assert "come from the AWS file" not in saved
    if include_keys:
        assert any("with the pre-shared keys" in n for n in notes), notes
        replayed = inputs.load(None, str(target), Root(root)).setup
        assert replayed == setup
    else:
        assert any("--import" in n for n in notes), notes
        assert "--import" in saved
        assert all(t.psk.reveal() not in saved for t in setup.tunnels)


def test_manual_mode_restart_is_not_labelled_with_the_updown_section() -> None:
    import tempfile

    from wizard.plan import build_plan
    from wizard.system.paths import Root

    setup = resolve(None, aws.load(REPO / "examples/aws-strongswan-seed.txt")).setup
    assert setup.choices.mode == "manual"
    plan = build_plan(setup, Root(tempfile.mkdtemp()).read)
    restart = next(s for s in plan if s.id in ("strongswan.restart", "swanctl.load"))
    assert "Healthcheck" not in restart.seed_ref and "#1" in restart.seed_ref


async def test_the_xml_import_shows_aws_own_tunnel_order_in_the_table(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="import", import_path="examples/aws-config.xml")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.import_origins == ("ipsec_tunnel[2]", "ipsec_tunnel[1]")
        shown = drawn(app.screen.query_one("#import-result", Static))
        table = shown.split("note:")[0]  # the table, not the note under it
        assert "In the AWS file" in table
        assert table.index("ipsec_tunnel[2]") < table.index("ipsec_tunnel[1]")


def test_a_step_done_only_by_skipping_says_skipped_in_the_log() -> None:
    from screens.apply import log_line
    from wizard.apply import StepEvent

    line = log_line(StepEvent("heartbeat", "done", "skipped: dry run: unit not enabled"))
    assert line == "heartbeat: skipped: dry run: unit not enabled"
    assert log_line(StepEvent("forwarding", "done", "")) == "forwarding: done"
