"""No fixture pre-shared key may appear in any snapshot SVG (or the bench output)."""

from __future__ import annotations

from screens_support import REPO, REVEAL_DEMO_KEY, fixture_psks
from seed_setup import SEED_PSKS


def test_fixture_keys_are_known() -> None:
    keys = fixture_psks()
    assert set(SEED_PSKS) <= keys
    assert {"ExampleKey.One_1", "GenericKey.Alpha_1", "XmlKey.Charlie_1"} <= keys
    assert REVEAL_DEMO_KEY not in keys


def test_no_fixture_psk_in_any_snapshot() -> None:
    svgs = sorted((REPO / "snapshots").rglob("*.svg"))
    assert svgs, "no snapshots: run the snapshot tests first"
    keys = fixture_psks()
    leaks = [(svg.relative_to(REPO), key) for svg in svgs
             for key in keys if key in svg.read_text(encoding="utf-8")]
    assert leaks == []


def test_the_reveal_snapshot_really_reveals() -> None:
    """The guard above would be empty if the reveal toggle showed nothing."""
    revealed = REPO / "snapshots/test_screens_snapshots/test_tunnel1_psk_revealed.svg"
    assert REVEAL_DEMO_KEY in revealed.read_text(encoding="utf-8")
