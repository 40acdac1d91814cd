"""A plan as the engine runs it: actions, each with the one adapter that does and undoes it.

The registry maps every operation type and every undo record type to its
adapter (`wizard.engine.adapters`, `wizard.engine.files`); it is checked when
it is built, so an operation without an adapter, or a record two adapters
claim, fails at import rather than in a rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.engine import adapters, files
from wizard.engine.base import ActionContext, Adapter, Prepared
from wizard.engine.records import RECORDS, UndoRecord
from wizard.operations import Operation
from wizard.plan_types import FileChange, FileRemoval, Plan
from wizard.render.ipsec import IPSEC_CONF

ADAPTERS: tuple[Adapter, ...] = (
    files.WriteFileAdapter(), files.RemoveFileAdapter(), files.RemoveDirAdapter(),
    adapters.SysctlAdapter(), adapters.LinkAdapter(), adapters.AddressAdapter(),
    adapters.RouteAdapter(), adapters.IptablesAdapter(), adapters.StrongswanAdapter(),
    adapters.SwanctlAdapter(), adapters.SystemdAdapter(), adapters.FrrAdapter(),
)


def _index(attr: str) -> dict[type, Adapter]:
    table: dict[type, Adapter] = {}
    for adapter in ADAPTERS:
        for kind in getattr(adapter, attr):
            if kind in table:
                raise TypeError(f"{kind.__name__} has two adapters")
            table[kind] = adapter
    return table


BY_OP = _index("ops")
BY_RECORD = _index("records")
_missing = [name for name, cls in RECORDS.items() if cls not in BY_RECORD]
if _missing:  # pragma: no cover - a new record type without its undo
    raise TypeError(f"undo records without an adapter: {_missing}")


def adapter_for(op: Operation | FileChange) -> Adapter:
    """The adapter that prepares, does and undoes `op`."""
    try:
        return BY_OP[type(op)]
    except KeyError:
        raise TypeError(f"no adapter for {type(op).__name__}") from None


def undoer_for(record: UndoRecord) -> Adapter:
    """The adapter that runs `record` in a rollback."""
    return BY_RECORD[type(record)]


def undo_argv(op: Operation | FileChange) -> tuple[str, ...]:
    """How the preview says `op` is undone: from the adapter whose undo runs in a rollback."""
    return adapter_for(op).undo_argv(op)


@dataclass(frozen=True)
class Action:
    """One thing done to the host, with the step it belongs to.

    Attributes:
        step_id: the plan step.
        what: the command line or file write it stands for (no secrets).
        op: the operation (or file change) its adapter prepares.
    """

    step_id: str
    what: str
    op: Any

    def prepare(self, index: int, ctx: ActionContext) -> Prepared:
        """Look at the host through the op's adapter."""
        return adapter_for(self.op).prepare(self.op, index, ctx)


def describe_file(change: FileChange) -> str:
    """The action line of a file change, as the journal and the fault points name it."""
    if isinstance(change, FileRemoval):
        if change.block is not None:
            return f"remove block {change.block.block_id} from {change.path}"
        return (f"restore the operator's {change.path}" if change.original is not None
                else f"rm {change.path}")
    block = f" [block {change.block.block_id}]" if change.block else ""
    return f"write {change.path} ({change.mode:04o}){block}"


def plan_actions(plan: Plan) -> list[Action]:
    """The plan as the engine runs it: per step, its files, then its commands.

    The index of an action in this list is its fault point (`fail_at`).
    """
    actions: list[Action] = []
    for step in plan:
        for change in step.files:
            actions.append(Action(step.id, describe_file(change), change))
        for op in step.commands:
            adapter_for(op)  # an operation without an adapter is refused before anything runs
            actions.append(Action(step.id, " ".join(op.argv), op))
    return actions


def fault_points(plan: Plan) -> list[tuple[int, str, str]]:
    """(index, step id, what) of every action, for tests that fail at each one."""
    return [(i, a.step_id, a.what) for i, a in enumerate(plan_actions(plan))]


def plan_conns(plan: Plan) -> tuple[str, ...]:
    """The conns the plan writes into ipsec.conf: what a restart must see loaded."""
    names = []
    for step in plan:
        for change in step.files:
            if (change.path == IPSEC_CONF and change.block is not None
                    and not isinstance(change, FileRemoval)):
                first = change.block.body.lstrip().split("\n", 1)[0]
                if first.startswith("conn "):
                    names.append(first.split()[1])
    return tuple(names)
