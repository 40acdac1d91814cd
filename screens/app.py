"""The full-screen wizard: the model, the host facts and the navigation between steps.

The app owns the one `Setup` every screen edits. Screens hand it answers
(`answer`), which go through `wizard.questions` into a new frozen `Setup`;
`wizard.model.validate` says what is wrong and `wizard.plan.build_plan` makes
the plan the review and apply steps show. Nothing here formats a config line.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.reactive import reactive
from textual.screen import ModalScreen

from screens.base import StepScreen
from screens.dialogs import (
    DEFAULT_ANSWERS_PATH,
    ConfirmDialog,
    HelpDialog,
    SaveAnswersDialog,
    SaveRequest,
)
from screens.flow import BY_ID as FLOW_BY_ID
from screens.flow import FLOW, FlowStep
from screens.safe import TerminalSafeFilter
from screens.widgets import SidebarEntry
from wizard import answers as answers_mod
from wizard import aws, inputs
from wizard.model import Problem, Setup, errors, validate
from wizard.plan import build_plan
from wizard.plan_types import Plan
from wizard.questions import BY_ID as QUESTIONS_BY_ID
from wizard.questions import BY_STEP, Context, Question, Value, behind_nat, host_defaults
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.safe_text import printable
from wizard.system.detect import apply_detected, detect
from wizard.system.host import Check, HostFacts, blocking, preflight
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root, TargetFileError
from wizard.wording import place

if TYPE_CHECKING:
    from wizard.status import StatusSource


class WizardApp(App[int]):
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

    setup: reactive[Setup | None] = reactive(None, init=False)
    """The operator's VPN as answered so far; None until a configuration is imported."""

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the one that keeps control bytes off the terminal."""
        return [*super().get_line_filters(), TerminalSafeFilter()]
    current: reactive[str] = reactive("welcome", init=False)
    """The id of the step on screen."""

    def __init__(
        self,
        *,
        root: Root | None = None,
        dry_run: bool = False,
        import_path: str | None = None,
        answers_path: str | None = None,
        host: HostFacts,
        interfaces: Sequence[HostInterface] | Callable[[], Sequence[HostInterface]] = (),
        cursor_blink: bool = True,
        start: str = "welcome",
        heartbeat_command: str = DEFAULT_COMMAND,
        status_source: Callable[[Setup | None], StatusSource] | None = None,
    ) -> None:
        """Set up the wizard.

        Args:
            root: the target's `/` (`--root`); files are read from it.
            dry_run: record instead of applying; nothing is blocked.
            import_path: the AWS file given on the command line.
            answers_path: the answers file given on the command line.
            host: the preflight facts (`wizard.system.host.probe()`, or canned in tests).
            interfaces: the host's interfaces (canned in tests), or a function that
                lists them; it then runs in a thread after the first frame, because
                netlink's library alone takes longer to import than the welcome
                screen takes to draw.
            cursor_blink: off in tests, so snapshots do not depend on timing.
            start: the first step to show (tests open a step directly).
            heartbeat_command: the `vpn-wizard` path the heartbeat unit runs
                (the real one from `run_app`; the default keeps snapshots stable).
            status_source: makes the live status source for the last step
                (recorded data in tests); None reads the target (`open_status`:
                this box, or the --root's simulated kernel; recording in a dry run).
        """
        super().__init__()
        self.root = root or Root("/")
        self.dry_run = dry_run
        self.host = host
        self.checks: list[Check] = preflight(host, dry_run=dry_run)
        self._list_interfaces = interfaces if callable(interfaces) else None
        self.context = Context(() if callable(interfaces) else tuple(interfaces))
        self.cursor_blink = cursor_blink
        self.start_step = start
        self.heartbeat_command = heartbeat_command
        self._status_source = status_source
        self.target_file_error: str | None = None
        """Why no plan can be built from the box's files (a link, broken markers), if so."""
        self.answers_path = answers_path
        self.import_path: Path | None = Path(import_path) if import_path else None
        self.import_label = import_path or ""
        self.import_format: str | None = None
        self.import_notes: tuple[str, ...] = ()
        self.import_origins: tuple[str, ...] = ()
        """Where each tunnel is in the AWS file, when the reader chose their order (XML)."""
        self.import_error: str | None = None
        self.sources: dict[str, str] = {}
        self.ui_answers: dict[str, Value] = {}
        """Raw answers as typed, by question id (drafts and the NAT answer live here)."""
        self.drafts: dict[str, str] = {}
        """Question id -> why its typed answer does not parse (the model keeps the last good)."""
        self.visited: set[str] = set()
        self.applying_plan: Plan | None = None
        self.apply_result: Any = None
        self.apply_finished = False
        self.changed = False
        """True once a real apply may have changed the box (the quit dialog says so)."""
        self._marks = inputs.marks_on(self.root)
        self._problems: tuple[Setup | None, list[Problem]] = (None, [])
        self._plan: tuple[Setup | None, Plan | None] = (None, None)
        if import_path or answers_path:
            self._initial_load(import_path, answers_path)

    # ------------------------------------------------------------------ loading

    def _initial_load(self, import_path: str | None, answers_path: str | None) -> None:
        try:
            loaded = inputs.load(import_path, answers_path, self.root)
        except inputs.InputError as exc:
            self.import_error = str(exc)
            return
        self.sources = dict(loaded.sources)
        self.import_format = loaded.imported_format
        self.import_notes = loaded.notes
        self.import_origins = loaded.imported.origins if loaded.imported else ()
        if not import_path and answers_path:
            self.import_label = f"{answers_path} (answers)"
        self.set_reactive(WizardApp.setup,
                          host_defaults(loaded.setup, self.context, self.sources))

    def _answers_file(self) -> answers_mod.Answers | None:
        if not self.answers_path:
            return None
        return answers_mod.load_answers(self.answers_path)

    def _take_import(self, imported: aws.Imported, label: str, path: Path | None) -> None:
        try:
            resolved = answers_mod.resolve(self._answers_file(), imported)
        except answers_mod.AnswersError as exc:
            self.import_error = str(exc)
            return
        # As inputs.load does: a backend/persistence left at its default follows the box.
        setup, sources = apply_detected(resolved.setup, dict(resolved.sources),
                                        detect(self.root, run=None))
        if self.setup is None:
            setup = host_defaults(setup, self.context, sources)
        else:  # a second import replaces AWS's facts, not the operator's choices
            setup = replace(setup, choices=self.setup.choices)
            sources.update({k: v for k, v in self.sources.items() if k.startswith("choices.")})
        self.sources = sources
        for qid in [q for q in self.drafts if q.startswith("tunnels[")]:
            del self.drafts[qid]
            self.ui_answers.pop(qid, None)
        self.import_error = None
        self.import_format = imported.format
        self.import_notes = imported.notes
        self.import_origins = imported.origins
        self.import_label = label
        self.import_path = path
        self.setup = setup

    def import_file(self, path: Path, *, label: str) -> bool:
        """Load an AWS file from disk; on failure `import_error` says where and why."""
        try:
            imported = aws.load(path)
        except aws.AwsFileError as exc:
            self.import_error = str(exc).replace(str(path), label, 1)
            return False
        self._take_import(imported, label, path)
        return self.import_error is None

    def import_text(self, text: str) -> bool:
        """Load pasted AWS configuration text."""
        try:
            imported = aws.parse(text, "pasted text")
        except aws.AwsFileError as exc:
            self.import_error = str(exc)
            return False
        self._take_import(imported, "pasted text", None)
        return self.import_error is None

    # ------------------------------------------------------------------ the model

    def watch_setup(self) -> None:
        self._plan = (None, None)

    @property
    def problems(self) -> list[Problem]:
        """Every problem of the current setup (validated once per setup)."""
        setup = self.setup
        if setup is None:
            return []
        if self._problems[0] is not setup:
            self._problems = (setup, validate(setup, self._marks))
        return self._problems[1]

    def active_drafts(self) -> dict[str, str]:
        """Unparsed answers of questions that are still asked (a hidden one does not count)."""
        setup = self.setup
        if setup is None:
            return {}
        return {qid: message for qid, message in self.drafts.items()
                if QUESTIONS_BY_ID[qid].when(setup, self.ui_answers)}

    def field_value(self, question: Question) -> Value:
        """What a field shows: the operator's unparsed text, else the model's value."""
        assert self.setup is not None
        if question.id in self.drafts and question.id in self.ui_answers:
            return self.ui_answers[question.id]
        if question.id == "choices.behind_nat":
            return behind_nat(self.setup, self.ui_answers)
        return question.default(self.setup, self.context)

    def answer(self, question_id: str, value: Value) -> None:
        """Apply one answer to the model, or keep it as a draft with its parse error."""
        question = QUESTIONS_BY_ID[question_id]
        self.ui_answers[question_id] = value
        if self.setup is None:
            return
        try:
            setup = question.apply(self.setup, value)
        except ValueError as exc:
            self.drafts[question_id] = str(exc)
            return
        self.drafts.pop(question_id, None)
        if question_id == "choices.behind_nat" and value is False:
            self.drafts.pop("choices.local_ip", None)
            self.ui_answers.pop("choices.local_ip", None)
        self.setup = setup

    def step_problems(self, step_id: str) -> list[Problem]:
        """The problems shown on a step: its questions' fields and its own paths."""
        step = FLOW_BY_ID[step_id]
        questions = BY_STEP.get(step_id, ())
        setup = self.setup
        asked = [q for q in questions if setup is None or q.when(setup, self.ui_answers)]

        def mine(p: Problem) -> bool:
            if any(q.covers(p.where) for q in asked):
                return True
            return any(p.where == w or p.where.startswith(w + ".") for w in step.wheres)

        return [p for p in self.problems if mine(p)]

    def step_invalid(self, step_id: str) -> bool:
        if step_id == "welcome":
            return bool(blocking(self.checks))
        if step_id == "import":
            return (self.import_error is not None and self.setup is None) or bool(
                errors(self.step_problems(step_id)))
        if step_id == "review":
            return step_id in self.visited and bool(self.apply_blockers())
        drafts = self.active_drafts()
        questions = {q.id for q in BY_STEP.get(step_id, ())}
        return bool(errors(self.step_problems(step_id))) or bool(questions & drafts.keys())

    def plan_or_none(self) -> Plan | None:
        """The plan for the current setup, or None while it has errors or unparsed answers."""
        setup = self.setup
        if setup is None or errors(self.problems) or self.active_drafts():
            return None
        if self._plan[0] is not setup:
            try:
                plan = build_plan(setup, self.root.read,
                                  heartbeat_command=self.heartbeat_command)
            except TargetFileError as err:  # a file on the box: say which, and what to fix
                self.target_file_error = str(err)
                return None
            self.target_file_error = None
            self._plan = (setup, plan)
        return self._plan[1]

    def status_source(self) -> StatusSource:
        """Where the live status panel reads from: this box, for the tunnels of this setup."""
        if self._status_source is not None:
            return self._status_source(self.setup)
        from wizard.status import Expected, expected_from_setup, open_status

        expected = expected_from_setup(self.setup) if self.setup else Expected(())
        # The same target as the run: a dry run's keys record, a --root's act on its files.
        return open_status(expected, self.root, dry_run=self.dry_run)

    def apply_blockers(self) -> list[str]:
        """Why the plan cannot be applied now, one line each (empty: it can)."""
        if self.setup is None:
            return ["No AWS configuration has been imported (step Import)."]
        lines = []
        titles = {step.id: step.title for step in FLOW}
        drafts = self.active_drafts()
        for qid, message in drafts.items():
            question = QUESTIONS_BY_ID[qid]
            title = titles[question.step]
            where = title if question.label == title else f"{title} · {question.label}"
            lines.append(f"{where}: {message}")
        placed: set[int] = set()
        for step in FLOW:
            for p in errors(self.step_problems(step.id)):
                placed.add(id(p))
                question = next((q for q in BY_STEP.get(step.id, ()) if q.covers(p.where)),
                                None)
                if question is not None and question.id in drafts:
                    continue  # about the last value that parsed, no longer in the field
                label = question.label if question else place(p.where)
                lines.append(f"{step.title} · {label}: {p.message}")
        lines += [f"{place(p.where)}: {p.message}" for p in errors(self.problems)
                  if id(p) not in placed]
        if not lines:
            self.plan_or_none()
        if self.target_file_error:
            lines.append(f"A file on this box: {self.target_file_error}")
        if not self.dry_run:
            for check in blocking(self.checks):
                lines.append(f"Welcome · {check.title}: {check.fix}")
        return lines

    # ------------------------------------------------------------------ navigation

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        index = self.step_index(self.start_step)
        self.visited.update(step.id for step in FLOW[:index])
        self.set_reactive(WizardApp.current, self.start_step)
        self.push_screen(self._screen_for(FLOW_BY_ID[self.start_step]))
        if self._list_interfaces is not None:
            self._read_interfaces()

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
        """The host's interfaces arrived: preselect the WAN unless already answered."""
        self.context = Context(found)
        if self.setup is not None and "choices.physical_interface" not in self.ui_answers:
            self.setup = host_defaults(self.setup, self.context, self.sources)
        if self.is_screen_installed("step-interfaces") and self.current != "interfaces":
            self.uninstall_screen("step-interfaces")  # rebuilt with the real choices

    def _screen_for(self, step: FlowStep) -> StepScreen | str:
        """The step's screen: kept ones are installed once under "step-<id>"."""
        if not step.cached:
            return step.make(step)
        name = f"step-{step.id}"
        if not self.is_screen_installed(name):
            self.install_screen(step.make(step), name)
        return name

    def step_index(self, step_id: str) -> int:
        return next(i for i, step in enumerate(FLOW) if step.id == step_id)

    def step_number(self, step_id: str) -> int:
        return self.step_index(step_id) + 1

    def is_first(self, step_id: str) -> bool:
        return self.step_index(step_id) == 0

    def locked(self, step: FlowStep) -> bool:
        """A step that cannot be opened yet: nothing imported, or apply not started/finished."""
        if step.needs_setup and self.setup is None:
            return True
        if step.id == "apply":
            return self.applying_plan is None
        if step.id == "status":
            return not self.apply_finished
        return False

    def sidebar_entries(self, current: str) -> list[SidebarEntry]:
        entries = []
        for step in FLOW:
            invalid = not self.locked(step) and self.step_invalid(step.id)
            if step.id == current:
                state = "current-invalid" if invalid else "current"
            elif self.locked(step):
                state = "locked"
            elif invalid:
                state = "invalid"
            elif step.id in self.visited:
                state = "done"
            else:
                state = "todo"
            entries.append(SidebarEntry(step.id, step.title, state))
        return entries

    def goto(self, step_id: str) -> None:
        """Show a step (a fresh screen, prefilled from the model)."""
        step = FLOW_BY_ID[step_id]
        screen = self.screen
        if isinstance(screen, StepScreen):
            if getattr(screen, "running", False) or getattr(screen, "deadline", 0):
                screen.set_status("Wait for the run to end.")
                return
            if self.locked(step):
                screen.set_status(f"{step.title} opens later: "
                                  + ("import a configuration first." if self.setup is None
                                     else "it follows the review."))
                return
        if step_id == self.current and isinstance(screen, StepScreen):
            return
        self.visited.add(self.current)
        self.current = step_id
        self.switch_screen(self._screen_for(step))

    def goto_offset(self, offset: int) -> None:
        index = self.step_index(self.current) + offset
        if not 0 <= index < len(FLOW):
            return
        self.goto(FLOW[index].id)

    def start_apply(self) -> None:
        """The review was confirmed: freeze the plan and open the Apply step."""
        plan = self.plan_or_none()
        if plan is None:
            return
        self.applying_plan = plan
        self.apply_finished = False
        self.goto("apply")

    def finish_apply(self, result: Any, *, changed: bool) -> None:
        """Record the engine's result and whether this box now differs from before."""
        self.apply_result = result
        self.apply_finished = True
        self.changed = changed

    # ------------------------------------------------------------------ actions

    async def action_next(self) -> None:
        if isinstance(self.screen, StepScreen):
            await self.screen.go_next()

    def action_back(self) -> None:
        if isinstance(self.screen, StepScreen) and not self.is_first(self.current):
            self.goto_offset(-1)

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, StepScreen):
            self.push_screen(HelpDialog(f"Help · {screen.step.title}", screen.help_text()))

    def action_save(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        if self.setup is None:
            self.notify("Nothing to save yet: import a configuration first.", severity="warning")
            return
        self.push_screen(SaveAnswersDialog(self.answers_path or DEFAULT_ANSWERS_PATH,
                                           cursor_blink=self.cursor_blink,
                                           keys_from_file=self.import_path is not None),
                         self._save_to)

    def _save_to(self, request: SaveRequest | None) -> None:
        if request is None or not request.path or self.setup is None:
            return
        path = request.path
        target = Path(os.path.expanduser(path))
        import_rel = None
        imported = None
        if self.import_path is not None:
            import_rel = os.path.relpath(self.import_path.resolve(), target.resolve().parent)
            try:
                imported = aws.load(self.import_path)
            except aws.AwsFileError:
                imported = None
        try:
            answers_mod.save_answers(target, self.setup, include_secrets=request.include_keys,
                                     import_path=import_rel, imported=imported)
        except answers_mod.AnswersError as exc:
            self.notify(printable(exc), title="Answers not saved", severity="error",
                        markup=False)
            return
        if request.include_keys:
            keys = "with the pre-shared keys"
        elif self.import_path is not None:
            keys = "without the pre-shared keys: a replay reads them from the AWS file"
        else:
            keys = ("without the pre-shared keys: replay it with --import and the AWS file, "
                    "or save again with the keys")
        self.notify(f"Saved to {printable(path)} (mode 0600, {keys}).",
                    title="Answers saved", markup=False)

    def action_request_quit(self) -> None:
        """`q`: ask before quitting (ignored inside a dialog, where it may be an answer)."""
        if not isinstance(self.screen, ModalScreen):
            self.action_quit()

    def action_quit(self) -> None:  # type: ignore[override]
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
    """`vpn-wizard` without a sub-command: probe the host, then run the wizard."""
    from wizard.system.executable import vpn_wizard_command
    from wizard.system.host import probe
    from wizard.system.interfaces import list_interfaces

    app = WizardApp(
        root=Root(args.root),
        dry_run=bool(args.dry_run),
        import_path=args.import_path,
        answers_path=args.answers,
        host=probe(),
        interfaces=list_interfaces,
        heartbeat_command=vpn_wizard_command(),
    )
    code = app.run()
    if not app.changed:
        print("vpn-wizard: nothing on this box was changed.")
    return int(code or 0)
