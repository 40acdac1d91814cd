"""One session under every front end: the TUI, plain mode and the CLI, given the same answers,
build the same plan and record the same run.

Each front end is driven as an operator drives it: the TUI through Pilot
(fields typed and clicked, Review → Dry run), plain mode through real
questionary prompts (tests/test_plain_mode.py's TypingPrompter), the CLI
through `vpn-wizard plan` and `vpn-wizard apply --dry-run` with an answers
file and the `--backend` flag. The plan is compared as each shows it (every
step's panel: files, diffs, commands), the run as each logs it.

The running `vpn-wizard` is made to look like a virtualenv's, so a front end
that writes the heartbeat unit with another path (the packaged default
/usr/local/bin/vpn-wizard, which such a box does not have) differs here.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from screens_support import CANNED_HOST, CANNED_INTERFACES, REPO, click, type_into
from test_plain_mode import TypingPrompter
from textual.widgets import Checkbox, SelectionList

from screens.app import WizardApp
from wizard.cli import main
from wizard.commands.plain import run_plain
from wizard.preview import render_plan
from wizard.questions import BY_ID
from wizard.system.paths import Root

EXAMPLE = REPO / "examples" / "aws-strongswan-seed.txt"
WIDTH = 120


def answers_for(mode: str, backend: str) -> dict[str, Any]:
    """One operator's answers by question id (every host-dependent one given explicitly)."""
    return {
        "choices.mode": mode,
        "choices.backend": backend,
        "choices.physical_interface": "eth0",
        "choices.behind_nat": True,
        "choices.local_ip": "192.0.2.10",
        "choices.vpc_cidrs": "10.0.0.0/16, 10.1.0.0/16",
        "choices.persistence": "netplan",
        "choices.heartbeat_interval": "10",
    }


def answers_file(path: Path, mode: str) -> Path:
    """The same answers as a file for the CLI (the backend comes as --backend)."""
    path.write_text(
        f'import = "{EXAMPLE}"\n\n[choices]\nmode = "{mode}"\nphysical_interface = "eth0"\n'
        'local_ip = "192.0.2.10"\n'
        'vpc_cidrs = ["10.0.0.0/16", "10.1.0.0/16"]\npersistence = "netplan"\n'
        "heartbeat_interval = 10\n", encoding="utf-8")
    return path


def panels(text: str) -> list[str]:
    """Every plan step's panel in a printed review (rounded boxes; tables use other corners)."""
    found, current = [], None
    for line in text.splitlines():
        if line.startswith("╭─"):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.startswith("╰─"):
                found.append("\n".join(current))
                current = None
    return found


def logged(text: str, start: str, end: re.Pattern[str]) -> list[str]:
    """The command lines printed between `start` and the first line matching `end`."""
    lines = text.splitlines()
    first = lines.index(start) + 1
    last = next(i for i in range(first, len(lines)) if end.match(lines[i]))
    return [line.strip() for line in lines[first:last]]


@pytest.fixture
def venv_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run as a virtualenv's vpn-wizard: its heartbeat unit must exec this very file."""
    command = tmp_path / "venv" / "bin" / "vpn-wizard"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(command)])
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    return str(command)


def cli(capsys: pytest.CaptureFixture[str], root: Path, answers: Path, backend: str
        ) -> tuple[str, str]:
    """`vpn-wizard plan` and `vpn-wizard apply --dry-run`: their stdout."""
    common = ["--root", str(root), "--answers", str(answers), "--backend", backend]
    assert main(["plan", *common]) == 0, capsys.readouterr().err
    plan = capsys.readouterr().out
    assert main(["apply", "--dry-run", *common]) == 0, capsys.readouterr().err
    return plan, capsys.readouterr().out


def plain(root: Path, answers: dict[str, Any]) -> str:
    """Plain mode, every prompt typed into; its whole output."""
    out = io.StringIO()
    args = argparse.Namespace(import_path=str(EXAMPLE), answers=None, root=str(root),
                              dry_run=True)
    code = run_plain(args, prompter=TypingPrompter(answers, apply=True),
                     console=Console(file=out, width=WIDTH), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    assert code == 0, out.getvalue()
    return out.getvalue()


async def tui(root: Path, answers: dict[str, Any]) -> tuple[str, list[str]]:
    """The TUI as `vpn-wizard` starts it, answered step by step, then Review → Dry run.

    Returns the plan it ran, printed as `vpn-wizard plan` prints one, and its run's log.
    """
    app = WizardApp(root=Root(root), dry_run=True, import_path=str(EXAMPLE), host=CANNED_HOST,
                    interfaces=CANNED_INTERFACES, cursor_blink=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        for question_id, value in answers.items():
            question = BY_ID[question_id]
            if app.current != question.step:
                app.goto(question.step)
                await pilot.pause()
            selector = f"#i-{question_id.replace('[', '-').replace('].', '-').replace('.', '-')}"
            if question.kind in ("text", "secret"):
                await type_into(pilot, selector, str(value))
            elif question.kind == "confirm":
                if app.screen.query_one(selector, Checkbox).value != value:
                    await click(pilot, selector)
            elif question.kind == "select":
                await click(pilot, f"{selector}-{value}")
            else:
                selection = app.screen.query_one(selector, SelectionList)
                for index in range(selection.option_count):
                    option = selection.get_option_at_index(index)
                    if (option.value in value) != (option.value in selection.selected):
                        await click(pilot, selector, offset=(2, index))
            await pilot.pause()
        assert not app.drafts, app.drafts
        app.goto("review")
        await pilot.pause()
        await click(pilot, "#next")
        await click(pilot, "#yes")
        for _ in range(2000):
            if app.apply_finished:
                break
            await pilot.pause(0.01)
        assert app.apply_finished
        plan, setup = app.applying_plan, app.setup
        assert plan is not None and setup is not None
        out = io.StringIO()
        console = Console(file=out, width=WIDTH)
        for part in render_plan(setup, plan):
            console.print(part)
        assert app.apply_outcome is not None
        return out.getvalue(), [line.strip() for line in app.apply_outcome.log]


@pytest.mark.parametrize("backend", ["stroke", "swanctl"])
@pytest.mark.parametrize("mode", ["manual", "updown"])
def test_tui_plain_and_cli_build_the_same_plan_and_run(
    tmp_path: Path, venv_command: str, capsys: pytest.CaptureFixture[str], mode: str,
    backend: str,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    answers = answers_for(mode, backend)
    cli_plan, cli_run = cli(capsys, root, answers_file(tmp_path / "answers.toml", mode), backend)
    plain_out = plain(root, answers)
    tui_plan, tui_log = asyncio.run(tui(root, answers))

    # The plan, step by step, as each front end shows it; the heartbeat unit among them.
    expected = panels(cli_plan)
    assert len(expected) >= 8
    assert any(f"ExecStart={venv_command} heartbeat" in panel for panel in expected), cli_plan
    assert panels(plain_out) == expected
    assert panels(tui_plan) == expected
    assert f"backend {backend}" in cli_plan or backend in cli_plan
    assert ("aws-updown.sh" in cli_plan) == (mode == "updown")

    # The run (a dry run through the recording System under the same --root), line by line.
    done = re.compile(r"^(Dry run|Step |Refused)")
    cli_log = logged(cli_run, "Would run:", done)
    assert cli_log and any("vpn-wizard-heartbeat" in line for line in cli_log)
    assert logged(plain_out, "Would run:", done) == cli_log
    assert tui_log == cli_log
    assert list(root.iterdir()) == []  # and none of them wrote a byte
