"""Step 1: what the wizard will do, and whether this box can do it (the preflight checks)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from screens.base import StepScreen
from wizard.manifest import MANIFEST_PATH
from wizard.preflight import Check, blocking

_ICONS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red")}

INTRO = (
    "This wizard follows AWS's strongSwan document for your VPN connection. It reads the "
    "configuration file AWS gave you, asks what only you know (interfaces, VPC CIDRs, mode, "
    "persistence, heartbeat), then shows every file and command before anything runs. "
    "Nothing changes until you confirm on the Apply step."
)


def checks_renderable(checks: list[Check]) -> RenderableType:
    """The checks as a table: a mark, what was checked, what was found and how to fix it."""
    table = Table(show_header=False, box=None, padding=(0, 1), expand=True)
    table.add_column(width=1, no_wrap=True)
    table.add_column(ratio=2)
    table.add_column(ratio=3)
    for check in checks:
        icon, style = _ICONS[check.status]
        detail = Text(check.detail, style="dim" if check.status == "pass" else style)
        if check.fix:
            detail.append("\nfix: ", style="bold")
            detail.append(check.fix)
        table.add_row(Text(icon, style=f"bold {style}"), Text(check.title), detail)
    return table


def verdict(checks: list[Check], dry_run: bool) -> Text:
    """One sentence: what the failures block, if anything."""
    if dry_run:
        return Text("Dry run: nothing on this box will change, so no check blocks anything. "
                    "The Apply step records what would run.", style="bold green")
    blocked = blocking(checks)
    if blocked:
        names = ", ".join(c.title for c in blocked)
        return Text(f"Applying is blocked until these pass: {names}. You can still walk "
                    "every step and review the plan.", style="bold red")
    return Text("This box is ready: every check that applying needs has passed.",
                style="bold green")


class WelcomeScreen(StepScreen):
    """What will happen, and the preflight checks with a fix for each failure."""

    def compose_body(self) -> ComposeResult:
        yield Static(INTRO, id="intro")
        yield Static(self._verdict(), id="verdict")
        yield Static(self._checks(), id="checks")
        if self.wizard.root.path(MANIFEST_PATH).exists():  # the wizard's setup is on this box
            yield Static(Text("This box already has a setup the wizard applied. You can set "
                              "it up again below, or remove it."), id="applied-note")
            yield Button("Uninstall the wizard's setup…", id="uninstall")

    def _verdict(self) -> Text:
        if self.wizard.session.probing:
            return Text("Checking this box…", style="bold")
        return verdict(self.wizard.checks, self.wizard.dry_run)

    def _checks(self) -> RenderableType:
        return Group(Text("Preflight checks", style="bold"), checks_renderable(self.wizard.checks))

    def state_changed(self) -> None:
        """The probe may have finished since the screen was drawn: show its checks."""
        self.query_one("#verdict", Static).update(self._verdict())
        self.query_one("#checks", Static).update(self._checks())

    @on(Button.Pressed, "#uninstall")
    def _uninstall(self) -> None:
        from screens.uninstall import UninstallScreen  # its previews load when it opens

        self.app.push_screen(UninstallScreen(self.wizard.root, dry_run=self.wizard.dry_run))
