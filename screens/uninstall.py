"""The uninstall dialog: on a box that has the wizard's setup, preview its removal, ask, and run it.

Reached from the welcome screen when the applied manifest is there. The
preview is the one `vpn-wizard uninstall` prints (`wizard.uninstall.preview`:
every file diff and command, keys masked), and the removal runs through the
same engine, journaled and rolled back on failure; in a dry run it is
recorded, and the dialog lists what would run.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from wizard.apply import ApplyResult, apply_plan
from wizard.manifest import ManifestError
from wizard.plan_types import Plan
from wizard.redact import Redactor
from wizard.safe_text import clean_text, text
from wizard.system import System
from wizard.system.paths import Root, TargetFileError
from wizard.uninstall import preview, target_from, uninstall_plan_for


class UninstallScreen(ModalScreen[bool]):
    """Preview the removal of the wizard's setup, then remove it if the operator says so.

    Dismisses with True once something was removed (or, in a dry run, recorded).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, root: Root, *, dry_run: bool) -> None:
        super().__init__(id="uninstall", classes="dialog-screen")
        self.root = root
        self.dry_run = dry_run
        self.plan: Plan | None = None
        self.problem = ""
        self.removed = False
        self.system = System.recording(root) if dry_run else System.real(root)
        try:
            setup, command, _ = target_from(root.read)
            self.plan = uninstall_plan_for(self.system, setup, command)
        except (ManifestError, TargetFileError) as exc:
            self.problem = str(exc)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(text("Remove the wizard's setup from this box"), classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll", id="uninstall-scroll"):
                yield Static(id="uninstall-outcome")  # first: what happened, once it has
                body = (Group(*preview(self.plan)) if self.plan is not None
                        else Text(self.problem, style="red"))
                yield Static(body, id="uninstall-preview", classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep it", id="keep")
                yield Button("Record the removal" if self.dry_run else "Remove",
                             id="remove", variant="error", disabled=self.plan is None)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed, "#keep")
    def action_close(self) -> None:
        self.system.close()
        self.dismiss(self.removed)

    @on(Button.Pressed, "#remove")
    def _remove(self) -> None:
        self.query_one("#remove", Button).disabled = True
        self.query_one("#keep", Button).disabled = True
        self._say("Removing…", "bold yellow")
        self._run()

    @work(thread=True, exclusive=True, group="uninstall")
    def _run(self) -> None:
        assert self.plan is not None
        result = apply_plan(self.plan, self.system)
        self.app.call_from_thread(self._finished, result)

    def _finished(self, result: ApplyResult) -> None:
        keep = self.query_one("#keep", Button)
        keep.disabled = False
        keep.label = "Close"
        redactor = Redactor.for_plan(self.plan)
        if self.dry_run:
            self.removed = result.ok
            lines = "\n".join(redactor.text(line) for line in self.system.log)
            self._say(f"Dry run: nothing was changed. Would run:\n{lines}", "bold green")
        elif not result.ok:
            self._say(f"{redactor.text(str(result.error))}\n"
                      + ("The uninstall was rolled back." if result.failed_step
                         else "Nothing was changed."), "bold red")
        else:
            self.removed = True
            self._say("Removed what the wizard had added." if result.changed
                      else "Nothing of the wizard's was left: nothing was changed.",
                      "bold green")

    def _say(self, message: str, style: str) -> None:
        self.query_one("#uninstall-outcome", Static).update(clean_text(Text(message, style)))
        self.query_one("#uninstall-scroll", VerticalScroll).scroll_home(animate=False)
