"""The seam between the Apply screen and the apply engine (`wizard.apply`).

A dry run swaps only the executor: the same plan runs through the same engine
against `System.recording(root)`, which reads and records but writes nothing.
A real run goes through `System.real(root)` (a simulated kernel under any
`--root` other than `/`), checked first by `wizard.preflight` exactly as
`vpn-wizard apply` does, and is kept only when the operator confirms it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wizard.apply import ApplyResult, StepEvent, apply_plan, confirm, rollback
from wizard.model import Setup
from wizard.plan_types import Plan
from wizard.preflight import preflight
from wizard.system import System
from wizard.system.paths import Root

#: Seconds a real apply waits for "Keep" before the revert timer undoes it.
CONFIRM_SECONDS = 120


@dataclass
class Outcome:
    """What the Apply screen shows when the run ends.

    Attributes:
        result: the engine's result; None when preflight refused before any change.
        refused: why the box cannot take the plan (wizard.preflight), if it cannot.
        log: what was done (or, in a dry run, would be done), as command lines.
        simulated: the kernel side was the file-backed simulation (`--root DIR`).
    """

    result: ApplyResult | None
    refused: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    simulated: bool = False


def run(
    setup: Setup,
    plan: Plan,
    root: Root,
    *,
    dry_run: bool,
    progress: Callable[[StepEvent], None],
    confirm_timeout: float | None = CONFIRM_SECONDS,
) -> Outcome:
    """Apply `plan` (record it, in a dry run), reporting each step through `progress`."""
    system = System.recording(root) if dry_run else System.real(root)
    try:
        refused = preflight(setup, system)
        if refused:
            return Outcome(None, refused, [], system.simulated)
        result = apply_plan(plan, system, progress=progress,
                            confirm_timeout=None if dry_run else confirm_timeout)
        return Outcome(result, [], list(system.log), system.simulated)
    finally:
        system.close()


def keep(root: Root, transaction: str) -> tuple[bool, str]:
    """The operator kept the changes: stop the revert timer."""
    system = System.real(root)
    try:
        return confirm(system, transaction)
    finally:
        system.close()


def revert(root: Root, transaction: str,
           progress: Callable[[StepEvent], None] = lambda e: None) -> ApplyResult:
    """Undo a pending apply now (the operator said no, or time ran out)."""
    system = System.real(root)
    try:
        return rollback(system, transaction, progress=progress, only_if=("pending-confirm",),
                        wait=120.0)
    finally:
        system.close()
