"""Step 12: the plan running, step by step, with the log; in a dry run, what would run.

A real run is kept only when the operator presses Keep within
`apply_runner.CONFIRM_SECONDS`; otherwise it is rolled back (a detached timer
does it even if this process dies), so a change that cuts this session off
undoes itself.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Button, RichLog, Static

from screens.base import StepScreen
from screens.widgets import slug
from wizard.redact import Redactor
from wizard.safe_text import printable

if TYPE_CHECKING:
    from screens import apply_runner
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
    transaction: str = ""
    """The journal id of the run waiting for Keep."""
    _redactor: Redactor | None = None
    """What masks the log's keys, built once for the plan in `_redacting`."""
    _redacting: object = None

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
        super().on_mount()
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
        plan = self.wizard.applying_plan
        if self._redactor is None or self._redacting is not plan:
            self._redactor, self._redacting = Redactor.for_plan(plan), plan
        return printable(self._redactor.text(text), keep_newlines=True)

    def _log(self, line: str, style: str = "") -> None:
        self.query_one("#log", RichLog).write(Text(self._masked(line), style=style))

    def _say(self, text: str, style: str) -> None:
        shown = Text(self._masked(text), style=style)
        self.query_one("#apply-result", Static).update(shown)

    # ------------------------------------------------------------------ the run

    @work(thread=True, exclusive=True, group="apply")
    def _run(self) -> None:
        from screens import apply_runner  # the engine loads only when a run starts

        wizard = self.wizard
        plan = wizard.applying_plan
        assert plan is not None and wizard.setup is not None
        try:
            outcome = apply_runner.run(
                wizard.setup, plan, wizard.root, dry_run=wizard.dry_run,
                progress=lambda e: self.app.call_from_thread(self._event, e))
        except Exception as exc:  # the engine's own failure, shown rather than lost
            message = Redactor.for_plan(plan).text(f"{type(exc).__name__}: {exc}")
            self.app.call_from_thread(self._crashed, message)
            return
        self.app.call_from_thread(self._finished, outcome)

    def _event(self, event: StepEvent) -> None:
        plan = self.wizard.applying_plan
        assert plan is not None
        for number, step in enumerate(plan, start=1):
            if step.id == event.step_id:
                self.query_one(f"#row-{slug(step.id)}", Static).update(
                    self._row(number, step.title, event.state))
        if event.message or event.state in ("failed", "rolled-back"):
            self._log(log_line(event))

    def _finished(self, outcome: apply_runner.Outcome) -> None:
        wizard = self.wizard
        if outcome.refused:
            self._say("This box cannot take the plan yet; nothing was changed:", "bold red")
            for reason in outcome.refused:
                self._log(f"✗ {reason}", "red")
            wizard.finish_apply(None, changed=False)
            self._done()
            return
        if outcome.log:
            self._log("What would run:" if wizard.dry_run else "What ran:", "bold")
            for line in outcome.log:
                self._log(f"  {line}")
        if outcome.simulated and not wizard.dry_run:
            self._log(f"--root {wizard.root.root}: files were written there; the kernel side "
                      "was simulated.", "dim")
        result = outcome.result
        assert result is not None
        if wizard.dry_run:
            wizard.finish_apply(result, changed=False)
            self._say("Dry run complete: nothing on this box was changed. What would run is "
                      "in the log below the steps.", "bold green")
        elif not result.ok:
            wizard.finish_apply(result, changed=False)
            where = f"Step {result.failed_step} failed" if result.failed_step else "Refused"
            self._say(f"{where}: {result.error}. Every change made before it was rolled back; "
                      "nothing on this box was changed.", "bold red")
        elif not result.changed or not result.transaction:
            wizard.finish_apply(result, changed=False)
            self._say("Everything was already in place: nothing was changed.", "bold green")
        else:
            wizard.finish_apply(result, changed=True)
            self._ask_keep(result.transaction)
            return
        self._done()

    def _crashed(self, message: str) -> None:
        self.wizard.finish_apply(None, changed=not self.wizard.dry_run)
        self._say(f"The apply engine stopped: {message}. Check with 'vpn-wizard rollback'.",
                  "bold red")
        self._done()

    def _done(self) -> None:
        self.running = False
        self.finished = True
        self.deadline = 0.0
        self.query_one("#keep-row").display = False
        next_button = self.query_one("#next", Button)
        next_button.disabled = False
        next_button.focus()
        self.refresh_state()

    # ------------------------------------------------------------------ keep or roll back

    def _ask_keep(self, transaction: str) -> None:
        self.transaction = transaction
        from screens.apply_runner import CONFIRM_SECONDS

        self.deadline = time.monotonic() + CONFIRM_SECONDS
        self.query_one("#keep-row").display = True
        self.query_one("#keep", Button).focus()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if not self.deadline:
            return
        left = int(self.deadline - time.monotonic())
        if left <= 0:
            self.deadline = 0.0
            self._revert("Not kept in time")
            return
        self._say(f"Applied. Keep these changes? Unless you press Keep within {left} s, "
                  "every change is rolled back.", "bold yellow")

    @on(Button.Pressed, "#keep")
    def _keep_pressed(self) -> None:
        from screens import apply_runner

        self.deadline = 0.0
        kept, message = apply_runner.keep(self.wizard.root, self.transaction)
        if kept:
            self._say(f"Kept: {message}.", "bold green")
        else:
            self._say(f"Not kept: {message}.", "bold red")
        self._done()

    @on(Button.Pressed, "#revert")
    def _revert_pressed(self) -> None:
        self.deadline = 0.0
        self._revert("Rolled back on request")

    @work(thread=True, exclusive=True, group="apply")
    def _revert(self, why: str) -> None:
        from screens import apply_runner

        self.app.call_from_thread(self._say, "Rolling back…", "bold yellow")
        result = apply_runner.revert(self.wizard.root, self.transaction,
                                     progress=lambda e: self.app.call_from_thread(self._event, e))
        self.app.call_from_thread(self._reverted, why, result.ok, result.error)

    def _reverted(self, why: str, ok: bool, error: str | None) -> None:
        if ok:
            self.wizard.changed = False
            self._say(f"{why}: every change was rolled back; nothing on this box was changed.",
                      "bold green")
        else:
            self._say(f"{why}; the rollback failed: {error}. Run 'vpn-wizard rollback'.",
                      "bold red")
        self._done()

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
