"""A hostile applied manifest on the box: `status` with no arguments says what and where.

The manifest is the desired state `vpn-wizard status` holds the live one
to. Whatever sits at its path (truncated JSON, a value of the wrong type, a
hostile string inside the answers, plain noise), `status` either reads a
setup from it or refuses with a message that starts with the file's path,
prints nothing raw from it, and never shows a traceback.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from injection_support import hostile, message_is_clear
from tally import tried

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from status_fixtures import lab_setup

from wizard.commands.status import EXIT_DOWN, EXIT_INVALID, run_status
from wizard.manifest import MANIFEST_PATH, AppliedManifest, manifest_text

GOOD = json.loads(manifest_text(AppliedManifest(
    lab_setup(), "t-1", "2026-11-29T03:00:00Z", "/usr/local/sbin/vpn-wizard")))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6,
)


@st.composite
def manifests(draw: st.DrawFn) -> str:
    """A manifest with one thing wrong: a key's value, a line of the answers, or all of it."""
    document: dict[str, Any] = dict(GOOD)
    how = draw(st.sampled_from(("value", "answers", "drop", "noise", "truncate")))
    if how == "value":
        document[draw(st.sampled_from(sorted(document)))] = draw(JSON_VALUES)
    elif how == "answers":
        lines = document["answers"].splitlines()
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = draw(hostile(lines[at]))
        document["answers"] = "\n".join(lines)
    elif how == "drop":
        del document[draw(st.sampled_from(sorted(document)))]
    elif how == "noise":
        return draw(st.text(max_size=60))
    text = json.dumps(document)
    if how == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))]
    return text


@settings(max_examples=60)
@given(manifests())
def test_a_hostile_manifest_is_read_or_refused_clearly(text: str) -> None:
    tried("status manifest")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MANIFEST_PATH.lstrip("/")
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        path.chmod(0o600)
        err = io.StringIO()
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stderr", err)
            code = run_status(Namespace(once=True, json=True, root=tmp, answers=None,
                                        import_path=None), out=out)
        if code == EXIT_INVALID:
            message = err.getvalue()
            assert message.startswith(f"error: {path}: "), message
            message_is_clear(message.strip())
        else:
            # Read: the simulated kernel under the root has no peer, so nothing is up.
            assert code == EXIT_DOWN, err.getvalue()
            assert json.loads(out.getvalue())["expected_from"] == "manifest"
