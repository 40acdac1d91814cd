"""The step catalogue (wizard.steps) is the one list every front end and the docs draw from."""

from __future__ import annotations

import io

from rich.console import Console
from screens_support import CANNED_INTERFACES, EXAMPLE, REPO
from test_plain_mode import TypingPrompter

from screens.flow import FLOW
from wizard.commands.plain import ask_all
from wizard.model import PERSISTENCE, Choices, Setup
from wizard.questions import BY_STEP, QUESTIONS
from wizard.session import HostDefaults, Session
from wizard.steps import ASKING, BY_ID, STEPS, after_reboot, markdown
from wizard.system.paths import Root


def test_the_sidebar_is_the_catalogue() -> None:
    assert [(s.id, s.title, s.help) for s in FLOW] == [(s.id, s.title, s.help) for s in STEPS]


def test_every_question_belongs_to_a_step_of_the_catalogue() -> None:
    assert set(BY_STEP) <= set(BY_ID)
    assert all(q.step in BY_ID for q in QUESTIONS)
    assert [s.id for s in ASKING] == list(BY_STEP)


def test_plain_mode_heads_each_step_with_its_catalogue_title(tmp_path) -> None:
    import os

    os.chdir(REPO)
    session = Session(Root(tmp_path), host=HostDefaults.probe(Root(tmp_path), CANNED_INTERFACES))
    assert session.load(EXAMPLE, None)
    out = io.StringIO()
    ask_all(session, TypingPrompter({}), Console(file=out, width=100))
    headings = [line.strip("─ ").strip() for line in out.getvalue().splitlines()
                if line.startswith("─") or line.endswith("──────")]
    assert [h for h in headings if h] == [s.title for s in ASKING]


def test_docs_list_the_catalogue() -> None:
    assert markdown() in (REPO / "docs" / "steps.md").read_text(encoding="utf-8")


def _with(mode: str, persistence: str, heartbeat: bool = True) -> Setup:
    from dataclasses import replace

    from seed_setup import seed_setup

    setup = seed_setup()
    choices: Choices = replace(setup.choices, mode=mode, persistence=persistence,
                               heartbeat=heartbeat)
    return replace(setup, choices=choices)


def test_only_manual_mode_without_persistence_loses_the_tunnels_at_boot() -> None:
    for persistence in PERSISTENCE:
        for mode in ("manual", "updown"):
            rows = after_reboot(_with(mode, persistence))
            lost = [row.what for row in rows if not row.kept]
            expected = ["Tunnel interfaces, VPC routes, iptables rules"] if (
                mode, persistence) == ("manual", "none") else []
            assert lost == expected, (mode, persistence)
    assert not any(r.what == "Heartbeat" for r in after_reboot(_with("manual", "seed", False)))
