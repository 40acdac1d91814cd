"""Runs a plan through `wizard.system`, journals every action first, and undoes it on failure.

A plan is flattened into actions - each file a step writes, then each command
it runs - and every action goes through the same four moves:

1. look at the host: is the effect already there? (then it is "unchanged"
   and nothing is journaled for it - a re-run changes nothing);
2. write an "intent" record saying how to undo it, and fsync it;
3. do it;
4. write a "done" record.

If an action fails, everything with an intent record is undone in reverse
order - an action that failed halfway included, since its undo is written to
be harmless when there is nothing to undo. The daemons (strongSwan, systemd)
are restarted last, once their configuration is back, so they never load a
half-restored file. A process killed anywhere leaves a journal `vpn-wizard
rollback` can finish the job from (see `wizard.journal`).

The same engine runs `uninstall`: its actions remove what the wizard added,
journaled the same way, so a failed uninstall puts things back too.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from typing import Any, Literal

from wizard.journal import (
    Journal,
    JournalError,
    LockBusy,
    NullJournal,
    baseline,
    locked,
    settle,
    unfinished,
)
from wizard.operations import (
    AddIptablesRule,
    AddPeerAddress,
    AddRoute,
    AddVtiLink,
    DaemonReload,
    LoadSwanctl,
    Operation,
    RestartStrongswan,
    SetLinkUp,
    SetSysctl,
    SystemdUnit,
)
from wizard.plan import markers_ok
from wizard.plan_types import FileChange, Plan
from wizard.render.blocks import insert_block
from wizard.render.ipsec import IPSEC_CONF
from wizard.secret import Secret, redact
from wizard.system import HostError, System
from wizard.system.files import kept_mode
from wizard.system.paths import TargetFileError

StepState = Literal["running", "done", "unchanged", "failed", "rolled-back"]

FAIL_AT_ENV = "VPN_WIZARD_FAIL_AT"
"""Fault injection for tests and the lab: fail at this action index (or step id)."""
KILL_AT_ENV = "VPN_WIZARD_KILL_AT"
"""Crash injection: SIGKILL ourselves right after doing this action, before recording it."""

#: Undo kinds run after every other undo, once the files they read are restored.
DEFERRED = ("daemon-reload", "unit-restart", "strongswan", "swanctl")


@dataclass(frozen=True)
class StepEvent:
    """Progress of one plan step, for the CLI's lines and the TUI's list.

    Attributes:
        step_id: the plan step's id ("tunnel1.iptables").
        state: where the step is.
        message: detail for the operator (why it failed, why it was skipped);
            never contains a PSK.
    """

    step_id: str
    state: StepState
    message: str = ""


@dataclass(frozen=True)
class ApplyResult:
    """How an apply (or rollback, or uninstall) ended.

    Attributes:
        ok: True when every action succeeded (or was already in place).
        changed: False when everything was already in place (idempotent re-run).
        failed_step: the step whose action failed, if any.
        error: why, in the operator's words.
        transaction: the journal id, for `confirm`/`rollback` and the logs.
        events: every StepEvent sent to `progress`, in order.
    """

    ok: bool
    changed: bool
    failed_step: str | None
    error: str | None
    transaction: str | None
    events: tuple[StepEvent, ...]


class FaultInjected(HostError):
    """The failure asked for by `fail_at` (tests and the lab)."""


class SimulatedCrash(BaseException):
    """Stands in for SIGKILL in-process: no handler of ours runs, the journal stays as is.

    Raised instead of killing the process when KILL_AT is "raise:N", so unit
    tests can crash at every action without a process per point.
    """


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Prepared:
    """What looking at the host decided for one action."""

    already: bool = False
    """The effect is in place: nothing to do, nothing to undo."""
    skipped: str | None = None
    """Cannot be done on this host, and that is not an error (no systemd); why."""
    undo: dict[str, Any] | None = None
    do: Callable[[], None] | None = None


@dataclass
class ActionContext:
    """What the actions of one transaction share."""

    system: System
    journal: Journal
    conns: tuple[str, ...] = ()
    changed: bool = False
    step_changed: bool = False


Prepare = Callable[[int, ActionContext], Prepared]
"""Looks at the host for action N and says what to do and how to undo it."""


@dataclass(frozen=True)
class Action:
    """One thing done to the host, with the step it belongs to.

    Attributes:
        step_id: the plan step.
        what: the command line or file write it stands for (no secrets).
        prepare: looks at the host and returns what to do and how to undo it.
    """

    step_id: str
    what: str
    prepare: Prepare = field(repr=False)


def _file_prepare(change: FileChange) -> Callable[[int, ActionContext], Prepared]:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        files = ctx.system.files
        state = files.state(change.path)  # refuses a link or special file, at apply time too
        if change.block is not None:
            current = state.data.decode("utf-8", "surrogateescape") if state.exists else None
            markers_ok(change.path, current, change.block.comment)
            new = insert_block(current, change.block).encode("utf-8", "surrogateescape")
        else:
            new = change.after.encode("utf-8", "surrogateescape")
        mode = kept_mode(state.mode, change.mode) if state.mode is not None else change.mode
        if state.data == new and state.mode == mode:
            return Prepared(already=True)
        undo = file_undo(index, ctx, change.path, state)
        undo["block"] = change.block is not None
        return Prepared(
            undo=undo,
            do=lambda: files.write(change.path, new, mode, state.uid, state.gid),
        )

    return prepare


def file_undo(index: int, ctx: ActionContext, path: str, state: Any) -> dict[str, Any]:
    """How to put `path` back: its saved original (or its absence), and the dirs a write makes.

    Written to the journal before the temporary file or any directory is
    created, so a kill at any instant of the write is undone completely
    (the undo also removes the temporary file, see `_undo_entry`).
    """
    saved = ctx.journal.save_original(index, state.data) if state.exists else None
    return {
        "kind": "file", "path": path, "existed": state.exists, "mode": state.mode,
        "uid": state.uid, "gid": state.gid, "saved": saved,
        "dirs": ctx.system.files.missing_dirs(path),
    }


def _op_prepare(op: Operation) -> Callable[[int, ActionContext], Prepared]:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        return _prepare_op(op, ctx)

    return prepare


def _prepare_op(op: Operation, ctx: ActionContext) -> Prepared:
    s = ctx.system
    if isinstance(op, SetSysctl):
        previous = s.sysctl.get(op.key)
        if previous == op.value:
            return Prepared(already=True)
        if previous is None and not s.dry_run:
            raise HostError(f"sysctl {op.key}: no such key (does the interface exist?)")
        return Prepared(
            undo={"kind": "sysctl", "key": op.key, "value": previous},
            do=lambda: s.sysctl.set(op.key, op.value),
        )
    if isinstance(op, AddVtiLink):
        info = s.links.get(op.name)
        if info is not None:
            want = (str(op.local), str(op.remote), op.key, op.key)
            have = (
                (info.vti.local, info.vti.remote, info.vti.ikey, info.vti.okey)
                if info.vti else None
            )
            if info.kind == "vti" and have == want:
                return Prepared(already=True)
            raise HostError(
                f"interface {op.name} already exists and is not the tunnel the plan needs "
                f"(vti local {op.local} remote {op.remote} key {op.key}); "
                "remove it or give the tunnel another name"
            )
        return Prepared(
            undo={"kind": "link-del", "name": op.name},
            do=lambda: s.links.add_vti(op.name, str(op.local), str(op.remote), op.key),
        )
    if isinstance(op, AddPeerAddress):
        wanted = (str(op.local.ip), str(op.peer.ip), op.local.network.prefixlen)
        if any((a.local, a.peer, a.prefixlen) == wanted for a in s.links.addresses(op.dev)):
            return Prepared(already=True)
        return Prepared(
            undo={"kind": "addr-del", "dev": op.dev, "local": str(op.local),
                  "peer": str(op.peer)},
            do=lambda: s.links.add_address(op.dev, op.local, op.peer),
        )
    if isinstance(op, SetLinkUp):
        info = s.links.get(op.dev)
        if info is not None and info.up and info.mtu == op.mtu:
            return Prepared(already=True)
        undo = (
            {"kind": "link-set", "dev": op.dev, "up": info.up, "mtu": info.mtu}
            if info is not None else {"kind": "none"}
        )
        return Prepared(undo=undo, do=lambda: s.links.set_link(op.dev, up=True, mtu=op.mtu))
    if isinstance(op, AddRoute):
        dst = str(op.dst)
        if s.links.has_route(dst, op.dev, op.metric):
            return Prepared(already=True)
        return Prepared(
            undo={"kind": "route-del", "dst": dst, "dev": op.dev, "metric": op.metric},
            do=lambda: s.links.add_route(dst, op.dev, op.metric),
        )
    if isinstance(op, AddIptablesRule):
        if s.iptables.present(op.table, op.chain, op.rule):
            return Prepared(already=True)
        return Prepared(
            undo={"kind": "iptables-del", "table": op.table, "chain": op.chain,
                  "rule": list(op.rule)},
            do=lambda: s.iptables.append(op.table, op.chain, op.rule),
        )
    if isinstance(op, RestartStrongswan):
        if not s.strongswan.installed():
            raise HostError("strongSwan is not installed (no 'ipsec' command on PATH)")
        running = s.strongswan.running()
        if not ctx.changed and running and set(ctx.conns) <= s.strongswan.loaded_conns():
            return Prepared(already=True)
        return Prepared(
            undo={"kind": "strongswan", "was_running": running},
            do=lambda: s.strongswan.restart(ctx.conns),
        )
    if isinstance(op, LoadSwanctl):
        if not s.strongswan.swanctl_installed():
            raise HostError("swanctl is not installed (apt-get install strongswan-swanctl "
                            "charon-systemd)")
        loaded = s.strongswan.swanctl_conns()
        running = loaded is not None
        if not ctx.changed and loaded is not None and set(op.conns) <= loaded:
            return Prepared(already=True)
        restart = ctx.changed or not running
        return Prepared(
            undo={"kind": "swanctl", "was_running": running},
            do=lambda: s.strongswan.load_swanctl(op.conns, restart=restart),
        )
    if isinstance(op, DaemonReload):
        why = s.systemd.unavailable()
        if why:
            return Prepared(skipped=f"{why}: 'systemctl daemon-reload' not run")
        if not ctx.step_changed:
            return Prepared(already=True)
        return Prepared(undo={"kind": "daemon-reload"}, do=s.systemd.daemon_reload)
    if isinstance(op, SystemdUnit):
        why = s.systemd.unavailable()
        if why:
            where = ("its files would be written for a box that runs systemd"
                     if s.dry_run else "its files are in place for a box that runs systemd")
            return Prepared(skipped=f"{why}: {op.unit} was not enabled; {where}")
        enabled, active = s.systemd.unit_state(op.unit)
        if enabled and active and not ctx.step_changed:
            return Prepared(already=True)

        def do() -> None:
            s.systemd.enable_now(op.unit)
            if active:  # enable --now leaves a running unit on its old files
                s.systemd.restart(op.unit)

        return Prepared(
            undo={"kind": "unit", "unit": op.unit, "was_enabled": enabled,
                  "was_active": active},
            do=do,
        )
    raise HostError(f"no adapter for {type(op).__name__}")


def plan_actions(plan: Plan) -> list[Action]:
    """The plan as the engine runs it: per step, its files, then its commands.

    The index of an action in this list is its fault point (`fail_at`).
    """
    actions: list[Action] = []
    for step in plan:
        for change in step.files:
            block = f" [block {change.block.block_id}]" if change.block else ""
            actions.append(
                Action(step.id, f"write {change.path} ({change.mode:04o}){block}",
                       _file_prepare(change))
            )
        for op in step.commands:
            actions.append(Action(step.id, " ".join(op.argv), _op_prepare(op)))
    return actions


def fault_points(plan: Plan) -> list[tuple[int, str, str]]:
    """(index, step id, what) of every action, for tests that fail at each one."""
    return [(i, a.step_id, a.what) for i, a in enumerate(plan_actions(plan))]


def plan_conns(plan: Plan) -> tuple[str, ...]:
    """The conns the plan writes into ipsec.conf: what a restart must see loaded."""
    names = []
    for step in plan:
        for change in step.files:
            if change.path == IPSEC_CONF and change.block is not None:
                first = change.block.body.lstrip().split("\n", 1)[0]
                if first.startswith("conn "):
                    names.append(first.split()[1])
    return tuple(names)


# --------------------------------------------------------------------------- undo


def _undo_entry(undo: dict[str, Any], system: System, journal: Journal) -> None:
    kind = undo.get("kind")
    s = system
    if kind == "file":
        path = undo["path"]
        s.files.remove_tmp(path)  # a write killed between its temporary file and the rename
        if undo["existed"]:
            data = journal.read_original(undo["saved"])
            now = s.files.state(path)
            if now.data != data or now.mode != undo["mode"]:
                s.files.write(path, data, undo["mode"], undo["uid"], undo["gid"])
        else:
            s.files.remove(path)
            s.files.remove_empty_dirs(undo.get("dirs") or [])
    elif kind == "sysctl":
        if undo["value"] is not None and s.sysctl.get(undo["key"]) not in (None, undo["value"]):
            s.sysctl.set(undo["key"], undo["value"])
    elif kind == "link-del":
        if s.links.get(undo["name"]) is not None:
            s.links.delete(undo["name"])
    elif kind == "link-set":
        info = s.links.get(undo["dev"])
        if info is not None and (info.up, info.mtu) != (undo["up"], undo["mtu"]):
            s.links.set_link(undo["dev"], up=undo["up"], mtu=undo["mtu"])
    elif kind == "addr-del":
        local, peer = IPv4Interface(undo["local"]), IPv4Interface(undo["peer"])
        wanted = (str(local.ip), str(peer.ip), local.network.prefixlen)
        if any((a.local, a.peer, a.prefixlen) == wanted for a in s.links.addresses(undo["dev"])):
            s.links.del_address(undo["dev"], local, peer)
    elif kind == "route-del":
        if s.links.has_route(undo["dst"], undo["dev"], undo["metric"]):
            s.links.del_route(undo["dst"], undo["dev"], undo["metric"])
    elif kind == "route-add":
        if s.links.get(undo["dev"]) is not None and not s.links.has_route(
            undo["dst"], undo["dev"], undo["metric"]
        ):
            s.links.add_route(undo["dst"], undo["dev"], undo["metric"])
    elif kind == "iptables-del":
        while s.iptables.present(undo["table"], undo["chain"], undo["rule"]):
            s.iptables.delete(undo["table"], undo["chain"], undo["rule"])
    elif kind == "iptables-add":
        if not s.iptables.present(undo["table"], undo["chain"], undo["rule"]):
            s.iptables.append(undo["table"], undo["chain"], undo["rule"])
    elif kind == "link-recreate":
        if s.links.get(undo["name"]) is None:
            s.links.add_vti(undo["name"], undo["local"], undo["remote"], undo["key"])
            for local, peer, plen in undo["addrs"]:
                if peer:
                    s.links.add_address(undo["name"], IPv4Interface(f"{local}/{plen}"),
                                        IPv4Interface(f"{peer}/{plen}"))
            s.links.set_link(undo["name"], up=undo["up"], mtu=undo["mtu"])
            for dst, metric in undo.get("routes", []):
                s.links.add_route(dst, undo["name"], metric)
    elif kind == "unit":
        if s.systemd.unavailable() is None and not undo["was_enabled"]:
            s.systemd.disable_now(undo["unit"])
    elif kind == "unit-enable":
        if s.systemd.unavailable() is None:
            s.systemd.enable_now(undo["unit"])
    elif kind == "unit-restart":
        if s.systemd.unavailable() is None:
            s.systemd.restart(undo["unit"])
    elif kind == "daemon-reload":
        if s.systemd.unavailable() is None:
            s.systemd.daemon_reload()
    elif kind == "strongswan":
        if undo["was_running"]:
            s.strongswan.restart(())
        elif s.strongswan.running():
            s.strongswan.stop()
    elif kind == "swanctl":
        if undo["was_running"]:
            s.strongswan.load_swanctl((), restart=True)
        elif s.strongswan.swanctl_conns() is not None:
            s.strongswan.stop_swanctl()
    elif kind == "none":
        pass
    else:
        raise HostError(f"the journal holds an undo this version does not know: {kind!r}")


def _deferred_kind(undo: dict[str, Any]) -> str | None:
    kind = undo.get("kind")
    if kind == "unit" and undo.get("was_active"):
        return "unit-restart"
    return kind if kind in DEFERRED else None


def _rollback(
    journal: Journal,
    system: System,
    emit: Callable[[StepEvent], None],
    secrets: Sequence[Secret] = (),
) -> list[str]:
    """Undo every action of `journal` that has an intent and no undone record.

    Best effort: an undo that fails is recorded and reported, and the others
    still run, because stopping halfway would leave the box in a state no one
    planned. Returns the errors.
    """
    records = journal.records()
    journal.set_state("rolling-back")
    undone = {r["index"] for r in records if r.get("type") == "undone"}
    intents = [r for r in records if r.get("type") == "intent" and r["index"] not in undone]
    errors: list[str] = []
    deferred: list[tuple[str, dict[str, Any]]] = []
    steps_done: list[str] = []

    def run(entry: dict[str, Any], undo: dict[str, Any]) -> None:
        try:
            _undo_entry(undo, system, journal)
        except (HostError, OSError, TargetFileError) as err:
            message = redact(str(err), secrets)
            errors.append(f"{entry['step']}: undo failed: {message}")
            journal.record({"type": "undo-failed", "index": entry["index"], "error": message})
        else:
            journal.record({"type": "undone", "index": entry["index"]})

    for entry in sorted(intents, key=lambda r: r["index"], reverse=True):
        undo = entry.get("undo") or {"kind": "none"}
        if entry["step"] not in steps_done:
            steps_done.append(entry["step"])
        later = _deferred_kind(undo)
        if later:
            deferred.append((later, entry))
            continue
        run(entry, undo)
    for kind in DEFERRED:
        for later, entry in deferred:
            if later == kind:
                undo = dict(entry["undo"])
                if kind == "unit-restart":
                    undo["kind"] = "unit-restart"
                run(entry, undo)
    for step_id in steps_done:
        emit(StepEvent(step_id, "rolled-back", "undone" if not errors else "undone (see errors)"))
    journal.set_state("rolled-back" if not errors else "rollback-failed", errors=errors)
    if not errors:
        _disarm_boot_guard(system)
    return errors


def _arm_boot_guard(system: System) -> None:
    """While a confirmation is pending, a power loss must not keep the changes (boot_guard)."""
    from wizard.render.heartbeat import DEFAULT_COMMAND
    from wizard.system import boot
    from wizard.system.executable import vpn_wizard_command

    if boot.can_arm(system):
        boot.arm(system.root, vpn_wizard_command(DEFAULT_COMMAND))


def _disarm_boot_guard(system: System) -> None:
    """The transaction is settled: the boot guard has nothing left to guard."""
    from wizard.system import boot

    if not system.dry_run and boot.armed(system.root):
        boot.disarm(system.root)


# --------------------------------------------------------------------------- running


def _matches(point: str | None, index: int, step_id: str) -> bool:
    if not point:
        return False
    return point == step_id if not point.isdigit() else int(point) == index


def _maybe_crash(kill_at: str | None, index: int, step_id: str) -> None:
    """The crash hook: SIGKILL (or, for in-process tests, SimulatedCrash) at this action."""
    if not kill_at:
        return
    if kill_at.startswith("raise:"):
        if _matches(kill_at[6:], index, step_id):
            raise SimulatedCrash(index)
    elif _matches(kill_at, index, step_id):
        os.kill(os.getpid(), signal.SIGKILL)


def run_actions(
    actions: Sequence[Action],
    system: System,
    *,
    kind: str = "apply",
    conns: tuple[str, ...] = (),
    secrets: Sequence[Secret] = (),
    step_ids: Sequence[str] = (),
    progress: Callable[[StepEvent], None] = lambda e: None,
    fail_at: str | None = None,
    confirm_timeout: float | None = None,
) -> ApplyResult:
    """Run `actions` as one journaled transaction; see the module docstring."""
    events: list[StepEvent] = []

    def emit(event: StepEvent) -> None:
        event = StepEvent(event.step_id, event.state, redact(event.message, secrets))
        events.append(event)
        progress(event)

    def refused(error: str) -> ApplyResult:
        return ApplyResult(False, False, None, error, None, tuple(events))

    if system.dry_run:
        return _run(actions, system, NullJournal(), conns, secrets, step_ids, emit, events,
                    fail_at, None, None)
    pending = unfinished(system.root)
    if pending is not None:
        return refused(
            f"an earlier {pending.kind} ({pending.id}) is unfinished ({pending.state}): "
            "run 'vpn-wizard rollback' (or 'vpn-wizard confirm') first"
        )
    try:
        with locked(system.root, wait=2.0):
            settle(system.root)
            journal = Journal.begin(
                system.root, kind, steps=list(step_ids),
                actions=[[a.step_id, a.what] for a in actions], conns=list(conns),
            )
            timer_pid = None
            if confirm_timeout is not None:
                from wizard.revert_timer import spawn

                timer_pid = spawn(system.root, journal.id)
                journal.record({"type": "timer", "pid": timer_pid})
                _arm_boot_guard(system)
            kill_at = os.environ.get(KILL_AT_ENV)
            return _run(actions, system, journal, conns, secrets, step_ids, emit, events,
                        fail_at or os.environ.get(FAIL_AT_ENV), kill_at,
                        (confirm_timeout, timer_pid))
    except LockBusy as err:
        return refused(f"{err}; nothing was changed")
    except (JournalError, OSError) as err:
        return refused(f"cannot write the journal under /var/lib/vpn-wizard: {err}")


def _run(
    actions: Sequence[Action],
    system: System,
    journal: Journal,
    conns: tuple[str, ...],
    secrets: Sequence[Secret],
    step_ids: Sequence[str],
    emit: Callable[[StepEvent], None],
    events: list[StepEvent],
    fail_at: str | None,
    kill_at: str | None,
    confirm: tuple[float | None, int | None] | None,
) -> ApplyResult:
    ctx = ActionContext(system, journal, conns)
    by_step: dict[str, list[int]] = {}
    for i, action in enumerate(actions):
        by_step.setdefault(action.step_id, []).append(i)
    order = list(step_ids) or list(by_step)
    for step_id in by_step:
        if step_id not in order:
            order.append(step_id)

    for step_id in order:
        emit(StepEvent(step_id, "running"))
        ctx.step_changed = False
        notes: list[str] = []
        for index in by_step.get(step_id, []):
            action = actions[index]
            try:
                prepared = action.prepare(index, ctx)
                if prepared.skipped or prepared.already:
                    outcome = "skipped" if prepared.skipped else "unchanged"
                    journal.record({"type": "result", "index": index, "step": step_id,
                                    "what": action.what, "outcome": outcome,
                                    "why": prepared.skipped})
                    if prepared.skipped:
                        notes.append(f"skipped: {prepared.skipped}")
                    if _matches(fail_at, index, step_id):
                        raise FaultInjected(f"injected failure at action {index} ({action.what})")
                    _maybe_crash(kill_at, index, step_id)
                    continue
                journal.record({"type": "intent", "index": index, "step": step_id,
                                "what": action.what, "undo": prepared.undo})
                if _matches(fail_at, index, step_id):
                    raise FaultInjected(f"injected failure at action {index} ({action.what})")
                assert prepared.do is not None
                prepared.do()
                _maybe_crash(kill_at, index, step_id)
                journal.record({"type": "result", "index": index, "step": step_id,
                                "outcome": "done"})
                ctx.changed = ctx.step_changed = True
            except Exception as err:  # any failure, ours or the host's, rolls back
                message = redact(str(err) or type(err).__name__, secrets)
                journal.record({"type": "result", "index": index, "step": step_id,
                                "outcome": "failed", "error": message})
                emit(StepEvent(step_id, "failed", message))
                errors = _rollback(journal, system, emit, secrets) if not system.dry_run else []
                if not system.dry_run:
                    settle(system.root)
                error = f"{action.what}: {message}"
                if errors:
                    error += "; rollback incomplete: " + "; ".join(errors)
                return ApplyResult(False, False, step_id, error, journal.id or None,
                                   tuple(events))
        if ctx.step_changed:
            emit(StepEvent(step_id, "done", "; ".join(notes)))
        else:
            emit(StepEvent(step_id, "done" if notes else "unchanged",
                           "; ".join(notes) or "already in place"))

    timeout, timer_pid = confirm if confirm else (None, None)
    if timeout is not None and ctx.changed:
        journal.set_state("pending-confirm", deadline=time.time() + timeout,
                          timer_pid=timer_pid)
    elif not system.dry_run:
        journal.set_state("applied", changed=ctx.changed)
        settle(system.root)
    return ApplyResult(True, ctx.changed, None, None, journal.id or None, tuple(events))


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
        plan: from `wizard.plan.build_plan`.
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
        What happened; on failure everything done was undone first.
    """
    return run_actions(
        plan_actions(plan), system, kind="apply", conns=plan_conns(plan),
        secrets=plan.secrets, step_ids=[s.id for s in plan], progress=progress,
        fail_at=fail_at, confirm_timeout=confirm_timeout,
    )


# --------------------------------------------------------------------------- after apply


def rollback(
    system: System,
    transaction: str | None = None,
    *,
    progress: Callable[[StepEvent], None] = lambda e: None,
    only_if: Sequence[str] | None = None,
    wait: float = 30.0,
) -> ApplyResult:
    """Undo an unfinished or unconfirmed transaction (the newest, unless named).

    Args:
        only_if: act only when the transaction is in one of these states
            (the revert timer passes "pending-confirm" and "applying", so a
            confirmation that wins the race is respected).
        wait: seconds to wait for the lock held by a running apply.
    """
    events: list[StepEvent] = []

    def emit(event: StepEvent) -> None:
        events.append(event)
        progress(event)

    try:
        with locked(system.root, wait=wait):
            settle(system.root)  # finish the pruning a kill interrupted, whatever follows
            journal = Journal(system.root, transaction) if transaction else unfinished(system.root)
            if journal is None or not journal.records():
                return ApplyResult(True, False, None, None, None, ())
            allowed = only_if or ("applying", "pending-confirm", "rolling-back",
                                  "rollback-failed")
            if journal.state not in allowed:
                return ApplyResult(True, False, None, None, journal.id, ())
            errors = _rollback(journal, system, emit)
            settle(system.root)
    except LockBusy as err:
        return ApplyResult(False, False, None, str(err), transaction, ())
    error = "; ".join(errors) or None
    return ApplyResult(not errors, True, None, error, journal.id, tuple(events))


def confirm(system: System, transaction: str | None = None) -> tuple[bool, str]:
    """Keep the changes of a pending apply; stops its revert timer.

    Returns:
        (kept, message). A confirmation after the deadline is refused: the
        timer may already be undoing the changes.
    """
    with locked(system.root, wait=30.0):
        journal = Journal(system.root, transaction) if transaction else unfinished(system.root)
        if journal is None or journal.state != "pending-confirm":
            return False, "nothing is waiting for confirmation"
        state = journal.last_state()
        if time.time() > float(state.get("deadline", 0)):
            return False, f"too late: the confirmation time of {journal.id} has passed"
        journal.set_state("confirmed")
        _disarm_boot_guard(system)
        settle(system.root)
        pid = state.get("timer_pid")
    if pid:
        from wizard.revert_timer import stop

        stop(int(pid), journal.id)
    return True, f"changes of {journal.id} kept"


# --------------------------------------------------------------------------- history


def created_dirs(system: System) -> list[str]:
    """Directories the wizard's kept applies created, outermost first (from the baseline)."""
    return list(baseline(system.root).dirs)


def previous_sysctl_values(system: System) -> dict[str, str]:
    """Each sysctl's value before the wizard first changed it (from the baseline)."""
    return dict(baseline(system.root).sysctl)
