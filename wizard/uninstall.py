"""The uninstall plan: what the wizard added, as typed removals, built before any is done.

What the wizard added is known from the same plan that added it (rebuilt from
the applied manifest, or from `--import/--answers`): its managed blocks
(taken out, which also brings back the operator lines a block had commented
out), the files it owns outright, the tunnel interfaces with their routes,
the iptables rules, the heartbeat unit, the manifest itself. What the box was
before the wizard comes from the journal's baseline (`wizard.engine.journal.Baseline`):
sysctls go back to their value before the wizard first changed them (where
nothing says, they are left alone and the step says so); a whole file that
replaced the operator's own one is put back, bytes, mode and owner, instead
of being deleted; and strongSwan is stopped again if it was stopped before
the first apply.

The result is a `Plan` like apply's, so it is previewed by the same
machinery (every file diff, every command, keys masked) and run by the same
engine (`wizard.apply.apply_plan`), journaled: a failed uninstall is rolled
back like a failed apply. Each file's change is decided from the file as it
is by `wizard.engine.files.removal_effect`, once for the preview and again at
run time, so the preview says what the run does.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import replace

from rich.console import RenderableType
from rich.text import Text

from wizard.apply import ApplyResult, StepEvent, apply_plan, needed
from wizard.engine.files import dir_removable, removal_effect
from wizard.engine.journal import STATE_DIR, Baseline, baseline
from wizard.manifest import (
    MANIFEST_MODE,
    MANIFEST_PATH,
    AppliedManifest,
    ManifestError,
    load_manifest,
)
from wizard.model import Setup
from wizard.operations import (
    AddVtiLink,
    DaemonReload,
    DeleteIptablesRule,
    DeleteRoute,
    DeleteVtiLink,
    DisableUnit,
    LoadSwanctl,
    Operation,
    ReloadFrr,
    ReloadStrongswan,
    ReloadSwanctl,
    RemoveDir,
    RestartFrr,
    SetSysctl,
    StopStrongswan,
    StopSwanctl,
    SystemdUnit,
)
from wizard.plan import build_plan
from wizard.plan_types import FileChange, FileRemoval, Plan, Step
from wizard.preview import step_renderable
from wizard.redact import Redactor
from wizard.render import frr, heartbeat, interface, iptables
from wizard.system import System
from wizard.system.executable import vpn_wizard_command
from wizard.system.files import FileState
from wizard.system.paths import Root

StateReader = Callable[[str], FileState]
"""The file at a target path as it is now (`System.files.state`)."""

UNINSTALL_STEPS = ("uninstall.units", "uninstall.iptables", "uninstall.interfaces",
                   "uninstall.sysctl", "uninstall.files", "uninstall.daemons")


def build_uninstall_plan(
    setup: Setup,
    state: StateReader,
    base: Baseline,
    root: Root,
    *,
    heartbeat_command: str = heartbeat.DEFAULT_COMMAND,
) -> Plan:
    """Every removal for `setup`, in an order that never leaves a daemon reading half a config.

    Units stop first; then the tunnels' rules, routes and interfaces (also
    those the updown script made, which the apply plan does not list); sysctls;
    then the files, newest block first, the manifest and the directories the
    wizard created; and only then daemon-reload and the strongSwan restart
    that drops the wizard's conns.

    Args:
        setup: what was applied (the manifest's, or the operator's inputs).
        state: reads each file as it is now, for the diffs.
        base: the journal's baseline (`wizard.engine.journal.baseline`).
        root: where the baseline keeps the operator's replaced files.
        heartbeat_command: the command the applied heartbeat unit starts, so
            the unit file is recognised as the wizard's.
    """

    def read(path: str) -> str | None:
        now = state(path)
        return now.data.decode("utf-8", "surrogateescape") if now.data is not None else None

    applied = build_plan(setup, read, heartbeat_command=heartbeat_command)
    ops = [op for step in applied for op in step.commands]
    steps: list[Step] = []

    def add(step_id: str, title: str, why: str, files: list[FileChange],
            commands: list[Operation]) -> None:
        if files or commands:
            steps.append(Step(step_id, title, why, "uninstall", tuple(files), tuple(commands)))

    add("uninstall.units", "Stop and disable the wizard's units",
        "The heartbeat (and any unit the wizard enabled) stops before its files go.", [],
        [DisableUnit(op.unit) for op in ops if isinstance(op, SystemdUnit)])
    add("uninstall.iptables", "Delete the tunnels' iptables rules",
        "Every copy of each mangle rule the wizard added, and only those.", [],
        [DeleteIptablesRule(r.table, r.chain, r.rule) for t in setup.tunnels
         for r in iptables.mangle_rules(setup, t)])
    links: list[Operation] = []
    for tunnel in setup.tunnels:
        links += [DeleteRoute(r.dst, r.dev, r.metric) for r in interface.route_ops(setup, tunnel)]
        link = interface.link_ops(setup, tunnel)[0]
        assert isinstance(link, AddVtiLink)
        own = f"net.ipv4.conf.{link.name}."
        keys = tuple(dict.fromkeys(op.key for op in ops
                                   if isinstance(op, SetSysctl) and op.key.startswith(own)))
        links.append(DeleteVtiLink(link.name, link.key, keys))
    add("uninstall.interfaces", "Delete the tunnel interfaces and their routes",
        "Only interfaces that are the wizard's VTI (its key); anything else is left in place.",
        [], links)
    sysctls: list[Operation] = []
    unknown: list[str] = []
    tunnel_names = {t.name for t in setup.tunnels}
    for op in ops:
        if not isinstance(op, SetSysctl):
            continue
        iface = op.key.removeprefix("net.ipv4.conf.").rpartition(".")[0]
        if op.key.startswith("net.ipv4.conf.") and iface in tunnel_names:
            continue  # gone with the interface
        before = base.sysctl.get(op.key)
        if before is None:
            unknown.append(op.key)
        elif all(not (isinstance(o, SetSysctl) and o.key == op.key) for o in sysctls):
            sysctls.append(SetSysctl(op.key, before))
    why = "Each kernel setting goes back to its value before the wizard first changed it."
    if unknown:
        why += (" Left as they are, since no journal records their value before the wizard: "
                + ", ".join(unknown) + ".")
    add("uninstall.sysctl", "Restore the kernel settings", why, [], sysctls)
    files = _file_removals(applied, state, base, root)
    add("uninstall.files", "Remove the wizard's blocks and files",
        "Only the wizard's blocks go; the operator's lines stay byte for byte, and a file "
        "the wizard replaced whole is put back.", list(files), _dir_removals(base, files, root))
    daemons: list[Operation] = []
    if any(isinstance(op, DaemonReload) for op in ops):
        daemons.append(DaemonReload(scope="transaction"))
    stopped = base.strongswan_running is False
    if any(isinstance(op, LoadSwanctl) for op in ops):
        daemons.append(StopSwanctl() if stopped else ReloadSwanctl())
    else:
        daemons.append(StopStrongswan() if stopped else ReloadStrongswan())
    why = ("Stopped if it was stopped before the wizard's first apply; otherwise reloaded "
           "without the wizard's connections.")
    if any(isinstance(op, RestartFrr) for op in ops):
        daemons.append(ReloadFrr(stop=base.frr_running is False,
                                 disable=base.frr_enabled is False))
        why += (" FRR is stopped (and disabled) if it was before the wizard's first apply; "
                "otherwise restarted on frr.conf and daemons without the wizard's blocks, so "
                "bgpd drops the wizard's router and neighbors.")
        why += _frr_markers_gone(read(frr.FRR_CONF))
    add("uninstall.daemons", "Leave strongSwan (and FRR) as the wizard found them", why, [],
        daemons)
    keys = tuple(s for s in setup.secrets() if s.reveal())  # a manifest's setup holds none
    return Plan(tuple(steps), keys, kind="uninstall")


def _frr_markers_gone(text: str | None) -> str:
    """A warning when frr.conf has a BGP router but no wizard block (`write memory` was used)."""
    router = frr.operator_router(text)
    if router is None or (text is not None and "BEGIN vpn-wizard bgp" in text):
        return ""
    return (f" /etc/frr/frr.conf holds {router!r} but no vpn-wizard block: vtysh's 'write "
            "memory' has rewritten the file without the block's markers, so the wizard "
            "cannot tell its lines from yours and leaves them; remove that router by hand "
            "if it is the wizard's.")


def _file_removals(applied: Plan, state: StateReader, base: Baseline, root: Root
                   ) -> list[FileRemoval]:
    out: list[FileRemoval] = []
    seen: set[tuple[str, str | None]] = set()
    wanted: list[tuple[FileChange, bool]] = []
    for step in reversed(applied.steps):
        for change in reversed(step.files):
            key = (change.path, change.block.block_id if change.block else None)
            if key not in seen:
                seen.add(key)
                wanted.append((change, False))
    wanted.append((FileChange(MANIFEST_PATH, MANIFEST_MODE, None, ""), True))
    after: dict[str, FileState] = {}
    for change, is_manifest in wanted:
        entry = base.files.get(change.path) or {}
        removal = FileRemoval(
            path=change.path, mode=change.mode, before=None, after="", block=change.block,
            ours=change.after.encode("utf-8", "surrogateescape"), planned_mode=change.mode,
            known=bool(entry) or is_manifest, existed=bool(entry.get("existed")),
            old_mode=entry.get("mode"), uid=entry.get("uid"), gid=entry.get("gid"),
            original=base.original(root, change.path) if change.block is None else None,
        )
        now = after.get(change.path) or state(change.path)
        if is_manifest and not now.exists:
            continue
        previewed, after[change.path] = _with_preview(removal, now)
        out.append(previewed)
    return out


def _with_preview(removal: FileRemoval, now: FileState) -> tuple[FileRemoval, FileState]:
    """`removal` with `before`/`after`/`mode` from its effect on `now`; and the file after it.

    Each removal sees the file as the removals before it in the plan left it
    (two blocks out of one file: the second one's diff starts without the
    first, and removes the file if nothing else is left), as the run will.
    """
    before = now.data.decode("utf-8", "surrogateescape") if now.data is not None else None
    effect = removal_effect(removal, now)
    if effect.already or effect.skipped:
        kept = replace(removal, before=before, after=before or "",
                       mode=now.mode or removal.mode)
        return kept, now
    if effect.removed:
        return replace(removal, before=before, after="", removed=True,
                       mode=now.mode or removal.mode), FileState(None)
    after = (effect.data or b"").decode("utf-8", "surrogateescape")
    return (replace(removal, before=before, after=after, mode=effect.mode),
            FileState(effect.data, effect.mode, effect.uid, effect.gid))


def _dir_removals(base: Baseline, files: list[FileRemoval], root: Root) -> list[Operation]:
    """The directories the wizard created, innermost first, each only if nothing else is in it.

    A directory named after the wizard (/etc/vpn-wizard) goes with its last
    file even when no journal recorded creating it; the wizard's state
    directory stays (it holds the journal of this very uninstall).
    """
    removed = [f.path for f in files if f.removed]
    dirs = list(base.dirs)
    for path in removed:
        parent = posixpath.dirname(path)
        if (posixpath.basename(parent) == "vpn-wizard" and parent not in dirs
                and parent != STATE_DIR):
            dirs.append(parent)
    ours = (*dirs, *removed)
    ops = [RemoveDir(d, ours) for d in sorted(dirs, key=lambda d: d.count("/"), reverse=True)]
    return [op for op in ops if dir_removable(root, op)]  # the run asks again, the same way


def uninstall_plan_for(
    system: System, setup: Setup, heartbeat_command: str = heartbeat.DEFAULT_COMMAND
) -> Plan:
    """The uninstall plan for `setup` on the box behind `system`: only what is there to remove.

    Every removal is first run dry, through the same adapters, against the
    box as it is (`wizard.apply.needed`); the commands with nothing to do
    (a tunnel interface the updown script never created, a rule already
    gone) are left out, so the preview lists exactly what the run will do.
    Files stay listed either way: a file left as it is shows no diff.
    """
    candidate = build_uninstall_plan(setup, system.files.state, baseline(system.root),
                                     system.root, heartbeat_command=heartbeat_command)
    probe = System.recording(system.root)
    try:
        flags = needed(candidate, probe)
    finally:
        probe.close()
    if flags is None:
        return candidate  # the dry run failed: the run will fail the same way, and say why
    steps: list[Step] = []
    index = 0
    for step in candidate:
        index += len(step.files)
        kept = tuple(op for i, op in enumerate(step.commands, start=index) if flags[i])
        index += len(step.commands)
        if step.files or kept:
            steps.append(replace(step, commands=kept))
    return replace(candidate, steps=tuple(steps))


NOTHING_REMOVED = "Nothing has been removed yet: this is a preview."


def preview(plan: Plan, *, show_secrets: bool = False) -> Iterator[RenderableType]:
    """The uninstall plan as `vpn-wizard uninstall` and the TUI show it before asking.

    The same machinery as apply's preview (`wizard.preview`): every file's
    diff and every command, each key masked by what its file is.
    """
    redactor = Redactor.for_plan(plan, show=show_secrets)
    for number, step in enumerate(plan, start=1):
        yield step_renderable(step, number, redactor)
    yield Text(NOTHING_REMOVED, style="bold green")


def target_from(read: Callable[[str], str | None], setup: Setup | None = None
                ) -> tuple[Setup, str, AppliedManifest | None]:
    """What to uninstall: the given setup (from the operator's inputs), else the applied manifest.

    Returns:
        (setup, the heartbeat command its units start, the manifest or None).

    Raises:
        ManifestError: the manifest is missing (and no setup was given) or unreadable;
            the message says what to do.
    """
    manifest = load_manifest(read)
    if setup is not None:
        command = (manifest.heartbeat_command if manifest
                   else vpn_wizard_command(heartbeat.DEFAULT_COMMAND))
        return setup, command, manifest
    if manifest is None:
        raise ManifestError(MANIFEST_PATH, "no applied manifest: the wizard has not kept a "
                            "setup on this box (or it was uninstalled); give the setup to "
                            "remove with --import FILE and/or --answers FILE")
    return manifest.setup, manifest.heartbeat_command, manifest


def uninstall(
    setup: Setup,
    plan: Plan,
    system: System,
    *,
    progress: Callable[[StepEvent], None] = lambda e: None,
    fail_at: str | None = None,
) -> ApplyResult:
    """Remove everything the apply `plan` for `setup` adds; journaled and rolled back on failure."""
    removal = uninstall_plan_for(system, setup,
                                 plan.heartbeat_command or heartbeat.DEFAULT_COMMAND)
    return apply_plan(removal, system, progress=progress, fail_at=fail_at)
