"""`uninstall`: remove what the wizard added, and nothing else.

What the wizard added is known from the same plan that added it: its managed
blocks (removed with `remove_block`, which also brings back the operator
lines a block had commented out), the files it owns outright, the tunnel
interfaces with their routes, the iptables rules, the heartbeat unit. What
the box was before the wizard comes from the journal's baseline
(`wizard.journal.Baseline`): sysctls go back to their value before the wizard
first changed them (where nothing says, they are left alone and the step says
so); a whole file that replaced the operator's own one is put back, bytes,
mode and owner, instead of being deleted; and strongSwan is stopped again if
it was stopped before the first apply.

The removal runs through the apply engine, journaled, so a failed uninstall
is rolled back like a failed apply.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import Any

from wizard.apply import (
    Action,
    ActionContext,
    ApplyResult,
    Prepare,
    Prepared,
    StepEvent,
    file_undo,
    run_actions,
)
from wizard.journal import Baseline, baseline
from wizard.model import Setup
from wizard.operations import AddVtiLink, DaemonReload, LoadSwanctl, SetSysctl, SystemdUnit
from wizard.plan import markers_ok
from wizard.plan_types import Plan
from wizard.render import interface, iptables
from wizard.render.blocks import ManagedBlock, block_ids, insert_block, remove_block
from wizard.system import System
from wizard.system.files import kept_mode


def _remove_file_block(
    path: str, block: ManagedBlock | None, base: Baseline | None = None, ours: bytes = b"",
    planned: int | None = None,
) -> Prepare:
    """Take the wizard's block (or whole file) out of `path`.

    A whole file that replaced the operator's own one is put back as it was
    (bytes, mode, owner: from the baseline) instead of being deleted. A whole
    file no journal says the wizard wrote is removed only if it is exactly
    what the wizard would write (`ours`); anything else there is the
    operator's and stays.
    """
    entry = (base.files.get(path) if base else None) or {}

    def prepare(index: int, ctx: ActionContext) -> Prepared:
        files = ctx.system.files
        state = files.state(path)
        original = base.original(ctx.system.root, path) if base and block is None else None
        if original is not None:
            mode = entry.get("mode") or 0o644
            if state.data == original and state.mode == mode:
                return Prepared(already=True)
            undo = file_undo(index, ctx, path, state)
            undo["dirs"] = []
            return Prepared(undo=undo, do=lambda: files.write(
                path, original, mode, entry.get("uid"), entry.get("gid")))
        if not state.exists:
            return Prepared(already=True)
        new: bytes | None
        if block is None:
            if not entry and state.data != ours:
                return Prepared(skipped=f"{path} was not written by the wizard (no journal "
                                "records it, and it differs from the wizard's); left in place")
            if entry.get("existed"):
                return Prepared(skipped=f"{path} replaced the operator's own file, whose "
                                "original is no longer kept; left in place")
            new = None
        else:
            text = state.data.decode("utf-8", "surrogateescape")  # type: ignore[union-attr]
            markers_ok(path, text, block.comment)
            left = remove_block(text, block)
            if left == text:
                return Prepared(already=True)
            # A file the wizard created is only its skeleton once the blocks are out.
            skeleton = remove_block(insert_block(None, block), block)
            only_ours = not block_ids(left, block.comment) and left.strip() in (
                "", skeleton.strip()
            )
            if entry.get("existed"):  # the operator's file, however little is left of it
                only_ours = False
            new = None if only_ours else left.encode("utf-8", "surrogateescape")
        undo = file_undo(index, ctx, path, state)
        undo["dirs"] = []
        mode = state.mode or 0o644
        before = entry.get("mode")
        if (new is not None and entry.get("existed") and before is not None
                and planned is not None and mode == kept_mode(before, planned)
                and not block_ids(new.decode("utf-8", "surrogateescape"), "#")):
            mode = before  # the wizard tightened it for its keys; the last of them is gone

        def do() -> None:
            if new is None:
                files.remove(path)
                if posixpath.basename(posixpath.dirname(path)) == "vpn-wizard":
                    files.remove_empty_dirs([posixpath.dirname(path)])
            else:
                files.write(path, new, mode, state.uid, state.gid)

        return Prepared(undo=undo, do=do)

    return prepare


def _delete_link(op: AddVtiLink) -> Prepare:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        links = ctx.system.links
        info = links.get(op.name)
        if info is None:
            return Prepared(already=True)
        if info.kind != "vti" or info.vti is None or info.vti.ikey != op.key:
            return Prepared(skipped=f"{op.name} is not the wizard's tunnel (kind {info.kind}, "
                            f"not a vti with key {op.key}); left in place")
        addrs = [[a.local, a.peer, a.prefixlen] for a in links.addresses(op.name)]
        undo: dict[str, Any] = {
            "kind": "link-recreate", "name": op.name, "local": info.vti.local,
            "remote": info.vti.remote, "key": op.key, "addrs": addrs, "up": info.up,
            "mtu": info.mtu, "routes": [],
        }
        return Prepared(undo=undo, do=lambda: links.delete(op.name))

    return prepare


def _delete_rule(table: str, chain: str, rule: tuple[str, ...]) -> Prepare:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        ipt = ctx.system.iptables
        if not ipt.present(table, chain, rule):
            return Prepared(already=True)

        def do() -> None:
            while ipt.present(table, chain, rule):
                ipt.delete(table, chain, rule)

        return Prepared(
            undo={"kind": "iptables-add", "table": table, "chain": chain, "rule": list(rule)},
            do=do,
        )

    return prepare


def _delete_route(dst: str, dev: str, metric: int) -> Prepare:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        links = ctx.system.links
        if not links.has_route(dst, dev, metric):
            return Prepared(already=True)
        return Prepared(
            undo={"kind": "route-add", "dst": dst, "dev": dev, "metric": metric},
            do=lambda: links.del_route(dst, dev, metric),
        )

    return prepare


def _restore_sysctl(key: str, before: str | None) -> Prepare:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        if before is None:
            return Prepared(skipped=f"{key} left as it is: no journal records its value "
                            "before the wizard")
        now = ctx.system.sysctl.get(key)
        if now is None or now == before:
            return Prepared(already=True)
        return Prepared(undo={"kind": "sysctl", "key": key, "value": now},
                        do=lambda: ctx.system.sysctl.set(key, before))

    return prepare


def _disable_unit(unit: str) -> Prepare:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        systemd = ctx.system.systemd
        why = systemd.unavailable()
        if why:
            return Prepared(skipped=f"{why}: {unit} not disabled")
        enabled, active = systemd.unit_state(unit)
        if not enabled and not active:
            return Prepared(already=True)
        return Prepared(undo={"kind": "unit-enable", "unit": unit},
                        do=lambda: systemd.disable_now(unit))

    return prepare


def _daemon_reload() -> Prepare:
    def prepare(index: int, ctx: ActionContext) -> Prepared:
        why = ctx.system.systemd.unavailable()
        if why:
            return Prepared(skipped=f"{why}: 'systemctl daemon-reload' not run")
        if not ctx.changed:
            return Prepared(already=True)
        return Prepared(undo={"kind": "daemon-reload"}, do=ctx.system.systemd.daemon_reload)

    return prepare


def _restart_strongswan(was_running: bool | None = None) -> Prepare:
    """Leave the IKE daemon as the wizard found it: stopped if it was, else restarted."""

    def prepare(index: int, ctx: ActionContext) -> Prepared:
        sw = ctx.system.strongswan
        if not sw.installed() or not sw.running():
            return Prepared(already=True)
        if was_running is False:
            return Prepared(undo={"kind": "strongswan", "was_running": True}, do=sw.stop)
        if not ctx.changed:
            return Prepared(already=True)
        return Prepared(undo={"kind": "strongswan", "was_running": True},
                        do=lambda: sw.restart(()))

    return prepare


def _remove_dirs(dirs: list[str]) -> Prepare:
    """Directories the wizard created, removed if nothing but such directories is left in them."""

    def prepare(index: int, ctx: ActionContext) -> Prepared:
        root = ctx.system.root
        ours = set(dirs)

        def removable(d: str) -> bool:
            local = root.path(d)
            return local.is_dir() and all(
                f"{d}/{p.name}" in ours and removable(f"{d}/{p.name}") for p in local.iterdir()
            )

        gone = [d for d in dirs if removable(d)]
        if not gone:
            return Prepared(already=True)
        return Prepared(undo={"kind": "none"},
                        do=lambda: ctx.system.files.remove_empty_dirs(gone))

    return prepare


def _reload_swanctl(was_running: bool | None = None) -> Prepare:
    """Leave the daemon as the wizard found it: stopped if it was, else reloaded."""

    def prepare(index: int, ctx: ActionContext) -> Prepared:
        sw = ctx.system.strongswan
        if not sw.swanctl_installed() or sw.swanctl_conns() is None:
            return Prepared(already=True)
        if was_running is False:
            return Prepared(undo={"kind": "swanctl", "was_running": True},
                            do=sw.stop_swanctl)
        if not ctx.changed:
            return Prepared(already=True)
        return Prepared(undo={"kind": "swanctl", "was_running": True},
                        do=lambda: sw.load_swanctl((), restart=True))

    return prepare


def uninstall_actions(
    setup: Setup, plan: Plan, sysctl_before: dict[str, str], dirs: Sequence[str] = (),
    base: Baseline | None = None,
) -> list[Action]:
    """Every removal, in an order that never leaves a daemon reading half a config.

    Units stop first; then the tunnels' rules, routes and interfaces (also
    those the updown script made, which the plan does not list); sysctls;
    then the files, newest block first; and only then daemon-reload and the
    strongSwan restart that drops the wizard's conns.
    """
    actions: list[Action] = []
    ops = [op for step in plan for op in step.commands]
    for op in ops:
        if isinstance(op, SystemdUnit):
            actions.append(Action("uninstall.units", f"systemctl disable --now {op.unit}",
                                  _disable_unit(op.unit)))
    for tunnel in setup.tunnels:
        for rule in iptables.mangle_rules(setup, tunnel):
            actions.append(Action("uninstall.iptables", " ".join(rule.undo_argv),
                                  _delete_rule(rule.table, rule.chain, rule.rule)))
    for tunnel in setup.tunnels:
        for route in interface.route_ops(setup, tunnel):
            actions.append(Action("uninstall.interfaces", " ".join(route.undo_argv),
                                  _delete_route(str(route.dst), route.dev, route.metric)))
        link = interface.link_ops(setup, tunnel)[0]
        assert isinstance(link, AddVtiLink)
        actions.append(Action("uninstall.interfaces", " ".join(link.undo_argv),
                              _delete_link(link)))
    tunnel_names = {t.name for t in setup.tunnels}
    for op in ops:
        if isinstance(op, SetSysctl):
            iface = op.key.removeprefix("net.ipv4.conf.").rpartition(".")[0]
            if op.key.startswith("net.ipv4.conf.") and iface in tunnel_names:
                continue  # gone with the interface
            before = sysctl_before.get(op.key)
            actions.append(Action("uninstall.sysctl", f"sysctl -w {op.key}={before or '?'}",
                                  _restore_sysctl(op.key, before)))
    seen: set[tuple[str, str | None]] = set()
    for step in reversed(plan.steps):
        for change in reversed(step.files):
            key = (change.path, change.block.block_id if change.block else None)
            if key in seen:
                continue
            seen.add(key)
            replaced = (change.block is None and base is not None
                        and bool((base.files.get(change.path) or {}).get("data")))
            what = (f"remove block {change.block.block_id} from {change.path}" if change.block
                    else f"restore the operator's {change.path}" if replaced
                    else f"rm {change.path}")
            ours = change.after.encode("utf-8", "surrogateescape")
            actions.append(Action("uninstall.files", what, _remove_file_block(
                change.path, change.block, base, ours, change.mode)))
    if dirs:
        actions.append(Action("uninstall.files", "rmdir " + " ".join(dirs),
                              _remove_dirs(list(dirs))))
    if any(isinstance(op, DaemonReload) for op in ops):
        actions.append(Action("uninstall.daemons", "systemctl daemon-reload", _daemon_reload()))
    if any(isinstance(op, LoadSwanctl) for op in ops):
        stopped = base is not None and base.strongswan_running is False
        actions.append(Action("uninstall.daemons", "systemctl stop strongswan" if stopped
                              else "swanctl --load-all --noprompt",
                              _reload_swanctl(base.strongswan_running if base else None)))
    else:
        stopped = base is not None and base.strongswan_running is False
        actions.append(Action("uninstall.daemons", "ipsec stop" if stopped else "ipsec restart",
                              _restart_strongswan(base.strongswan_running if base else None)))
    return actions


UNINSTALL_STEPS = ("uninstall.units", "uninstall.iptables", "uninstall.interfaces",
                   "uninstall.sysctl", "uninstall.files", "uninstall.daemons")


def uninstall(
    setup: Setup,
    plan: Plan,
    system: System,
    *,
    progress: Callable[[StepEvent], None] = lambda e: None,
    fail_at: str | None = None,
) -> ApplyResult:
    """Remove everything `plan` adds; journaled and rolled back on failure."""
    base = baseline(system.root)
    actions = uninstall_actions(setup, plan, dict(base.sysctl), list(base.dirs), base)
    steps = [s for s in UNINSTALL_STEPS if any(a.step_id == s for a in actions)]
    return run_actions(actions, system, kind="uninstall", secrets=plan.secrets,
                       step_ids=steps, progress=progress, fail_at=fail_at)
