"""How many hostile cases the adversarial suite tried, by family.

Every property test in this folder calls `tried(family)` once per example,
so the run can print what was covered (issue 9: "it prints how many cases it
tried"). A count that stays at zero is itself a failure: see conftest.py.
"""

from __future__ import annotations

from run_figures import TRIED


def tried(family: str, n: int = 1) -> None:
    """Count `n` cases of `family` as tried."""
    TRIED[family] += n
