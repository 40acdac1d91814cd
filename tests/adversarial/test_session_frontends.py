"""Any answers, given field by field (as the TUI and plain mode do) or as a file plus flags (as the
CLI does), make one Session build the same plan, or refuse the same answer.

The fixed example of tests/test_one_session.py drives the three faces for
real; this property drives the session the way each face feeds it, over many
combinations of choices, including answers that do not parse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tally import tried

from wizard.model import BACKENDS, MODES, PERSISTENCE
from wizard.plan_json import plan_document
from wizard.session import HostDefaults, Session
from wizard.system.paths import Root

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws-strongswan-seed.txt"
HEARTBEAT = "/opt/venv/bin/vpn-wizard"

CIDRS = st.lists(st.sampled_from(["10.0.0.0/16", "10.1.0.0/16", "172.16.0.0/12",
                                  "10.0.0.1/16", "300.1.0.0/16"]), max_size=3, unique=True)
CHOICES = st.fixed_dictionaries({
    "mode": st.sampled_from(MODES),
    "backend": st.sampled_from(BACKENDS),
    "persistence": st.sampled_from(PERSISTENCE),
    "heartbeat": st.booleans(),
    "heartbeat_interval": st.sampled_from(["5", "10", "3600", "0", "abc"]),
    "vpc_cidrs": CIDRS,
    "enable_forwarding": st.booleans(),
})


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def by_fields(root: Root, choices: dict[str, Any]) -> Session:
    """The session as a screen or a prompt feeds it: one answer per question."""
    session = Session(root, host=HostDefaults(), heartbeat_command=HEARTBEAT)
    assert session.load(EXAMPLE, None)
    for key, value in choices.items():
        answer = ", ".join(value) if key == "vpc_cidrs" else value
        session.answer(f"choices.{key}", answer)
    return session


def by_file(root: Root, tmp: Path, choices: dict[str, Any]) -> Session | None:
    """The session as the CLI feeds it: an answers file, then --backend/--persistence."""
    lines = [f"import = {json.dumps(str(EXAMPLE))}", "[choices]"]
    for key in ("mode", "heartbeat", "vpc_cidrs", "enable_forwarding"):
        lines.append(f"{key} = {_toml(choices[key])}")
    interval = choices["heartbeat_interval"]
    lines.append(f"heartbeat_interval = {interval if interval.isdigit() else _toml(interval)}")
    path = tmp / "answers.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    session = Session(root, host=HostDefaults(), heartbeat_command=HEARTBEAT,
                      answers_path=str(path))
    if not session.load(None, path):
        return None
    assert not session.take_flags({"choices.backend": choices["backend"],
                                   "choices.persistence": choices["persistence"]})
    return session


@settings(max_examples=60)
@given(choices=CHOICES)
def test_field_by_field_and_file_plus_flags_agree(tmp_path_factory: Any,
                                                  choices: dict[str, Any]) -> None:
    tried("session-frontends")
    tmp = tmp_path_factory.mktemp("answers")
    root = Root(str(tmp_path_factory.mktemp("root")))
    fields = by_fields(root, choices)
    filed = by_file(root, tmp, choices)
    plan = fields.plan()
    if filed is None:  # the file's reader refused an answer the field kept as a draft
        # (a hidden question's draft, e.g. the interval with the heartbeat off, blocks nothing)
        assert fields.drafts or fields.apply_blockers()
        return
    assert (plan is None) == (filed.plan() is None), (fields.apply_blockers(),
                                                      filed.apply_blockers())
    if plan is None:
        return
    other = filed.plan()
    assert other is not None and fields.setup == filed.setup
    document = json.dumps(plan_document(fields.setup, plan), sort_keys=True)
    assert document == json.dumps(plan_document(filed.setup, other), sort_keys=True)
    if fields.setup is not None and fields.setup.choices.heartbeat:
        assert f"ExecStart={HEARTBEAT} heartbeat" in document


