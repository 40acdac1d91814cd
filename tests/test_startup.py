"""Start-up: the first frame waits for nothing it does not show (issue 13).

The TUI draws its welcome screen before the host probe (version commands,
files) has answered, says it is still checking, and refuses to apply until
the probe's checks are in; then the checks and the box's defaults appear.
`vpn-wizard plan` and the TUI's first frame do not import the engine, the
apply run or the status readers; the first frame does not import the plan's
types, the form widgets, the dialogs or the readers of formats it was not
given. The cycle collector is paused until the first frame, the first
screen is built with the width class Textual's first resize would give it,
and the focus goes once, straight to where the operator starts. Structure,
not timing: bench/tui_startup.py and bench/plan_bench.py give the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from screens_support import BROKEN_HOST, CANNED_HOST, CANNED_INTERFACES, EXAMPLE, REPO, wait_for
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Static
from textual.widgets._footer import FooterKey

from screens.app import WizardApp
from screens.base import StepScreen
from screens.flow import BY_ID as FLOW_BY_ID
from screens.widgets import StepFooter
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.system.host import HostFacts
from wizard.system.paths import Root

#: Modules no first frame and no `vpn-wizard plan` needs: the engine that applies, the
#: apply run, the adapters' simulation and recorders, the status readers.
NOT_AT_START = ("wizard.engine.transaction", "wizard.engine.adapters", "wizard.session.run",
                "wizard.apply", "wizard.system.simulated", "wizard.system.recording",
                "wizard.status.live")

#: Modules the welcome screen does not draw with, which once loaded before the first frame:
#: the plan's types and operations (the session named them), the form widgets with Textual's
#: inputs (the step frame named them), the dialogs, and the XML and TOML readers (an AWS
#: text download needs neither).
NOT_AT_FIRST_FRAME = ("wizard.plan_types", "wizard.operations", "wizard.aws.xml",
                      "xml.etree.ElementTree", "tomllib", "screens.fields", "screens.dialogs",
                      "screens.toggles", "textual.widgets._text_area",
                      "textual.widgets._radio_set", "textual.widgets._selection_list",
                      "textual.widgets._checkbox")

#: Runs the TUI as `vpn-wizard --dry-run --import` does, to its first frame (the welcome
#: screen mounted, focused and drawn), and prints what the test asks of that moment as JSON.
FIRST_FRAME = """
import gc, json, sys, tempfile

try:
    from wizard.cli import import_tui
except ImportError:  # a wizard without it imports the TUI directly
    import screens.app
else:
    import_tui()
paused_for_imports = not gc.isenabled()
from screens.app import WizardApp
from screens.base import StepScreen
from wizard.system.host import HostFacts
from wizard.system.paths import Root

seen = {"paused_for_imports": paused_for_imports}


class FirstFrame(WizardApp):
    def on_mount(self):
        self._waiting = self.set_interval(0.01, self._check)

    def _check(self):
        screen = self.screen
        if isinstance(screen, StepScreen) and screen.is_mounted and self.focused:
            self._waiting.stop()
            seen["paused_when_mounted"] = not gc.isenabled()
            screen.call_after_refresh(self._drawn)

    def _drawn(self):
        seen["modules"] = sorted(sys.modules)
        self.call_after_refresh(self._after)

    def _after(self):
        seen["collecting_after"] = gc.isenabled()
        seen["frozen_after"] = gc.get_freeze_count()
        self.exit()


app = FirstFrame(root=Root(tempfile.mkdtemp()), dry_run=True, import_path=sys.argv[1],
                 host=HostFacts, interfaces=())
app.run(headless=True, size=(100, 32))
seen["collecting_at_exit"] = gc.isenabled()
seen["frozen_at_exit"] = gc.get_freeze_count()
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def first_frame() -> dict[str, object]:
    """What a fresh `vpn-wizard --dry-run --import` process holds at its first frame."""
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME, EXAMPLE], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout
    seen: dict[str, object] = json.loads(out.splitlines()[-1])
    return seen


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


def test_the_first_frame_loads_only_what_it_draws(first_frame: dict[str, object]) -> None:
    loaded = set(first_frame["modules"])  # type: ignore[call-overload]
    assert "screens.welcome" in loaded  # it did draw the welcome screen
    assert not loaded & set(NOT_AT_FIRST_FRAME), sorted(loaded & set(NOT_AT_FIRST_FRAME))
    assert not loaded & set(NOT_AT_START), sorted(loaded & set(NOT_AT_START))


def test_the_collector_is_paused_until_the_first_frame(first_frame: dict[str, object]) -> None:
    """Start-up makes objects that live as long as the app: no collection walks them before
    the first frame, none walks them again after it (frozen), and the app hands them back."""
    assert first_frame["paused_for_imports"] is True
    assert first_frame["paused_when_mounted"] is True
    assert first_frame["collecting_after"] is True
    assert first_frame["frozen_after"] > 0  # type: ignore[operator]
    assert first_frame["collecting_at_exit"] is True
    assert first_frame["frozen_at_exit"] == 0


def _welcome_app(tmp_path: Path) -> WizardApp:
    """The wizard as `vpn-wizard --dry-run --import` starts it, on canned host facts."""
    return WizardApp(root=Root(tmp_path), dry_run=True, import_path=EXAMPLE, host=CANNED_HOST,
                     interfaces=CANNED_INTERFACES, cursor_blink=False,
                     heartbeat_command=DEFAULT_COMMAND)


async def _until_welcome(pilot: Any, app: WizardApp) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, StepScreen)
                   and app.screen.is_mounted and app.focused is not None,
                   "the welcome screen, focused")


@pytest.mark.asyncio
@pytest.mark.parametrize(("size", "width_class"), [((100, 32), "-wide"), ((80, 24), "-narrow")])
async def test_a_step_screen_is_built_with_its_width_class(
        tmp_path: Path, size: tuple[int, int], width_class: str) -> None:
    """Textual's first resize then changes no class of the screen, so the first frame's
    widgets are styled once, not once without the class and again with it."""
    app = _welcome_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, StepScreen)
                       and app.screen.is_mounted, "the welcome screen")
        step = FLOW_BY_ID["import"]
        screen = step.make(step)  # as the app builds it, before it is mounted or resized
        assert width_class in screen.classes
        assert width_class in app.screen.classes  # what Textual's resize gave the first one


@pytest.mark.asyncio
async def test_the_focus_goes_once_to_where_the_operator_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each move of the focus restyles widgets and re-lists the footer's keys: before the
    first frame it moves once, to the first thing to answer (here Next), never via the
    sidebar first."""
    moves: list[str] = []
    set_focus = Screen.set_focus

    def recording(screen: Screen[object], widget: Widget | None, *args: object,
                  **kwargs: object) -> None:
        if widget is not None and widget is not screen.focused:
            moves.append(widget.id or type(widget).__name__)
        set_focus(screen, widget, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Screen, "set_focus", recording)
    app = _welcome_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await _until_welcome(pilot, app)
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "next"
        assert moves == ["next"]


@pytest.mark.asyncio
async def test_the_footer_lists_its_keys_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's footer composes empty, then again for every move of the focus (each time
    mounting a widget per key and drawing the screen again); the step footer lists the
    keys when it is composed, and the first frame has them."""
    listings: list[int] = []
    compose = Footer.compose

    def counting(footer: Footer) -> ComposeResult:
        keys = list(compose(footer))
        if keys:
            listings.append(len(keys))
        yield from keys

    monkeypatch.setattr(Footer, "compose", counting)
    app = _welcome_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await _until_welcome(pilot, app)
        await pilot.pause()
        shown = [key.key for key in app.screen.query(FooterKey)]
        assert sorted(shown) == ["ctrl+n", "ctrl+p", "ctrl+q", "ctrl+s", "f1"]
        assert listings == [5]
        await pilot.press("ctrl+n")  # the next step: a new screen, its own footer, once
        await wait_for(pilot, lambda: app.screen.id == "import" and app.screen.is_mounted,
                       "the import step")
        await pilot.pause()
        assert listings == [5, 5]


@pytest.mark.asyncio
async def test_the_footer_lists_keys_again_when_they_change() -> None:
    """A widget whose own key is shown: focusing it and leaving it re-lists the footer."""

    class Shown(Static, can_focus=True):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+r", "reveal", "Reveal")]

    class Keys(App[None]):
        ENABLE_COMMAND_PALETTE = False
        BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit")]

        def compose(self) -> ComposeResult:
            yield Button("Plain", id="plain")
            yield Shown("shown", id="shown")
            yield StepFooter()

    def keys(app: App[None]) -> list[str]:
        return [key.key for key in app.screen.query(FooterKey)]

    app = Keys()
    async with app.run_test(size=(60, 10)) as pilot:
        app.set_focus(app.query_one("#plain", Button))
        await wait_for(pilot, lambda: keys(app) == ["ctrl+q"], "the app's key")
        app.set_focus(app.query_one("#shown", Shown))
        await wait_for(pilot, lambda: keys(app) == ["ctrl+r", "ctrl+q"], "the widget's key too")
        app.set_focus(app.query_one("#plain", Button))
        await wait_for(pilot, lambda: keys(app) == ["ctrl+q"], "the app's key alone again")


@pytest.mark.asyncio
async def test_the_first_screen_shows_the_model_once(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Mounting shows the model; Textual's first resume, right after, has nothing new to show.
    A kept screen shown again (a later resume) does show the model as it is then."""
    shown: list[str] = []
    refresh_state = StepScreen.refresh_state

    def recording(screen: StepScreen) -> None:
        shown.append(screen.step.id)
        refresh_state(screen)

    monkeypatch.setattr(StepScreen, "refresh_state", recording)
    app = _welcome_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await _until_welcome(pilot, app)
        await pilot.pause()
        assert shown == ["welcome"]
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.id == "import" and app.screen.is_mounted,
                       "the import step")
        await pilot.pause()
        await pilot.press("ctrl+p")  # back to the kept welcome screen: shown again
        await wait_for(pilot, lambda: app.screen.id == "welcome", "the welcome screen again")
        await pilot.pause()
        assert shown == ["welcome", "import", "welcome"]
