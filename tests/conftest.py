"""Shared test setup: the seed's values importable as `seed_setup`, snapshots at the top
level, and the parallel run (lab groups first, figures gathered from every worker)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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


# ---------------------------------------------------------------- the run, in parallel
#
# tests/run.sh runs the suite with pytest-xdist (`-n 3 --dist loadgroup`): the
# boot lab and the other lab modules, in two groups, each stay together on one
# worker (a lab is booted once per module and its scenarios build on each
# other), and every other test is shared out one by one. The three lab groups
# are the longest and are handed out first (loadgroup schedules the biggest
# groups first; the order below makes it so without reordering too); the rest
# fills the time the labs spend waiting on boots, DPD and confirm timers.

import run_figures  # noqa: E402

LAB_GROUPS = {"test_boot_lab.py": "boot-lab", "test_swanctl_lab.py": "lab-2",
              "test_status_lab.py": "lab-2", "test_bgp_lab.py": "lab-2"}
"""Lab modules' worker groups, the run's three longest parts; every other lab module is in "lab"."""


def _lab_group(item: pytest.Item) -> str | None:
    path = Path(str(item.fspath))
    if path.parent.name != "lab":
        return None
    return LAB_GROUPS.get(path.name, "lab")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the lab for xdist and put it first: its groups are the run's critical path.

    tryfirst: xdist's worker turns the xdist_group marks into node ids in its
    own hook, which must see the marks added here.
    """
    for item in items:
        group = _lab_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    rank = {"boot-lab": 0, "lab": 1, "lab-2": 2}
    items.sort(key=lambda item: rank.get(_lab_group(item) or "", 3))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its figures to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["vpn_wizard_figures"] = run_figures.dump()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    payload = getattr(node, "workeroutput", {}).get("vpn_wizard_figures")
    if payload:
        run_figures.merge(payload)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The lab's measured figures and the adversarial case counts, in every run."""
    if run_figures.TIMINGS:
        terminalreporter.write_sep("-", "lab timings")
        for label, seconds in run_figures.TIMINGS:
            terminalreporter.write_line(f"{seconds:7.2f} s  {label}")
    if run_figures.TRIED:
        terminalreporter.write_sep("-", "adversarial cases tried")
        for family, count in sorted(run_figures.TRIED.items()):
            terminalreporter.write_line(f"{count:8d}  {family}")
        terminalreporter.write_line(f"{sum(run_figures.TRIED.values()):8d}  in all")
