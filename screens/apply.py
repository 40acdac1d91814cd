"""Step 12: the plan running, step by step, with the log; in a dry run, what would run.

The run is the app's `wizard.session.ApplyRun`; this screen draws its events
and its `Outcome`. A real run is kept only when the operator presses Keep
within `wizard.session.CONFIRM_SECONDS`; otherwise it is rolled back (a
detached timer does it even if this process dies), so a change that cuts this
session off undoes itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Button, RichLog, Static

from screens.base import StepScreen
from screens.widgets import slug
from wizard.safe_text import printable
from wizard.session import ApplyRun, Outcome

if TYPE_CHECKING:
    from wizard.apply import StepEvent

_STATES = {
    "pending": ("·", "dim"),
    "running": ("…", "bold cyan"),
    "done": ("✓", "green"),
    "unchanged": ("=", "green"),
    "failed": ("✗", "bold red"),
    "rolled-back": ("↶", "yellow"),
}


class ApplyScreen(StepScreen):
    """A row per plan step that turns done / failed / rolled back, and the log below."""

    running: reactive[bool] = reactive(False)
    """The engine is working: Back and the sidebar are held until it ends."""
    finished: reactive[bool] = reactive(False)
    """The run ended and, for a real run, was kept or rolled back; Next leads to the status."""
    deadline: reactive[float] = reactive(0.0)
    """When an unconfirmed real apply is rolled back (time.monotonic); 0 when nothing waits."""

    def compose_body(self) -> ComposeResult:
        wizard = self.wizard
        plan = wizard.applying_plan
        assert plan is not None
        intro = ("Dry run: each step is recorded, not run. Nothing on this box changes."
                 if wizard.dry_run else "Applying the plan to this box.")
        yield Static(Text(intro, style="bold"), id="apply-intro")
        yield Static("", id="apply-result")
        with Horizontal(id="keep-row"):
            yield Button("Roll back", id="revert", compact=True, variant="error")
            yield Button("Keep", id="keep", compact=True, variant="success")
        for number, step in enumerate(plan, start=1):
            yield Static(self._row(number, step.title, "pending"), id=f"row-{slug(step.id)}",
                         classes="apply-row")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False, auto_scroll=False)

    def _row(self, number: int, title: str, state: str) -> Text:
        icon, style = _STATES.get(state, ("?", ""))
        text = Text.assemble((f"{icon} ", style), (f"{number:>2}. ", "dim"), (title, style))
        if state in ("unchanged", "failed", "rolled-back"):
            text.append(f"  {state}", style=style)
        return text

    def on_mount(self) -> None:
        # StepScreen.on_mount runs after this one: Textual calls each class's own handler.
        self.query_one("#keep-row").display = False
        self.query_one("#next", Button).disabled = True
        self.running = True
        self._run()

    def focus_first(self) -> None:
        self.query_one("#body").focus()

    def watch_running(self, running: bool) -> None:
        if self.is_mounted:
            self.query_one("#back", Button).disabled = running

    def _masked(self, text: str) -> str:
        """`text` with every key masked (wizard.redact) and control bytes escaped."""
        return printable(self._apply_run.masked(text), keep_newlines=True)

    def _log(self, line: str, style: str = "") -> None:
        self.query_one("#log", RichLog).write(Text(self._masked(line), style=style))

    def _say(self, text: str, style: str) -> None:
        shown = Text(self._masked(text), style=style)
        self.query_one("#apply-result", Static).update(shown)

    # ------------------------------------------------------------------ the run

    @property
    def _apply_run(self) -> ApplyRun:
        run = self.wizard.apply_run
        assert run is not None
        return run

    @work(thread=True, exclusive=True, group="apply")
    def _run(self) -> None:
        run = self._apply_run
        try:
            outcome = run.start(progress=lambda e: self.app.call_from_thread(self._event, e))
        except Exception as exc:  # the engine's own failure, shown rather than lost
            message = run.masked(f"{type(exc).__name__}: {exc}")
            outcome = Outcome("crashed", f"The apply engine stopped: {message}. Check with "
                                         "'vpn-wizard rollback'.")
        self.app.call_from_thread(self._finished, outcome)

    def _event(self, event: StepEvent) -> None:
        plan = self._apply_run.plan
        for number, step in enumerate(plan, start=1):
            if step.id == event.step_id:
                self.query_one(f"#row-{slug(step.id)}", Static).update(
                    self._row(number, step.title, event.state))
        if event.message or event.state in ("failed", "rolled-back"):
            self._log(log_line(event))

    def _finished(self, outcome: Outcome) -> None:
        wizard = self.wizard
        for reason in outcome.refused:
            self._log(f"✗ {reason}", "red")
        if outcome.log:
            self._log("What would run:" if wizard.dry_run else "What ran:", "bold")
            for line in outcome.log:
                self._log(f"  {line}")
        for note in outcome.notes:
            self._log(note, "dim")
        if outcome.state == "pending":
            wizard.changed = True
            self._ask_keep()
            return
        self._ended(outcome)

    def _ended(self, outcome: Outcome) -> None:
        """The run is over (kept, rolled back, refused, recorded...): say so and let Next on."""
        self.wizard.finish_apply(outcome)
        sentence = outcome.sentence
        if outcome.state == "recorded":
            sentence = ("Dry run complete: nothing on this box was changed. What would run is "
                        "in the log below the steps.")
        good = outcome.state in ("recorded", "unchanged", "kept", "rolled-back")
        self._say(sentence, "bold green" if good else "bold red")
        self.running = False
        self.finished = True
        self.deadline = 0.0
        self.query_one("#keep-row").display = False
        next_button = self.query_one("#next", Button)
        next_button.disabled = False
        next_button.focus()
        self.refresh_state()

    # ------------------------------------------------------------------ keep or roll back

    def _ask_keep(self) -> None:
        self.deadline = self._apply_run.deadline
        self.query_one("#keep-row").display = True
        self.query_one("#keep", Button).focus()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if not self.deadline:
            return
        left = self._apply_run.seconds_left()
        if left <= 0:
            self.deadline = 0.0
            self._revert("Not kept in time")
            return
        self._say(f"Applied. Keep these changes? Unless you press Keep within {left} s, "
                  "every change is rolled back.", "bold yellow")

    @on(Button.Pressed, "#keep")
    def _keep_pressed(self) -> None:
        self.deadline = 0.0
        self._ended(self._apply_run.keep())

    @on(Button.Pressed, "#revert")
    def _revert_pressed(self) -> None:
        self.deadline = 0.0
        self._revert("Rolled back on request")

    @work(thread=True, exclusive=True, group="apply")
    def _revert(self, why: str) -> None:
        self.app.call_from_thread(self._say, "Rolling back…", "bold yellow")
        outcome = self._apply_run.revert(
            why, progress=lambda e: self.app.call_from_thread(self._event, e))
        self.app.call_from_thread(self._ended, outcome)

    def leave_reason(self) -> str | None:
        if self.deadline:
            return "Keep the changes or roll them back first."
        return "Wait for the run to end." if not self.finished else None


def log_line(event: StepEvent) -> str:
    """One line of the run's log: a step done only by skipping says "skipped: why", not "done"."""
    parts = event.message.split("; ") if event.message else []
    if event.state == "done" and parts and all(p.startswith("skipped: ") for p in parts):
        return f"{event.step_id}: {event.message}"
    return f"{event.step_id}: {event.state}" + (f" ({event.message})" if event.message else "")
