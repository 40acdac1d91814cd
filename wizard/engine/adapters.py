"""One adapter per command family: look at the host, do, undo, and say how it is undone.

The families: sysctl, links, addresses, routes, iptables, strongSwan, swanctl, systemd.

Each adapter sits next to its inverse: adding a route and deleting one, and
the two undo records that put either back. The undo record an adapter writes
is the only thing a rollback reads (possibly in another process, at boot), so
each undo is written to be harmless when there is nothing left to undo.
"""

from __future__ import annotations

from ipaddress import IPv4Interface

from wizard.engine.base import (
    CHARON_SETTINGS,
    PHASE_DAEMON_RELOAD,
    PHASE_NOW,
    PHASE_STRONGSWAN,
    PHASE_SWANCTL,
    PHASE_UNIT_RESTART,
    ActionContext,
    Adapter,
    Prepared,
    reads_changed,
)
from wizard.engine.journal import Journal
from wizard.engine.records import (
    AddrDelUndo,
    DaemonReloadUndo,
    FrrUndo,
    IptablesAddUndo,
    IptablesDelUndo,
    LinkDelUndo,
    LinkRecreateUndo,
    LinkSetUndo,
    NoUndo,
    RouteAddUndo,
    RouteDelUndo,
    StrongswanUndo,
    SwanctlUndo,
    SysctlUndo,
    UnitEnableUndo,
    UnitUndo,
)
from wizard.operations import (
    AddIptablesRule,
    AddPeerAddress,
    AddRoute,
    AddVtiLink,
    DaemonReload,
    DeleteIptablesRule,
    DeleteRoute,
    DeleteVtiLink,
    DisableUnit,
    LoadSwanctl,
    ReloadFrr,
    ReloadStrongswan,
    ReloadSwanctl,
    RestartFrr,
    RestartStrongswan,
    SetLinkUp,
    SetSysctl,
    StopStrongswan,
    StopSwanctl,
    SystemdUnit,
)
from wizard.system import HostError, System


class SysctlAdapter(Adapter):
    """`sysctl -w`: the previous value is read first and is what undo writes back."""

    ops = (SetSysctl,)
    records = (SysctlUndo,)

    def prepare(self, op: SetSysctl, index: int, ctx: ActionContext) -> Prepared:
        s = ctx.system
        previous = s.sysctl.get(op.key)
        if previous == op.value:
            return Prepared(already=True)
        if previous is None and not s.dry_run:
            raise HostError(f"sysctl {op.key}: no such key (does the interface exist?)")
        return Prepared(undo=SysctlUndo(op.key, previous),
                        do=lambda: s.sysctl.set(op.key, op.value))

    def undo(self, record: SysctlUndo, system: System, journal: Journal) -> None:
        now = system.sysctl.get(record.key)
        if record.value is not None and now not in (None, record.value):
            system.sysctl.set(record.key, record.value)

    def undo_argv(self, op: SetSysctl) -> tuple[str, ...]:
        return ("sysctl", "-w", f"{op.written_key}=<previous value>")


class LinkAdapter(Adapter):
    """VTI interfaces: created and set up by apply, deleted (and re-creatable) by uninstall."""

    ops = (AddVtiLink, SetLinkUp, DeleteVtiLink)
    records = (LinkDelUndo, LinkSetUndo, LinkRecreateUndo)

    def prepare(self, op: AddVtiLink | SetLinkUp | DeleteVtiLink, index: int,
                ctx: ActionContext) -> Prepared:
        links = ctx.system.links
        if isinstance(op, AddVtiLink):
            info = links.get(op.name)
            if info is None:
                return Prepared(undo=LinkDelUndo(op.name), do=lambda: links.add_vti(
                    op.name, str(op.local), str(op.remote), op.key))
            want = (str(op.local), str(op.remote), op.key, op.key)
            have = ((info.vti.local, info.vti.remote, info.vti.ikey, info.vti.okey)
                    if info.vti else None)
            if info.kind == "vti" and have == want:
                return Prepared(already=True)
            raise HostError(
                f"interface {op.name} already exists and is not the tunnel the plan needs "
                f"(vti local {op.local} remote {op.remote} key {op.key}); "
                "remove it or give the tunnel another name"
            )
        if isinstance(op, SetLinkUp):
            info = links.get(op.dev)
            if info is not None and info.up and info.mtu == op.mtu:
                return Prepared(already=True)
            undo = LinkSetUndo(op.dev, info.up, info.mtu) if info is not None else NoUndo()
            return Prepared(undo=undo, do=lambda: links.set_link(op.dev, up=True, mtu=op.mtu))
        info = links.get(op.name)
        if info is None:
            return Prepared(already=True)
        if info.kind != "vti" or info.vti is None or info.vti.ikey != op.key:
            return Prepared(skipped=f"{op.name} is not the wizard's tunnel (kind {info.kind}, "
                            f"not a vti with key {op.key}); left in place")
        addrs = tuple((a.local, a.peer, a.prefixlen) for a in links.addresses(op.name))
        values = ((key, ctx.system.sysctl.get(key)) for key in op.sysctls)
        return Prepared(
            undo=LinkRecreateUndo(op.name, info.vti.local, info.vti.remote, op.key, addrs,
                                  info.up, info.mtu,
                                  sysctls=tuple((k, v) for k, v in values if v is not None)),
            do=lambda: links.delete(op.name),
        )

    def undo(self, record: LinkDelUndo | LinkSetUndo | LinkRecreateUndo, system: System,
             journal: Journal) -> None:
        links = system.links
        if isinstance(record, LinkDelUndo):
            if links.get(record.name) is not None:
                links.delete(record.name)
        elif isinstance(record, LinkSetUndo):
            info = links.get(record.dev)
            if info is not None and (info.up, info.mtu) != (record.up, record.mtu):
                links.set_link(record.dev, up=record.up, mtu=record.mtu)
        elif links.get(record.name) is None:
            links.add_vti(record.name, record.local, record.remote, record.key)
            for local, peer, plen in record.addrs:
                if peer:
                    links.add_address(record.name, IPv4Interface(f"{local}/{plen}"),
                                      IPv4Interface(f"{peer}/{plen}"))
            links.set_link(record.name, up=record.up, mtu=record.mtu)
            for dst, metric in record.routes:
                links.add_route(dst, record.name, metric)
            for key, value in record.sysctls:
                if system.sysctl.get(key) not in (None, value):
                    system.sysctl.set(key, value)

    def undo_argv(self, op: AddVtiLink | SetLinkUp | DeleteVtiLink) -> tuple[str, ...]:
        if isinstance(op, AddVtiLink):
            return ("ip", "link", "del", op.name)
        if isinstance(op, SetLinkUp):
            return ("ip", "link", "set", op.dev, "<previous up/down>", "mtu", "<previous mtu>")
        return ("ip", "link", "add", op.name, "type", "vti", "...", "key", str(op.key))


class AddressAdapter(Adapter):
    """The point-to-point inside address of a tunnel interface."""

    ops = (AddPeerAddress,)
    records = (AddrDelUndo,)

    def prepare(self, op: AddPeerAddress, index: int, ctx: ActionContext) -> Prepared:
        links = ctx.system.links
        if _has_address(ctx.system, op.dev, op.local, op.peer):
            return Prepared(already=True)
        return Prepared(undo=AddrDelUndo(op.dev, str(op.local), str(op.peer)),
                        do=lambda: links.add_address(op.dev, op.local, op.peer))

    def undo(self, record: AddrDelUndo, system: System, journal: Journal) -> None:
        local, peer = IPv4Interface(record.local), IPv4Interface(record.peer)
        if _has_address(system, record.dev, local, peer):
            system.links.del_address(record.dev, local, peer)

    def undo_argv(self, op: AddPeerAddress) -> tuple[str, ...]:
        return ("ip", "addr", "del", str(op.local), "remote", str(op.peer), "dev", op.dev)


def _has_address(system: System, dev: str, local: IPv4Interface, peer: IPv4Interface) -> bool:
    wanted = (str(local.ip), str(peer.ip), local.network.prefixlen)
    return any((a.local, a.peer, a.prefixlen) == wanted for a in system.links.addresses(dev))


class RouteAdapter(Adapter):
    """Routes to the VPC through a tunnel interface: added by apply, deleted by uninstall."""

    ops = (AddRoute, DeleteRoute)
    records = (RouteDelUndo, RouteAddUndo)

    def prepare(self, op: AddRoute | DeleteRoute, index: int, ctx: ActionContext) -> Prepared:
        links = ctx.system.links
        dst = str(op.dst)
        present = links.has_route(dst, op.dev, op.metric)
        if isinstance(op, AddRoute):
            if present:
                return Prepared(already=True)
            return Prepared(undo=RouteDelUndo(dst, op.dev, op.metric),
                            do=lambda: links.add_route(dst, op.dev, op.metric))
        if not present:
            return Prepared(already=True)
        return Prepared(undo=RouteAddUndo(dst, op.dev, op.metric),
                        do=lambda: links.del_route(dst, op.dev, op.metric))

    def undo(self, record: RouteDelUndo | RouteAddUndo, system: System,
             journal: Journal) -> None:
        links = system.links
        present = links.has_route(record.dst, record.dev, record.metric)
        if isinstance(record, RouteDelUndo):
            if present:
                links.del_route(record.dst, record.dev, record.metric)
        elif links.get(record.dev) is not None and not present:
            links.add_route(record.dst, record.dev, record.metric)

    def undo_argv(self, op: AddRoute | DeleteRoute) -> tuple[str, ...]:
        verb = "del" if isinstance(op, AddRoute) else "add"
        return ("ip", "route", verb, str(op.dst), "dev", op.dev, "metric", str(op.metric))


class IptablesAdapter(Adapter):
    """Mangle rules: appended once by apply (`-C` first), every copy deleted by uninstall."""

    ops = (AddIptablesRule, DeleteIptablesRule)
    records = (IptablesDelUndo, IptablesAddUndo)

    def prepare(self, op: AddIptablesRule | DeleteIptablesRule, index: int,
                ctx: ActionContext) -> Prepared:
        ipt = ctx.system.iptables
        # A rule the table's listing shows no trace of is appended without its own `-C`
        # (one process instead of two per rule); removal always asks `-C`.
        present = not (isinstance(op, AddIptablesRule)
                       and ipt.surely_absent(op.table, op.chain, op.rule)
                       ) and ipt.present(op.table, op.chain, op.rule)
        if isinstance(op, AddIptablesRule):
            if present:
                return Prepared(already=True)
            return Prepared(undo=IptablesDelUndo(op.table, op.chain, op.rule),
                            do=lambda: ipt.append(op.table, op.chain, op.rule))
        if not present:
            return Prepared(already=True)
        return Prepared(undo=IptablesAddUndo(op.table, op.chain, op.rule),
                        do=lambda: _delete_all(ctx.system, op.table, op.chain, op.rule))

    def undo(self, record: IptablesDelUndo | IptablesAddUndo, system: System,
             journal: Journal) -> None:
        ipt = system.iptables
        if isinstance(record, IptablesDelUndo):
            _delete_all(system, record.table, record.chain, record.rule)
        elif not ipt.present(record.table, record.chain, record.rule):
            ipt.append(record.table, record.chain, record.rule)

    def undo_argv(self, op: AddIptablesRule | DeleteIptablesRule) -> tuple[str, ...]:
        verb = "-D" if isinstance(op, AddIptablesRule) else "-A"
        return ("iptables", "-t", op.table, verb, op.chain, *op.rule)


def _delete_all(system: System, table: str, chain: str, rule: tuple[str, ...]) -> None:
    while system.iptables.present(table, chain, rule):
        system.iptables.delete(table, chain, rule)


class StrongswanAdapter(Adapter):
    """The starter (`ipsec`): restarted by apply; reloaded or stopped by uninstall."""

    ops = (RestartStrongswan, ReloadStrongswan, StopStrongswan)
    records = (StrongswanUndo,)

    def prepare(self, op: RestartStrongswan | ReloadStrongswan | StopStrongswan, index: int,
                ctx: ActionContext) -> Prepared:
        sw = ctx.system.strongswan
        if isinstance(op, RestartStrongswan):
            if not sw.installed():
                raise HostError("strongSwan is not installed (no 'ipsec' command on PATH)")
            running = sw.running()
            # A running daemon with the conns loaded is left alone unless a file it reads
            # changed: new interfaces, routes, rules or units need no restart (the tunnels
            # would drop for nothing).
            if running and not reads_changed(ctx) and set(ctx.conns) <= sw.loaded_conns():
                return Prepared(already=True)
            # A daemon that is not running is started, not restarted: the starter's
            # restart is a stop, a 2 s pause and a start. The undo is the same either way.
            return Prepared(undo=StrongswanUndo(running),
                            do=lambda: (sw.restart if running else sw.start)(ctx.conns))
        if not sw.installed() or not sw.running():
            return Prepared(already=True)
        if isinstance(op, StopStrongswan):
            return Prepared(undo=StrongswanUndo(True), do=sw.stop)
        if not ctx.changed:
            return Prepared(already=True)
        return Prepared(undo=StrongswanUndo(True), do=lambda: sw.restart(()))

    def undo(self, record: StrongswanUndo, system: System, journal: Journal) -> None:
        if record.was_running:
            system.strongswan.restart(())
        elif system.strongswan.running():
            system.strongswan.stop()

    def undo_argv(self, op: RestartStrongswan | ReloadStrongswan | StopStrongswan
                  ) -> tuple[str, ...]:
        if isinstance(op, RestartStrongswan):
            return ("ipsec", "restart", "(or ipsec stop, if it was not running)")
        return ("ipsec", "restart")

    def phase(self, record: StrongswanUndo) -> int:
        return PHASE_STRONGSWAN


class SwanctlAdapter(Adapter):
    """The daemon under swanctl: files loaded by apply; reloaded or stopped by uninstall."""

    ops = (LoadSwanctl, ReloadSwanctl, StopSwanctl)
    records = (SwanctlUndo,)

    def prepare(self, op: LoadSwanctl | ReloadSwanctl | StopSwanctl, index: int,
                ctx: ActionContext) -> Prepared:
        sw = ctx.system.strongswan
        if isinstance(op, LoadSwanctl):
            if not sw.swanctl_installed():
                raise HostError("swanctl is not installed (apt-get install strongswan-swanctl "
                                "charon-systemd)")
            loaded = sw.swanctl_conns()
            running = loaded is not None
            if not reads_changed(ctx) and loaded is not None and set(op.conns) <= loaded:
                return Prepared(already=True)
            # `swanctl --load-all` reloads connections and secrets into the running daemon;
            # charon's own settings and the updown script need a restart.
            restart = reads_changed(ctx, CHARON_SETTINGS) or not running
            return Prepared(undo=SwanctlUndo(running),
                            do=lambda: sw.load_swanctl(op.conns, restart=restart))
        if not sw.swanctl_installed() or sw.swanctl_conns() is None:
            return Prepared(already=True)
        if isinstance(op, StopSwanctl):
            return Prepared(undo=SwanctlUndo(True), do=sw.stop_swanctl)
        if not ctx.changed:
            return Prepared(already=True)
        return Prepared(undo=SwanctlUndo(True), do=lambda: sw.load_swanctl((), restart=True))

    def undo(self, record: SwanctlUndo, system: System, journal: Journal) -> None:
        if record.was_running:
            system.strongswan.load_swanctl((), restart=True)
        elif system.strongswan.swanctl_conns() is not None:
            system.strongswan.stop_swanctl()

    def undo_argv(self, op: LoadSwanctl | ReloadSwanctl | StopSwanctl) -> tuple[str, ...]:
        if isinstance(op, LoadSwanctl):
            return ("swanctl", "--load-all", "--noprompt",
                    "(or systemctl stop strongswan, if it was not running)")
        return ("swanctl", "--load-all", "--noprompt")

    def phase(self, record: SwanctlUndo) -> int:
        return PHASE_SWANCTL


class SystemdAdapter(Adapter):
    """Units: enabled by apply, disabled by uninstall, and the daemon-reload after their files."""

    ops = (SystemdUnit, DisableUnit, DaemonReload)
    records = (UnitUndo, UnitEnableUndo, DaemonReloadUndo)

    def prepare(self, op: SystemdUnit | DisableUnit | DaemonReload, index: int,
                ctx: ActionContext) -> Prepared:
        s = ctx.system
        why = s.systemd.unavailable()
        if isinstance(op, DaemonReload):
            if why:
                return Prepared(skipped=f"{why}: 'systemctl daemon-reload' not run")
            if not (ctx.step_changed if op.scope == "step" else ctx.changed):
                return Prepared(already=True)
            return Prepared(undo=DaemonReloadUndo(), do=s.systemd.daemon_reload)
        if isinstance(op, DisableUnit):
            if why:
                return Prepared(skipped=f"{why}: {op.unit} not disabled")
            enabled, active = s.systemd.unit_state(op.unit)
            if not enabled and not active:
                return Prepared(already=True)
            return Prepared(undo=UnitEnableUndo(op.unit),
                            do=lambda: s.systemd.disable_now(op.unit))
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

        return Prepared(undo=UnitUndo(op.unit, enabled, active), do=do)

    def undo(self, record: UnitUndo | UnitEnableUndo | DaemonReloadUndo, system: System,
             journal: Journal) -> None:
        systemd = system.systemd
        if systemd.unavailable() is not None:
            return
        if isinstance(record, DaemonReloadUndo):
            systemd.daemon_reload()
        elif isinstance(record, UnitEnableUndo):
            systemd.enable_now(record.unit)
        elif record.was_active:  # it ran before: run it again on its restored files
            systemd.restart(record.unit)
        elif not record.was_enabled:
            systemd.disable_now(record.unit)

    def undo_argv(self, op: SystemdUnit | DisableUnit | DaemonReload) -> tuple[str, ...]:
        if isinstance(op, DaemonReload):
            return ("systemctl", "daemon-reload")
        if isinstance(op, DisableUnit):
            return ("systemctl", "enable", "--now", op.unit)
        return ("systemctl", "disable", "--now", op.unit)

    def phase(self, record: UnitUndo | UnitEnableUndo | DaemonReloadUndo) -> int:
        if isinstance(record, DaemonReloadUndo):
            return PHASE_DAEMON_RELOAD
        if isinstance(record, UnitUndo) and record.was_active:
            return PHASE_UNIT_RESTART
        return PHASE_NOW


FRR_UNIT = "frr.service"
FRR_MISSING = ("FRR is not installed: BGP needs its bgpd. Install it with 'apt-get install frr' "
               "(Debian and Ubuntu), then apply again")


class FrrAdapter(Adapter):
    """FRR (BGP): restarted and enabled by apply, restarted by uninstall; systemd's when it runs."""

    ops = (RestartFrr, ReloadFrr)
    records = (FrrUndo,)

    def prepare(self, op: RestartFrr | ReloadFrr, index: int, ctx: ActionContext) -> Prepared:
        s = ctx.system
        frr = s.frr
        if frr is None or not frr.installed():
            if isinstance(op, ReloadFrr):
                return Prepared(already=True)
            raise HostError(FRR_MISSING)
        systemd = s.systemd.unavailable() is None
        if systemd:
            enabled, running = s.systemd.unit_state(FRR_UNIT)
        else:
            enabled, running = None, frr.running()
        if isinstance(op, ReloadFrr):
            if op.disable and systemd and enabled:
                return Prepared(undo=FrrUndo(running, True),
                                do=lambda: s.systemd.disable_now(FRR_UNIT))
            if not running:
                return Prepared(already=True)
            if op.stop:
                return Prepared(undo=FrrUndo(True, enabled), do=frr.stop)
            if not ctx.changed:
                return Prepared(already=True)
            return Prepared(undo=FrrUndo(True, enabled), do=lambda: _restart_frr(ctx.system))
        if running and enabled is not False and not ctx.step_changed:
            return Prepared(already=True)

        def do() -> None:
            if systemd:
                s.systemd.enable_now(FRR_UNIT)
            _restart_frr(s)

        return Prepared(undo=FrrUndo(running, enabled), do=do)

    def undo(self, record: FrrUndo, system: System, journal: Journal) -> None:
        frr = system.frr
        if frr is None or not frr.installed():
            return
        systemd = system.systemd.unavailable() is None
        if record.was_running:
            if systemd and record.was_enabled:  # enabled again, if uninstall had disabled it
                system.systemd.enable_now(FRR_UNIT)
            _restart_frr(system)
        elif systemd and not record.was_enabled:
            system.systemd.disable_now(FRR_UNIT)
        elif frr.running():  # enabled but stopped before (or no systemd): stopped again
            frr.stop()

    def undo_argv(self, op: RestartFrr | ReloadFrr) -> tuple[str, ...]:
        if isinstance(op, RestartFrr):
            return ("systemctl", "restart", FRR_UNIT,
                    "(or disable --now, if it was not running and enabled)")
        if op.disable:
            return ("systemctl", "enable", "--now", FRR_UNIT)
        return ("systemctl", "restart", FRR_UNIT)

    def phase(self, record: FrrUndo) -> int:
        return PHASE_UNIT_RESTART if record.was_running else PHASE_NOW


def _restart_frr(system: System) -> None:
    """`systemctl restart frr` under systemd, else the package's init script."""
    if system.systemd.unavailable() is None:
        system.systemd.restart(FRR_UNIT)
    elif system.frr is not None:
        system.frr.restart()
