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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from wizard.model import Setup, Tunnel
from wizard.operations import DaemonReload, Operation, RestartStrongswan, SystemdUnit
from wizard.plan_types import FileChange, Note, Plan, Step
from wizard.render import (
    heartbeat,
    interface,
    ipsec,
    iptables,
    notes,
    persistence,
    sysctl,
    updown,
)
from wizard.render.blocks import ManagedBlock, insert_block

FileReader = Callable[[str], "str | None"]
"""Reads a target path ("/etc/ipsec.conf") and returns its text, or None if absent."""


class _Files:
    """The target's files as the plan will have left them so far."""

    def __init__(self, read: FileReader) -> None:
        self._read = read
        self._text: dict[str, str | None] = {}

    def current(self, path: str) -> str | None:
        if path not in self._text:
            self._text[path] = self._read(path)
        return self._text[path]

    def block(self, path: str, block: ManagedBlock, mode: int) -> FileChange:
        before = self.current(path)
        after = insert_block(before, block)
        self._text[path] = after
        return FileChange(path, mode, before, after, block)

    def whole(self, path: str, content: str, mode: int) -> FileChange:
        before = self.current(path)
        self._text[path] = content
        return FileChange(path, mode, before, content)


def _ordinal(tunnel: Tunnel, index: int) -> str:
    return f"Tunnel #{index + 1}"


def build_plan(setup: Setup, read: FileReader = lambda path: None) -> Plan:
    """Every step for `setup`, against the files `read` returns.

    The setup is assumed valid (see `wizard.model.validate`); the plan does not
    second-guess it.
    """
    files = _Files(read)
    steps: list[Step] = []
    manual = setup.choices.mode == "manual"

    if setup.choices.enable_forwarding:
        block, op = sysctl.forwarding()
        steps.append(
            Step(
                "forwarding",
                "Enable IP packet forwarding",
                "Lets this box route packets between its LAN and the tunnels.",
                "#1 steps 1-2",
                files=(files.block(sysctl.SYSCTL_CONF, block, 0o644),),
                commands=(op,),
                notes=(notes.SYSCTL_W,),
            )
        )

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

    for index, tunnel in enumerate(setup.tunnels):
        steps.extend(_tunnel_steps(setup, tunnel, index, files, manual))

    steps.append(
        Step(
            "interfaces.sysctl",
            "Disable IPsec policy on the physical and LAN interfaces",
            "Traffic leaving through the physical (and LAN) interfaces must not be matched "
            "against the tunnels' catch-all policies, or it is encrypted twice.",
            "#4 step 1",
            files=(files.block(sysctl.SYSCTL_CONF, sysctl.host_interface_block(setup), 0o644),),
            commands=tuple(sysctl.host_interface_values(setup)),
            notes=(notes.SYSCTL_COMMENTS, notes.PHYSICAL_SYSCTL_ONCE, notes.SYSCTL_W)
            + ((notes.LAN_DISABLE_XFRM,) if setup.choices.lan_interfaces else ()),
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
            notes=(notes.INSTALL_ROUTES_BLOCK,)
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
                notes=(notes.UPDOWN_QUOTING, notes.UPDOWN_VPC),
            )
        )

    if manual and setup.choices.persistence == "seed":
        steps.append(_persistence_step(setup, files))

    steps.append(
        Step(
            "strongswan.restart",
            "Restart strongSwan",
            "The daemon reads the new conns, secrets and charon settings only on restart.",
            "Automated Tunnel Healthcheck and Failover, step 4",
            commands=(RestartStrongswan(),),
            notes=() if not manual else (notes.STRONGSWAN_RESTART,),
        )
    )

    if setup.choices.heartbeat:
        steps.append(
            Step(
                "heartbeat",
                "Run the tunnel heartbeat as a service",
                "AWS's dead peer detection may tear down an idle tunnel; pinging each AWS "
                "inside address keeps both tunnels busy.",
                "Tunnel Heartbeat",
                files=(
                    files.whole(heartbeat.SCRIPT, heartbeat.script(setup), 0o755),
                    files.whole(heartbeat.UNIT, heartbeat.unit(setup), 0o644),
                ),
                commands=(DaemonReload(), SystemdUnit(heartbeat.UNIT_NAME)),
                notes=(notes.HEARTBEAT_SERVICE,),
            )
        )
    return Plan(tuple(steps), setup.secrets())


def _tunnel_steps(
    setup: Setup, tunnel: Tunnel, index: int, files: _Files, manual: bool
) -> Iterable[Step]:
    slug = tunnel.name.lower()
    where = _ordinal(tunnel, index)
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
    if not manual:
        return
    yield Step(
        f"{slug}.interface",
        f"Create the tunnel interface {tunnel.name}",
        "All traffic to and from the VPC through this tunnel is sent and received on it.",
        f"{where} · #2 step 1",
        commands=tuple(interface.link_ops(setup, tunnel)),
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
