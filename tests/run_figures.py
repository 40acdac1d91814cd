"""Figures a run prints at its end, gathered from every pytest-xdist worker.

The lab's measured durations and the adversarial suite's case counts are
recorded where they happen, which under `pytest -n` is a worker process; the
summary is printed by the controller. Each worker hands its figures over
through xdist's `workeroutput` when it finishes (tests/conftest.py), so a
parallel run prints the same sections a serial one does.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

TIMINGS: list[tuple[str, float]] = []
"""(label, seconds) measured by the lab; printed, never asserted on."""

TRIED: Counter[str] = Counter()
"""Hostile cases tried by the adversarial suite, by family."""


def dump() -> str:
    """This process's figures, for the controller."""
    return json.dumps({"timings": TIMINGS, "tried": dict(TRIED)})


def merge(payload: str) -> None:
    """Add a worker's figures to this process's."""
    data: dict[str, Any] = json.loads(payload)
    TIMINGS.extend((str(label), float(seconds)) for label, seconds in data.get("timings", []))
    TRIED.update({str(k): int(v) for k, v in data.get("tried", {}).items()})
