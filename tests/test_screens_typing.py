"""Every keystroke lands, in order, however fast it is typed (issue 11, item 12).

A terminal hands the app keys in bursts (a fast typist, a terminal replaying
input, a slow moment of the event loop). Textual inserts a printable key in
the Input at once, but an editing key (backspace, arrows, home) used to run
only after its event had bubbled up to the app: under a burst, text typed
after a backspace went in first and the backspace then deleted the wrong
character. These tests post keys the way the terminal driver does, without
waiting between them, then wait for the app to be idle and compare the field
with what was typed. Nothing here depends on how fast the machine is: the
5 ms between keys only makes bursts likely; the assertions wait for a state.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pytest
from screens_support import REPO, idle, make_app
from textual import events
from textual.app import App
from textual.keys import _character_to_key, _get_unicode_name_from_key
from textual.widgets import Input

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def key_event(key: str) -> events.Key:
    """A Key event as the terminal driver makes it ("a", "backspace", "full_stop" ...)."""
    if len(key) == 1:  # a character: the terminal sends the character itself
        return events.Key(key if key.isalnum() else _character_to_key(key), key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(key))
    except KeyError:
        char = None
    return events.Key(key, char)


async def burst(app: App[object], keys: Iterable[str], gap: float = 0.005) -> None:
    """Hand the app keys as the driver's input thread does: never waiting for them to land."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        driver.send_message(event)
        if gap:
            await asyncio.sleep(gap)




def backspaces(count: int) -> list[str]:
    return ["backspace"] * count


async def test_backspaces_in_a_burst_delete_what_was_typed_before_them(tmp_path: Path) -> None:
    """The issue's own sequence: two CIDRs, 30 backspaces, a new CIDR."""
    app = make_app(tmp_path, start="vpc")
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        field = app.screen.query_one("#i-choices-vpc_cidrs", Input)
        field.focus()
        await idle(pilot)
        await burst(app, [*"10.0.0.0/16, 10.1.0.0/16", *backspaces(30), *"10.2.0.0/16"], gap=0)
        await idle(pilot)
        assert field.value == "10.2.0.0/16"
        assert app.setup is not None
        assert [str(n) for n in app.setup.choices.vpc_cidrs] == ["10.2.0.0/16"]


async def test_a_hidden_key_typed_fast_is_kept_whole(tmp_path: Path) -> None:
    """Clear the imported key and type a 29-character one, hidden: all 29 arrive."""
    app = make_app(tmp_path, start="tunnel1")
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        field = app.screen.query_one("#i-tunnels-0-psk", Input)
        assert field.password
        field.focus()
        field.action_end()
        await idle(pilot)
        new_key = "Typed.fast_in_a_burst_29chars"
        assert len(new_key) == 29
        await burst(app, [*backspaces(len(field.value) + 3), *new_key], gap=0)
        await idle(pilot)
        assert field.value == new_key
        assert app.setup is not None
        assert app.setup.tunnels[0].psk.reveal() == new_key


async def test_several_hundred_keys_at_5ms_with_corrections_land_in_order(
    tmp_path: Path,
) -> None:
    """Hundreds of keys with backspaces, arrows and home/end mixed in: the field is exact."""
    app = make_app(tmp_path, start="vpc")
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        field = app.screen.query_one("#i-choices-vpc_cidrs", Input)
        field.focus()
        field.value = ""
        await idle(pilot)
        keys: list[str] = []
        expected = ""
        for n in range(24):
            cidr = f"10.{n}.0.0/16"
            # a typo, corrected at once
            keys += [*cidr[:-1], "x", "backspace", cidr[-1]]
            expected += cidr
            # a word typed, then walked over and removed from its end
            keys += [*"oops", "left", "left", "right", "right", *backspaces(4)]
            if n < 23:
                keys += [*", "]
                expected += ", "
        # jump home and back to the end: the last key must still go to the end
        keys += ["home", "end", *"  "]
        expected += "  "
        assert len(keys) > 500
        await burst(app, keys)
        await idle(pilot)
        assert field.value == expected
        assert app.setup is not None
        assert len(app.setup.choices.vpc_cidrs) == 24
