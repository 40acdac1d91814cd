"""What a newcomer reads off the screen without colour or guessing (issue 11, items 8 and 10)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from rich.console import Console
from screens_support import REPO, make_app
from textual.pilot import Pilot
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    TextArea,
)

from screens.dialogs import HelpDialog
from wizard.crypto import RECOMMENDED

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def drawn(widget: Checkbox | RadioButton) -> str:
    """The toggle as the terminal shows it, without any colour."""
    return widget.render().plain


async def test_checkbox_state_is_in_the_glyph_not_only_the_colour(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="forwarding")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        box = app.screen.query_one(Checkbox)
        assert box.value is True
        assert "▐X▌" in drawn(box)
        box.focus()
        await pilot.press("space")
        await settle(pilot)
        assert box.value is False
        assert "▐ ▌" in drawn(box) and "X" not in drawn(box).split("▌")[0]


async def test_only_the_chosen_radio_button_is_marked(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="mode")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        sets = list(app.screen.query(RadioSet))
        assert sets
        for radio_set in sets:
            buttons = list(radio_set.query(RadioButton))
            assert len(buttons) >= 2
            marked = [b for b in buttons if "●" in drawn(b)]
            assert marked == [b for b in buttons if b.value] and len(marked) == 1


async def test_unselected_list_rows_show_an_empty_box(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="interfaces")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        selection = app.screen.query_one(SelectionList)
        rows = [selection.render_line(y).text for y in range(selection.option_count)]
        chosen = set(selection.selected)
        for index, row in enumerate(rows):
            value = selection.get_option_at_index(index).value
            assert row.startswith("▐X▌") == (value in chosen), row
            assert row.startswith("▐ ▌") == (value not in chosen), row


async def test_f1_teaches_the_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        body = str(app.screen.body)
        for key in ("Tab", "Space", "Enter", "Up, Down", "Ctrl+N", "Ctrl+Q"):
            assert key in body, key


async def test_quit_stays_in_the_footer_inside_a_text_field(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, Input)
        shown = {key: b for key, b in app.screen.active_bindings.items() if b.binding.show}
        assert "ctrl+q" in shown and shown["ctrl+q"].binding.description == "Quit"
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.screen.id == "confirm-quit"


async def test_back_and_next_stay_close_on_a_wide_terminal(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        back = app.screen.query_one("#back", Button).region
        nxt = app.screen.query_one("#next", Button).region
        assert nxt.right - back.x <= 110


async def test_a_parse_error_replaces_the_stale_problems_of_the_previous_value(
    tmp_path: Path,
) -> None:
    """Interval "0" is out of range; then "abc" must say only that it is not a number."""
    app = make_app(tmp_path, start="heartbeat")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#i-choices-heartbeat_interval", Input)
        field.value = "0"
        await settle(pilot)
        message = app.screen.query_one("#f-choices-heartbeat_interval .field-message", Static)
        range_error = str(message.content)
        assert range_error.strip(), "an interval of 0 must be refused"
        field.value = "abc"
        await settle(pilot)
        now = str(message.content)
        assert "whole number" in now
        assert range_error.strip("✗ \n") not in now


@pytest.mark.parametrize(("start", "field"), [
    ("persistence", "#i-choices-persistence"),
    ("interfaces", "#i-choices-lan_interfaces"),
    ("mode", "#i-choices-backend"),
])
async def test_the_hint_is_never_cut_at_80x24(tmp_path: Path, start: str, field: str) -> None:
    """The hint line shows the focused field's whole help, however long, at 80 columns."""
    app = make_app(tmp_path, start=start)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one(field).focus()
        await settle(pilot)
        hint = app.screen.query_one("#hint", Static)
        help_text = hint.visual.plain if hasattr(hint.visual, "plain") else str(hint.content)
        lines = textwrap.wrap(help_text, hint.content_region.width)
        assert len(lines) >= 3, "pick a field whose help is long"
        assert len(lines) <= hint.content_region.height, (lines, hint.content_region)


async def test_the_reboot_table_is_not_cut_at_80x24(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="persistence")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#reboot-table", Static)
        console = Console(width=table.content_region.width, record=True, color_system=None)
        console.print(table.content)
        assert "…" not in console.export_text()


async def test_heartbeat_off_shows_no_targets(tmp_path: Path) -> None:
    app = make_app(tmp_path, start="heartbeat")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        targets = app.screen.query_one("#targets", Static)
        assert targets.display and "169.254." in str(targets.content)
        app.screen.query_one("#i-choices-heartbeat", Checkbox).focus()
        await pilot.press("space")
        await settle(pilot)
        assert app.setup is not None and app.setup.choices.heartbeat is False
        assert not targets.display


async def test_a_paste_import_clears_the_old_path(tmp_path: Path) -> None:
    """After loading pasted text, the path field no longer names the file loaded before."""
    app = make_app(tmp_path, start="import")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        path = app.screen.query_one("#import-path", Input)
        assert path.value  # the example was loaded from a file
        area = app.screen.query_one("#paste", TextArea)
        area.text = (REPO / "examples" / "aws-generic.txt").read_text()
        app.screen.query_one("#load-paste", Button).press()
        await settle(pilot)
        assert app.import_path is None and app.import_error is None
        assert path.value == ""
        assert area.text == ""


async def test_the_recommended_proposals_are_offered_first_and_taken_only_when_asked(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert app.setup is not None
        imported = app.setup.tunnels[0].crypto
        assert imported.ike_version == 1  # the file's own settings stay the default
        button = app.screen.query_one("#use-recommended", Button)
        proposals = app.screen.query_one("#i-tunnels-0-crypto-ike", Input)
        assert button.region.y < proposals.region.y  # offered before the fields it fills
        button.press()
        await settle(pilot)
        crypto = app.setup.tunnels[0].crypto
        assert (crypto.ike_version, crypto.ike, crypto.esp) == (
            2, RECOMMENDED.ike, RECOMMENDED.esp)
        assert proposals.value == RECOMMENDED.ike
        assert app.setup.tunnels[1].crypto.ike_version == 1  # only this tunnel changed
