"""Start-up: the first frame waits for nothing it does not show (issue 13).

The TUI draws its welcome screen before the host probe (version commands,
files) has answered, says it is still checking, and refuses to apply until
the probe's checks are in; then the checks and the box's defaults appear.
`vpn-wizard plan` and the TUI's first frame do not import the engine, the
apply run or the status readers. Structure, not timing: bench/tui_startup.py
and bench/plan_bench.py give the figures.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from screens_support import BROKEN_HOST, CANNED_INTERFACES, EXAMPLE, REPO, wait_for
from textual.widgets import Static

from screens.app import WizardApp
from screens.base import StepScreen
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.system.host import HostFacts
from wizard.system.paths import Root

#: Modules no first frame and no `vpn-wizard plan` needs: the engine that applies, the
#: apply run, the adapters' simulation and recorders, the status readers.
NOT_AT_START = ("wizard.engine.transaction", "wizard.engine.adapters", "wizard.session.run",
                "wizard.apply", "wizard.system.simulated", "wizard.system.recording",
                "wizard.status.live")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.asyncio
async def test_the_first_frame_does_not_wait_for_the_host_probe(tmp_path: Path) -> None:
    released = threading.Event()
    probed = threading.Event()
    swanctl_box = replace(BROKEN_HOST, starter=False, swanctl=True, charon_systemd=True)

    def slow_probe() -> HostFacts:
        probed.set()
        released.wait(timeout=60)
        return swanctl_box

    app = WizardApp(root=Root(tmp_path), dry_run=False, import_path=EXAMPLE, host=slow_probe,
                    interfaces=CANNED_INTERFACES, cursor_blink=False,
                    heartbeat_command=DEFAULT_COMMAND)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, StepScreen)
                           and app.screen.is_mounted and probed.is_set(), "the welcome screen")
            verdict = app.screen.query_one("#verdict", Static)
            assert "Checking this box" in str(verdict.render())
            assert any("still being checked" in line for line in app.session.apply_blockers())
            released.set()
            await wait_for(pilot, lambda: not app.session.probing, "the probe's answer")
            await wait_for(pilot, lambda: "Applying is blocked" in str(
                app.screen.query_one("#verdict", Static).render()), "the checks on screen")
            assert not any("still being checked" in line
                           for line in app.session.apply_blockers())
            assert app.setup is not None
            # The box's default arrived with the facts: a swanctl-only box gets swanctl.
            assert app.setup.choices.backend == "swanctl"
            assert app.session.sources["choices.backend"] == "detected"
    finally:
        released.set()


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                          "print('\\n'.join(m for m in sys.modules if m.startswith('wizard')))"],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    return set(out.split())


def test_the_tuis_first_screen_imports_no_engine() -> None:
    loaded = _loaded_after("import screens.app\nfrom screens.flow import BY_ID\n"
                           "import screens.welcome")
    assert not loaded & set(NOT_AT_START), sorted(loaded & set(NOT_AT_START))
    assert "wizard.plan" not in loaded  # built when a step needs it


def test_plan_imports_no_engine() -> None:
    loaded = _loaded_after(
        "import contextlib, io\nfrom wizard.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main(['plan', '--import', {EXAMPLE!r}])")
    assert "wizard.plan" in loaded  # it did plan
    assert not loaded & set(NOT_AT_START), sorted(loaded & set(NOT_AT_START))
