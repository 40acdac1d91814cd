"""Shared test setup: the seed's values importable as `seed_setup`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Snapshots live in the top-level snapshots/ folder (STYLE.md's recipe; it
# rebinds a name inside pytest-textual-snapshot, whose version is pinned).
import pytest_textual_snapshot

SNAPSHOT_ROOT = Path(__file__).resolve().parent.parent / "snapshots"


class TopLevelSVGExtension(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location):
        return str(SNAPSHOT_ROOT / test_location.basename)


pytest_textual_snapshot.SVGImageExtension = TopLevelSVGExtension
