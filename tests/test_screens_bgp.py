"""Issue 9 item 12 in the full-screen wizard: a BGP file is refused on the Import step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console
from screens_support import make_app, type_into
from textual.widgets import Static

from screens.app import WizardApp

SIZE = (100, 32)
GENERIC_BGP = Path(__file__).resolve().parent / "data" / "aws-generic-bgp.txt"
pytestmark = pytest.mark.asyncio


def _screen_text(app: WizardApp) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return " ".join(console.export_text().split())


async def test_importing_a_bgp_file_shows_why_it_is_refused_on_the_import_step(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path / "root", import_path=None, start="import")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_into(pilot, "#import-path", str(GENERIC_BGP))
        await pilot.click("#load-file")
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        assert app.setup is not None and app.setup.connection.routing == "dynamic"
        assert app.step_invalid("import")
        text = _screen_text(app)
        assert "dynamic routing with BGP" in text
        assert "static routing" in text
