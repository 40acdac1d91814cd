"""The AWS document's steps, in its order, as a `Plan` built from a `Setup`.

`build_plan` is the one place that decides *what* happens and in which order;
renderers decide how each artifact reads, `wizard.system` decides nothing.
The plan is built against the files as they are now (read through a callable,
so tests can hand it a dict and `--root` a directory), which makes every file
change a concrete before/after pair that a preview can diff.

Order, as the document gives it: forwarding; `config setup`; per tunnel the
conn, the secret, the VTI, the routes, the iptables rules, the sysctls; then
what is shared (physical/LAN sysctls, install_routes, persistence), the
daemon restart, and the heartbeat. Updown mode replaces the per-tunnel steps
#2-#5 with the updown script, as the document describes.

Two choices retarget the same steps at today's Ubuntu (docs/targets.md):
`backend="swanctl"` writes the conns and keys as swanctl files
("swanctl.conf", "swanctl.secrets") where `config setup` and the per-tunnel
conn/secret steps were, and loads them ("swanctl.load") where strongSwan was
restarted; `persistence="netplan"|"networkd"` keeps the runtime steps as they
are but persists through sysctl.d, netplan or systemd-networkd and a systemd
unit ("persistence.sysctl", "persistence.netplan"/"persistence.networkd",
"persistence.iptables") instead of sysctl.conf, /etc/network/interfaces and
rc.local. With the document's own choices (stroke, seed) the plan is the
document's, step for step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from wizard.blocks import BlockMarkerError, ManagedBlock, check_markers, insert_block
from wizard.model import Setup, Tunnel
from wizard.operations import (
    DaemonReload,
    LoadSwanctl,
    Operation,
    RestartFrr,
    RestartStrongswan,
    SystemdUnit,
)
from wizard.plan_types import FileChange, Note, Plan, Step
from wizard.render import (
    frr,
    heartbeat,
    interface,
    ipsec,
    iptables,
    modern,
    notes,
    persistence,
    swanctl,
    sysctl,
    updown,
)
from wizard.render.guard import checked
from wizard.system.paths import TargetFileError

FileReader = Callable[[str], "str | None"]
"""Reads a target path ("/etc/ipsec.conf") and returns its text, or None if absent."""


class _Files:
    """The target's files as the plan will have left them so far."""

    def __init__(self, read: FileReader) -> None:
        self._read = read
        self._text: dict[str, str | None] = {}
        self._checked: set[str] = set()

    def current(self, path: str) -> str | None:
        if path not in self._text:
            self._text[path] = self._read(path)
        return self._text[path]

    def block(self, path: str, block: ManagedBlock, mode: int) -> FileChange:
        before = self.current(path)
        if path not in self._checked:
            self._checked.add(path)
            markers_ok(path, before, block.comment)
        after = insert_block(before, block)
        self._text[path] = after
        return FileChange(path, mode, before, after, block)

    def whole(self, path: str, content: str, mode: int) -> FileChange:
        before = self.current(path)
        self._text[path] = content
        return FileChange(path, mode, before, content)


def markers_ok(path: str, text: str | None, comment: str = "#") -> None:
    """Raise TargetFileError, naming the file and line, when its vpn-wizard markers are broken."""
    if not text:
        return
    try:
        check_markers(text, comment)
    except BlockMarkerError as err:
        raise TargetFileError(
            path, f"has broken vpn-wizard markers: {err}",
            "the wizard will not rewrite a file whose managed blocks it cannot delimit; "
            "edit the file so that every '# BEGIN vpn-wizard NAME' line is followed by its "
            "'# END vpn-wizard NAME' line (or delete both), then run the wizard again",
            line=err.line,
        ) from None


def _ordinal(tunnel: Tunnel, index: int) -> str:
    return f"Tunnel #{index + 1}"


def build_plan(
    setup: Setup,
    read: FileReader = lambda path: None,
    *,
    heartbeat_command: str = heartbeat.DEFAULT_COMMAND,
) -> Plan:
    """Every step for `setup`, against the files `read` returns.

    The setup is assumed valid (see `wizard.model.validate`); the plan does not
    second-guess it. The box's files are: a shared file with broken
    vpn-wizard markers, or a link or special file where the plan writes,
    raises TargetFileError (path, line, what to fix) before anything is done.

    Args:
        setup: the model.
        read: reads a target file's current text (None when absent).
        heartbeat_command: absolute path of the `vpn-wizard` executable the
            heartbeat unit runs (renderers do not look at the host to find it).
    """
    files = _Files(read)
    steps: list[Step] = []
    choices = setup.choices
    manual = choices.mode == "manual"
    stroke = choices.backend == "stroke"
    modern_persistence = choices.persistence in ("netplan", "networkd")

    if choices.enable_forwarding:
        block, op = sysctl.forwarding()
        steps.append(
            Step(
                "forwarding",
                "Enable IP packet forwarding",
                "Lets this box route packets between its LAN and the tunnels.",
                "#1 steps 1-2",
                files=() if modern_persistence
                else (files.block(sysctl.SYSCTL_CONF, block, 0o644),),
                commands=(op,),
                notes=(notes.SYSCTL_W,) + ((notes.SYSCTL_D,) if modern_persistence else ()),
            )
        )

    if stroke:
        steps.append(
            Step(
                "ipsec.config-setup",
                "Allow both tunnels' IKE SAs at once (uniqueids=no)",
                "Both tunnels share this box's identity; with unique IDs strongSwan would "
                "tear one down when the other connects.",
                "#1 step 3",
                files=(files.block(ipsec.IPSEC_CONF, ipsec.config_setup_block(), 0o644),),
                notes=(notes.UNIQUEIDS_BLOCK,),
            )
        )
    else:
        steps.extend(_swanctl_file_steps(setup, files))

    for index, tunnel in enumerate(setup.tunnels):
        steps.extend(_tunnel_steps(setup, tunnel, index, files, manual))

    steps.append(
        Step(
            "interfaces.sysctl",
            "Disable IPsec policy on the physical and LAN interfaces",
            "Traffic leaving through the physical (and LAN) interfaces must not be matched "
            "against the tunnels' catch-all policies, or it is encrypted twice.",
            "#4 step 1",
            files=() if modern_persistence else
            (files.block(sysctl.SYSCTL_CONF, sysctl.host_interface_block(setup), 0o644),),
            commands=tuple(sysctl.host_interface_values(setup)),
            notes=((notes.SYSCTL_D,) if modern_persistence else (notes.SYSCTL_COMMENTS,))
            + (notes.PHYSICAL_SYSCTL_ONCE, notes.SYSCTL_W)
            + ((notes.LAN_DISABLE_XFRM,) if choices.lan_interfaces else ()),
        )
    )

    steps.append(
        Step(
            "strongswan.install-routes",
            "Keep strongSwan's routes out of table 220 (install_routes = no)",
            "The VTIs and the VPC routes carry the traffic; strongSwan's own 0.0.0.0/0 "
            "route in table 220 would capture everything.",
            "#2 step 3",
            files=(files.block(ipsec.CHARON_CONF, ipsec.install_routes_block(), 0o644),),
            notes=(notes.INSTALL_ROUTES_BLOCK, notes.ROUTING_TABLE)
            + (() if manual else (notes.INSTALL_ROUTES_UPDOWN,)),
        )
    )

    if not manual:
        steps.append(
            Step(
                "updown.script",
                "Install the updown script for automatic failover",
                "strongSwan runs it whenever a tunnel comes up or goes down; it creates and "
                "removes the VTI, the routes and the iptables rules, so traffic follows "
                "whichever tunnel is up.",
                "Automated Tunnel Healthcheck and Failover, steps 1-3",
                files=(files.whole(ipsec.UPDOWN_PATH, updown.script(setup), 0o744),),
                notes=(notes.UPDOWN_QUOTING, notes.UPDOWN_VPC, *notes.mtu_advice(setup)),
            )
        )

    if manual and choices.persistence == "seed":
        steps.append(_persistence_step(setup, files))
    elif modern_persistence:
        steps.extend(_modern_persistence_steps(setup, files))

    # The document restarts strongSwan only in its updown section; in manual mode the
    # restart is what makes #1 steps 3-4 (conns and keys) take effect, so say that.
    restart_ref = ("Automated Tunnel Healthcheck and Failover, step 4" if not manual
                   else "makes #1 steps 3-4 take effect")
    if stroke:
        steps.append(
            Step(
                "strongswan.restart",
                "Restart strongSwan",
                "The daemon reads the new conns, secrets and charon settings only on restart.",
                restart_ref,
                commands=(RestartStrongswan(),),
                notes=(notes.STRONGSWAN_START,) if not manual
                else (notes.STRONGSWAN_RESTART, notes.STRONGSWAN_START),
            )
        )
    else:
        steps.append(
            Step(
                "swanctl.load",
                "Load the connections into strongSwan (swanctl --load-all)",
                "The daemon takes the swanctl files over vici; it is started first when it is "
                "not running, restarted first when its charon settings changed, and both "
                "tunnels are then initiated.",
                restart_ref,
                commands=(LoadSwanctl(swanctl.connection_names(setup)),),
                notes=(notes.SWANCTL_LOAD,),
            )
        )

    if setup.dynamic:
        steps.append(_frr_step(setup, files))
    if choices.heartbeat:
        steps.append(_heartbeat_step(setup, files, heartbeat_command))
    return checked(Plan(tuple(steps), setup.secrets(), setup=setup,
                        heartbeat_command=heartbeat_command), setup)


def _frr_step(setup: Setup, files: _Files) -> Step:
    """BGP over both tunnels: FRR's bgpd, configured in a block of frr.conf, enabled, restarted.

    It comes after strongSwan so the tunnels (and their VTIs) exist when bgpd
    first dials AWS's inside addresses; bgpd retries on its own until they answer.
    An operator's own `router bgp` beside the block is the preflight's to refuse
    (`wizard.preflight.frr_problems`): uninstall builds this same step to find
    the block, and must still run on such a box.
    """
    bgp = setup.tunnels[0].bgp
    asn = bgp.customer_asn if bgp is not None else None
    return Step(
        "frr.bgp",
        "Run BGP over both tunnels with FRR",
        f"AWS brings a tunnel of a BGP connection UP, and routes to this side, only once a "
        f"BGP session runs over it: FRR's bgpd speaks BGP as AS {asn} to AWS's inside "
        "address of each tunnel, learns the VPC's routes and announces "
        f"{', '.join(str(n) for n in setup.choices.advertise)}.",
        "#4 Border Gateway Protocol (BGP) Configuration",
        files=(files.block(frr.FRR_CONF, frr.frr_conf_block(setup), 0o640),
               files.block(frr.DAEMONS, frr.daemons_block(), 0o640)),
        commands=(RestartFrr(),),
        notes=(notes.FRR_BLOCK, notes.FRR_RESTART, notes.FRR_WRITE_MEMORY),
    )


def _heartbeat_step(setup: Setup, files: _Files, command: str) -> Step:
    return Step(
        "heartbeat",
        "Run the tunnel heartbeat as a service",
        "AWS's dead peer detection may tear down an idle tunnel; pinging each AWS "
        "inside address keeps both tunnels busy.",
        "Tunnel Heartbeat",
        files=(files.whole(heartbeat.UNIT, heartbeat.unit(setup, command), 0o644),),
        commands=(DaemonReload(), SystemdUnit(heartbeat.UNIT_NAME)),
        notes=(notes.HEARTBEAT_SERVICE, heartbeat.without_systemd_note(setup, command)),
    )


def _swanctl_file_steps(setup: Setup, files: _Files) -> Iterable[Step]:
    """Seed #1 steps 3-4 for the swanctl backend: both tunnels' conns, then both keys."""
    yield Step(
        "swanctl.conf",
        "Add the strongSwan connections Tunnel1 and Tunnel2 (swanctl)",
        "Describes each tunnel: its AWS endpoint, the proposals, lifetimes, DPD, and the mark "
        "that ties it to its tunnel interface; both IKE SAs may share this box's identity.",
        "#1 step 3",
        files=(files.whole(swanctl.SWANCTL_CONF, swanctl.conf(setup), 0o644),),
        notes=(notes.SWANCTL_FILES, notes.SWANCTL_LIFETIMES, notes.SWANCTL_PROPOSALS,
               notes.SWANCTL_DPD),
    )
    yield Step(
        "swanctl.secrets",
        "Add the tunnels' pre-shared keys (swanctl)",
        "Authenticates this box and each AWS endpoint to each other.",
        "#1 step 4",
        files=(files.whole(swanctl.SWANCTL_SECRETS, swanctl.secrets(setup), 0o600),),
        notes=(notes.SWANCTL_FILES,),
    )


def _modern_persistence_steps(setup: Setup, files: _Files) -> Iterable[Step]:
    """Seed #4-#5 for netplan/networkd boxes: sysctl.d, the tunnels, the rules' unit."""
    manual = setup.choices.mode == "manual"
    yield Step(
        "persistence.sysctl",
        "Keep the kernel settings across reboots (sysctl.d)",
        "Forwarding and the interfaces' IPsec switches are set again at every boot.",
        "#1 steps 1-2, #4 steps 1-2",
        files=(files.whole(modern.SYSCTL_D, modern.sysctl_d(setup), 0o644),),
        notes=(notes.SYSCTL_D, notes.SYSCTL_COMMENTS)
        + ((notes.SYSCTL_D_TUNNELS,) if manual else (notes.UPDOWN_PERSISTENCE,))
        + (notes.PERSISTENCE_BOOT_ONLY,),
    )
    if not manual:
        return
    if setup.choices.persistence == "netplan":
        yield Step(
            "persistence.netplan",
            "Define the tunnel interfaces in netplan",
            "At boot systemd-networkd creates both VTIs with their inside addresses, MTU and "
            "VPC routes, as the document's /etc/network/interfaces stanza did.",
            "#5 step 3",
            files=(files.whole(modern.NETPLAN, modern.netplan(setup), 0o600),),
            notes=(notes.NETPLAN_NO_PEER, notes.PERSISTENCE_BOOT_ONLY),
        )
    else:
        changes = []
        for tunnel in setup.tunnels:
            netdev_path, network_path = modern.networkd_paths(tunnel)
            changes.append(files.whole(netdev_path, modern.netdev(setup, tunnel), 0o644))
            changes.append(files.whole(network_path, modern.network(setup, tunnel), 0o644))
        yield Step(
            "persistence.networkd",
            "Define the tunnel interfaces for systemd-networkd",
            "At boot systemd-networkd creates both VTIs with their inside addresses, MTU and "
            "VPC routes, as the document's /etc/network/interfaces stanza did.",
            "#5 step 3",
            files=tuple(changes),
            notes=(notes.NETWORKD_INDEPENDENT, notes.PERSISTENCE_BOOT_ONLY),
        )
    yield Step(
        "persistence.iptables",
        "Restore the iptables rules at boot (systemd unit)",
        "Without it the mangle rules made above are gone after a restart.",
        "#5 steps 1-2",
        files=(files.whole(modern.IPTABLES_UNIT, modern.iptables_unit(setup), 0o644),),
        commands=(DaemonReload(), SystemdUnit(modern.IPTABLES_UNIT_NAME)),
        notes=(notes.IPTABLES_UNIT, notes.PERSISTENCE_BOOT_ONLY),
    )


def _tunnel_steps(
    setup: Setup, tunnel: Tunnel, index: int, files: _Files, manual: bool
) -> Iterable[Step]:
    where = _ordinal(tunnel, index)
    if setup.choices.backend == "stroke":
        yield from _stroke_conn_steps(setup, tunnel, where, files)
    if not manual:
        return
    yield from _runtime_steps(setup, tunnel, where)


def _stroke_conn_steps(setup: Setup, tunnel: Tunnel, where: str, files: _Files) -> Iterable[Step]:
    slug = tunnel.name.lower()
    yield Step(
        f"{slug}.conn",
        f"Add the strongSwan connection {tunnel.name}",
        f"Describes {tunnel.name}: the AWS endpoint {tunnel.aws_outside_ip}, the proposals, "
        f"DPD, and mark {tunnel.mark} that ties it to its tunnel interface.",
        f"{where} · #1 step 3",
        files=(files.block(ipsec.IPSEC_CONF, ipsec.conn_block(setup, tunnel), 0o644),),
    )
    yield Step(
        f"{slug}.secrets",
        f"Add the pre-shared key of {tunnel.name}",
        "Authenticates this box and the AWS endpoint to each other.",
        f"{where} · #1 step 4",
        files=(files.block(ipsec.IPSEC_SECRETS, ipsec.secrets_block(setup, tunnel), 0o600),),
    )


def _runtime_steps(setup: Setup, tunnel: Tunnel, where: str) -> Iterable[Step]:
    """Seed #2-#4 for one tunnel, run now (manual mode), whatever the persistence."""
    slug = tunnel.name.lower()
    yield Step(
        f"{slug}.interface",
        f"Create the tunnel interface {tunnel.name}",
        "All traffic to and from the VPC through this tunnel is sent and received on it.",
        f"{where} · #2 step 1",
        commands=tuple(interface.link_ops(setup, tunnel)),
        notes=notes.mtu_advice(setup),
    )
    routes = interface.route_ops(setup, tunnel)
    if routes:
        yield Step(
            f"{slug}.route",
            f"Route the VPC through {tunnel.name}",
            f"Metric {tunnel.mark}: the tunnel with the lower metric carries the traffic "
            "while it is up.",
            f"{where} · #2 step 2",
            commands=tuple(routes),
        )
    yield Step(
        f"{slug}.iptables",
        f"Add the iptables mangle rules for {tunnel.name}",
        "Clamps TCP MSS to the tunnel's MTU and marks ESP from the AWS endpoint so the kernel "
        "delivers it to the tunnel interface.",
        f"{where} · #3",
        commands=tuple(iptables.mangle_rules(setup, tunnel)),
        notes=(notes.IPTABLES_CHECK,)
        + ((notes.NAT_LOCAL_IP,) if setup.choices.local_ip else ()),
    )
    yield Step(
        f"{slug}.sysctl",
        f"Tune {tunnel.name} (rp_filter, disable_policy)",
        "Loose reverse-path filtering allows asymmetric routing over two tunnels; the VTI "
        "itself needs no policy lookup.",
        f"{where} · #4",
        commands=tuple(sysctl.tunnel_values(tunnel)),
        notes=(notes.TUNNEL_SYSCTL_AT_BOOT,),
    )


def _persistence_step(setup: Setup, files: _Files) -> Step:
    changes = [
        files.whole(persistence.IPTABLES_RULES, iptables.restore_file(setup), 0o644),
        files.block(persistence.RC_LOCAL, persistence.rc_local_block(), 0o755),
    ]
    changes += [
        files.block(persistence.INTERFACES, persistence.interfaces_block(setup, tunnel), 0o644)
        for tunnel in setup.tunnels
    ]
    step_notes: tuple[Note, ...] = (
        notes.IPTABLES_PERSISTENCE,
        notes.RC_LOCAL_CREATED,
        notes.INTERFACES_ROUTES,
    )
    return Step(
        "persistence",
        "Make the tunnels survive a reboot",
        "Without this, the interfaces, rules and routes made above are gone after a restart.",
        "#5 steps 1-3",
        files=tuple(changes),
        notes=step_notes,
    )


def commands(plan: Plan) -> list[Operation]:
    """Every operation of the plan, in order (for recording executors and tests)."""
    return [op for step in plan for op in step.commands]
