"""The apply engine's public face: apply a plan (or an uninstall plan), confirm it, roll it back.

The work is done in `wizard.engine`: each operation's adapter looks at the
host, does the operation and undoes it (`engine.adapters`, `engine.files`);
a transaction journals every action before doing it and rolls back on
failure (`engine.transaction`). This module turns a `Plan` into that run, and
stages the applied manifest (`wizard.manifest`) when the plan carries its setup.
"""

from __future__ import annotations

from collections.abc import Callable

from wizard.engine.actions import fault_points, plan_actions, plan_conns, undo_argv
from wizard.engine.transaction import (
    FAIL_AT_ENV,
    KILL_AT_ENV,
    ApplyResult,
    FaultInjected,
    SimulatedCrash,
    StepEvent,
    StepState,
    confirm,
    rollback,
    run_actions,
)
from wizard.engine.transaction import (
    needed as _needed,
)
from wizard.manifest import AppliedManifest, manifest_text, restamp
from wizard.plan_types import Plan
from wizard.system import System

__all__ = [
    "FAIL_AT_ENV",
    "KILL_AT_ENV",
    "ApplyResult",
    "FaultInjected",
    "SimulatedCrash",
    "StepEvent",
    "StepState",
    "apply_plan",
    "confirm",
    "fault_points",
    "needed",
    "plan_actions",
    "plan_conns",
    "rollback",
    "undo_argv",
]


def apply_plan(
    plan: Plan,
    system: System,
    *,
    progress: Callable[[StepEvent], None] = lambda e: None,
    fail_at: str | None = None,
    confirm_timeout: float | None = None,
) -> ApplyResult:
    """Apply `plan` to `system`, all or nothing.

    Args:
        plan: from `wizard.plan.build_plan` (or `wizard.uninstall.build_uninstall_plan`:
            its `kind` names the transaction).
        system: `System.real(root)` to do it, `System.recording(root)` to
            record what would be done (nothing is written, not even a journal).
        progress: called with each StepEvent as it happens.
        fail_at: fault injection for tests: an action index (see
            `fault_points`) or a step id; the environment variable
            VPN_WIZARD_FAIL_AT does the same for a CLI run.
        confirm_timeout: when set, the changes are kept only if `confirm`
            is called within this many seconds; a detached revert timer is
            started before the first change, so the box goes back even if this
            process or its SSH session dies (see `wizard.revert_timer`).

    Returns:
        What happened; on failure everything done was undone first. When the
        plan carries its setup and the changes are kept (now, or by
        `confirm`), the applied manifest is written in the same transaction.
    """
    manifest = None
    if plan.setup is not None and plan.kind == "apply":
        manifest = manifest_text(AppliedManifest(plan.setup, "", "", plan.heartbeat_command))
        restamp(manifest, "", "")  # one that would not read back is refused before any change
    return run_actions(
        plan_actions(plan), system, kind=plan.kind, conns=plan_conns(plan),
        secrets=plan.secrets, step_ids=[s.id for s in plan], progress=progress,
        fail_at=fail_at, confirm_timeout=confirm_timeout, manifest=manifest,
    )


def needed(plan: Plan, system: System) -> list[bool] | None:
    """Per action of `plan` (see `plan_actions`), whether it would change the box as it is.

    `system` is a recording one: nothing is done. None when the dry run fails.
    """
    return _needed(plan_actions(plan), system, plan_conns(plan))
