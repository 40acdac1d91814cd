"""The full-screen wizard: screens, navigation and dialogs around one `wizard.session.Session`.

The app asks its session for everything the core decides (the model, where
each value came from, problems per step, apply blockers, the plan) and hands
the run to a `wizard.session.ApplyRun`; it only draws and navigates. Screens
read the session's state through the app's attributes of the same names.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.reactive import reactive
from textual.screen import ModalScreen

from screens.base import StepScreen
from screens.flow import BY_ID as FLOW_BY_ID
from screens.flow import FLOW
from screens.navigation import StepNavigation
from screens.safe import TerminalSafeFilter
from wizard.model import Problem, Setup
from wizard.preflight import host_checks
from wizard.questions import Question, Value
from wizard.safe_text import printable
from wizard.session.host import HostDefaults
from wizard.session.state import Session
from wizard.system.host import HostFacts
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

if TYPE_CHECKING:
    # Only what the first frame needs is imported before it: the apply run, the
    # status readers and the previews load when their step opens, the dialogs (and
    # the input widgets they hold) when one opens.
    from screens.dialogs import SaveRequest
    from wizard.apply import ApplyResult
    from wizard.plan_types import Plan
    from wizard.session.run import ApplyRun, Outcome
    from wizard.status.sources import StatusSource

T = TypeVar("T")


class _Shared(Generic[T]):
    """An app attribute that is the session's: screens read `wizard.setup`, the session holds it."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, app: Any, owner: type | None = None) -> T:
        return getattr(app.session, self.name)  # type: ignore[no-any-return]


class WizardApp(StepNavigation, App[int]):
    """vpn-wizard's TUI: thirteen steps from the AWS file to an applied (or recorded) plan."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "vpn-wizard"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+p", "back", "Back"),
        Binding("f1", "help", "Help"),
        Binding("ctrl+s", "save", "Save answers"),
        # ctrl+q is the Quit the footer shows: it works inside a text field too, where
        # q is a letter. Plain q stays as a shortcut everywhere else.
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "request_quit", "Quit", show=False),
    ]

    current: reactive[str] = reactive("welcome", init=False)
    """The id of the step on screen."""

    setup: _Shared[Setup | None] = _Shared()
    root: _Shared[Root] = _Shared()
    dry_run: _Shared[bool] = _Shared()
    checks: _Shared[list[Any]] = _Shared()
    context: _Shared[Any] = _Shared()
    drafts: _Shared[dict[str, str]] = _Shared()
    ui_answers: _Shared[dict[str, Value]] = _Shared("answers")
    problems: _Shared[list[Problem]] = _Shared()
    import_path: _Shared[Path | None] = _Shared()
    import_label: _Shared[str] = _Shared()
    import_format: _Shared[str | None] = _Shared()
    import_notes: _Shared[tuple[str, ...]] = _Shared()
    import_origins: _Shared[tuple[str, ...]] = _Shared()
    detected_reason: _Shared[Callable[[str], str | None]] = _Shared()
    import_error: _Shared[str | None] = _Shared()
    import_file: _Shared[Callable[..., bool]] = _Shared()
    import_text: _Shared[Callable[[str], bool]] = _Shared()
    start_by_hand: _Shared[Callable[[], None]] = _Shared()
    by_hand: _Shared[bool] = _Shared()
    field_value: _Shared[Callable[[Question], Value]] = _Shared()
    answer: _Shared[Callable[[str, Value], None]] = _Shared()
    active_drafts: _Shared[Callable[[], dict[str, str]]] = _Shared()
    step_problems: _Shared[Callable[[str], list[Problem]]] = _Shared()
    plan_or_none: _Shared[Callable[[], Plan | None]] = _Shared("plan")
    apply_blockers: _Shared[Callable[[], list[str]]] = _Shared()

    def __init__(
        self,
        *,
        root: Root | None = None,
        dry_run: bool = False,
        import_path: str | None = None,
        answers_path: str | None = None,
        host: HostFacts | Callable[[], HostFacts],
        interfaces: Sequence[HostInterface] | Callable[[], Sequence[HostInterface]] = (),
        cursor_blink: bool = True,
        start: str = "welcome",
        heartbeat_command: str | None = None,
        status_source: Callable[[Setup | None], StatusSource] | None = None,
    ) -> None:
        """Set up the wizard.

        Args:
            root: the target's `/` (`--root`); files are read from it.
            dry_run: record instead of applying; nothing is blocked.
            import_path: the AWS file given on the command line.
            answers_path: the answers file given on the command line.
            host: the probe's facts (canned in tests): the preflight checks and the
                defaults the box proposes; or a function that probes (`run_app`): it
                then runs in a thread after the first frame (it runs `ipsec --version`
                and friends), and applying waits for it (`Session.probing`).
            interfaces: the host's interfaces (canned in tests), or a function that
                lists them; it then runs in a thread after the first frame, because
                netlink's library alone takes longer to import than the welcome
                screen takes to draw.
            cursor_blink: off in tests, so snapshots do not depend on timing.
            start: the first step to show (tests open a step directly).
            heartbeat_command: the `vpn-wizard` path the heartbeat unit runs; None
                lets the session find the running installation (snapshots pin it).
            status_source: makes the live status source for the last step
                (recorded data in tests); None reads the target (`open_status`:
                this box, or the --root's simulated kernel; recording in a dry run).
        """
        super().__init__()
        root = root or Root("/")
        listed = () if callable(interfaces) else tuple(interfaces)
        if callable(host):
            self.session = Session(root, dry_run=dry_run,
                                   host=HostDefaults(),
                                   heartbeat_command=heartbeat_command, answers_path=answers_path)
            self.session.probing = True
            if listed:
                self.session.interfaces_found(listed)
        else:
            self.session = Session(root, dry_run=dry_run,
                                   host=HostDefaults.probe(root, listed, facts=host),
                                   checks=host_checks(host, dry_run=dry_run),
                                   heartbeat_command=heartbeat_command,
                                   answers_path=answers_path)
        """Everything the operator said and what the core makes of it."""
        self._probe_host = host if callable(host) else None
        self._list_interfaces = interfaces if callable(interfaces) else None
        self.cursor_blink = cursor_blink
        self.start_step = start
        self._status_source = status_source
        self.visited: set[str] = set()
        self.apply_run: ApplyRun | None = None
        """The run the review started (its plan is frozen), None before."""
        self.apply_outcome: Outcome | None = None
        """How the run ended, once it has."""
        self.changed = False
        """True once a real apply may have changed the box (the quit dialog says so)."""
        self._collector_paused = False
        """`run_async` paused the cycle collector; the first frame restarts it."""
        if import_path or answers_path:
            self.session.load(import_path, answers_path)

    async def run_async(self, **options: Any) -> int | None:
        """Run the app with the cycle collector paused until the first frame is on the screen.

        What start-up makes (the widget tree, its styles, the session) lives as
        long as the app; collecting meanwhile only walks it, at the operator's
        expense. After the first frame the collector runs again, with those
        objects frozen out of its passes (`_first_frame_shown`); at the end they
        are handed back to it, so a process that runs the app again (the tests)
        frees the old one.
        """
        self._collector_paused = True
        gc.disable()
        try:
            return await super().run_async(**options)  # Textual's options, as App.run gives them
        finally:
            if self._collector_paused:
                self._collector_paused = False
                gc.enable()
            gc.unfreeze()

    def _first_frame_shown(self) -> None:
        """The first frame is painted: start the collector again, past what start-up made."""
        if self._collector_paused:
            self._collector_paused = False
            gc.freeze()
        gc.enable()  # also when `vpn-wizard` paused it for the imports (`wizard.cli.import_tui`)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the one that keeps control bytes off the terminal."""
        return [*super().get_line_filters(), TerminalSafeFilter()]

    # ------------------------------------------------------------------ asking the session

    def step_invalid(self, step_id: str) -> bool:
        if step_id == "review" and step_id not in self.visited:
            return False
        return self.session.step_invalid(step_id)

    @property
    def applying_plan(self) -> Plan | None:
        """The plan the review confirmed, frozen for the Apply step."""
        return self.apply_run.plan if self.apply_run else None

    @property
    def apply_finished(self) -> bool:
        return self.apply_outcome is not None

    @property
    def apply_result(self) -> ApplyResult | None:
        return self.apply_outcome.result if self.apply_outcome else None

    def status_source(self) -> StatusSource:
        """Where the live status panel reads from: this box, for the tunnels of this setup."""
        if self._status_source is not None:
            return self._status_source(self.setup)
        from wizard.status.desired import expected_from_setup
        from wizard.status.live import open_status
        from wizard.status.model import Expected

        expected = expected_from_setup(self.setup) if self.setup else Expected(())
        # The same target as the run: a dry run's keys record, a --root's act on its files.
        return open_status(expected, self.root, dry_run=self.dry_run)

    # ------------------------------------------------------------------ navigation

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        index = self.step_index(self.start_step)
        self.visited.update(step.id for step in FLOW[:index])
        self.set_reactive(WizardApp.current, self.start_step)
        self.push_screen(self._screen_for(FLOW_BY_ID[self.start_step]))
        self.call_after_refresh(self._first_frame_shown)
        if self._probe_host is not None:
            self.call_after_refresh(self._probe)
        if self._list_interfaces is not None:
            self.call_after_refresh(self._read_interfaces)

    @work(thread=True, exit_on_error=False)
    def _probe(self) -> None:
        """The host probe (version commands, files), after the first frame is on the screen."""
        assert self._probe_host is not None
        facts = self._probe_host()
        self.call_from_thread(self._host_found, facts)

    def _host_found(self, facts: HostFacts) -> None:
        """The probe's facts arrived: the checks and the box's defaults, unless answered."""
        self.session.host_found(facts, host_checks(facts, dry_run=self.dry_run))
        if isinstance(self.screen, StepScreen) and self.screen.is_mounted:
            self.screen.refresh_state()  # the welcome screen shows the checks

    @work(thread=True, exit_on_error=False)
    def _read_interfaces(self) -> None:
        assert self._list_interfaces is not None
        try:
            found = tuple(self._list_interfaces())
        except OSError as exc:
            self.call_from_thread(self.notify, f"Could not list the interfaces: {exc}",
                                  severity="warning")
            return
        self.call_from_thread(self._interfaces_read, found)

    def _interfaces_read(self, found: tuple[HostInterface, ...]) -> None:
        """The host's interfaces arrived: the WAN and NAT defaults, unless already answered."""
        self.session.interfaces_found(found)
        if isinstance(self.screen, StepScreen) and self.screen.is_mounted:
            self.screen.refresh_state()  # the sidebar learns of interface mistakes
        if self.is_screen_installed("step-interfaces") and self.current != "interfaces":
            self.uninstall_screen("step-interfaces")  # rebuilt with the real choices

    def start_apply(self) -> None:
        """The review was confirmed: freeze the plan and open the Apply step."""
        from wizard.session.run import ApplyRun

        plan = self.session.plan()
        if plan is None or self.setup is None:
            return
        self.apply_run = ApplyRun(self.setup, plan, self.root, dry_run=self.dry_run)
        self.apply_outcome = None
        self.goto("apply")

    def finish_apply(self, outcome: Outcome) -> None:
        """Record how the run ended and whether this box now differs from before."""
        self.apply_outcome = outcome
        self.changed = outcome.changed and not self.dry_run

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, StepScreen):
            from screens.dialogs import HelpDialog

            self.push_screen(HelpDialog(f"Help · {screen.step.title}", screen.help_text()))

    def action_save(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        if self.setup is None:
            self.notify("Nothing to save yet: import a configuration first.", severity="warning")
            return
        from screens.dialogs import DEFAULT_ANSWERS_PATH, SaveAnswersDialog

        self.push_screen(SaveAnswersDialog(self.session.answers_path or DEFAULT_ANSWERS_PATH,
                                           cursor_blink=self.cursor_blink,
                                           keys_from_file=self.import_path is not None),
                         self._save_to)

    def _save_to(self, request: SaveRequest | None) -> None:
        if request is None or not request.path or self.setup is None:
            return
        from wizard.answers import AnswersError

        try:
            said = self.session.save_answers(request.path, include_secrets=request.include_keys)
        except AnswersError as exc:
            self.notify(printable(exc), title="Answers not saved", severity="error",
                        markup=False)
            return
        self.notify(printable(said), title="Answers saved", markup=False)

    def action_request_quit(self) -> None:
        """`q`: ask before quitting (ignored inside a dialog, where it may be an answer)."""
        if not isinstance(self.screen, ModalScreen):
            self.action_quit()

    def action_quit(self) -> None:  # type: ignore[override]
        from screens.dialogs import ConfirmDialog

        if isinstance(self.screen, ConfirmDialog) and self.screen.id == "confirm-quit":
            return
        if self.changed:
            body = Text("The plan was applied to this box; the changes stay after you quit.")
        else:
            body = Text("Nothing on this box was changed.", style="bold")

        def done(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(ConfirmDialog("Quit vpn-wizard?", body, yes="Quit", no="Stay",
                                       dialog_id="confirm-quit"), done)


def run_app(args: argparse.Namespace) -> int:
    """`vpn-wizard` without a sub-command: the wizard (it probes the host after its first frame)."""
    from wizard.system.host import probe
    from wizard.system.netlink import read_interfaces

    root = Root(args.root)
    app = WizardApp(
        root=root,
        dry_run=bool(args.dry_run),
        import_path=args.import_path,
        answers_path=args.answers,
        host=lambda: probe(root),
        interfaces=read_interfaces,
    )
    code = app.run()
    if not app.changed:
        print("vpn-wizard: nothing on this box was changed.")
    return int(code or 0)
