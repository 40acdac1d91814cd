"""The TUI offers uninstall on a box that has the wizard's setup: the same preview, asked, then run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from applykit import answers_text, cli, kernel, seeded_root, tree
from rich.console import Console
from screens_support import make_app, wait_for
from textual.widgets import Button, Static

from screens.uninstall import UninstallScreen
from wizard.manifest import MANIFEST_PATH
from wizard.system.paths import Root

pytestmark = pytest.mark.asyncio
SIZE = (110, 36)


def _configured(base: Path) -> tuple[Path, object]:
    root = seeded_root(base / "root")
    before = (tree(root.root), kernel(root))
    answers = base / "answers.toml"
    answers.write_text(answers_text())
    done = cli("apply", "--no-confirm", "--answers", str(answers), "--root", str(root.root))
    assert done.returncode == 0, done.stderr
    return root.root, before


def _text(screen: object) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for widget in screen.query(Static):  # type: ignore[attr-defined]
        console.print(widget.content)
    return console.export_text()



@pytest.mark.parametrize("dry_run", [False, True])
async def test_welcome_offers_uninstall_and_the_dialog_removes_what_it_showed(
    tmp_path: Path, dry_run: bool
) -> None:
    root, (files_before, kernel_before) = _configured(tmp_path)
    configured = (tree(root), kernel(Root(root)))
    app = make_app(root, import_path=None, dry_run=dry_run)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#uninstall")
        await wait_for(pilot, lambda: isinstance(app.screen, UninstallScreen), "the dialog", tries=600)
        dialog = app.screen
        assert isinstance(dialog, UninstallScreen) and dialog.plan is not None
        shown = _text(dialog)
        assert "Remove the wizard's blocks and files" in shown
        assert "ip link del Tunnel1" in shown
        assert "Nothing has been removed yet: this is a preview." in shown
        await pilot.click("#remove")
        await wait_for(pilot, lambda: not dialog.query_one("#keep", Button).disabled, "the run", tries=600)
        outcome = _text(dialog)
        if dry_run:
            assert "Dry run: nothing was changed. Would run:" in outcome
            assert "ip link del Tunnel1" in outcome.split("Would run:")[1]
        else:
            assert "Removed what the wizard had added." in outcome
        await pilot.click("#keep")
        await wait_for(pilot, lambda: not isinstance(app.screen, UninstallScreen), "close", tries=600)
    if dry_run:
        assert (tree(root), kernel(Root(root))) == configured
    else:
        assert tree(root) == files_before
        assert not (root / MANIFEST_PATH.lstrip("/")).exists()
        assert kernel(Root(root))["links"] == kernel_before["links"]


async def test_without_the_wizards_setup_welcome_offers_no_uninstall(tmp_path: Path) -> None:
    root = seeded_root(tmp_path / "root")
    app = make_app(root.root, import_path=None, dry_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query("#uninstall")
