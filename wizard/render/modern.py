"""Seed #4-#5 for today's Ubuntu: sysctl.d, netplan or systemd-networkd, and a systemd unit.

The document persists its work with lines in /etc/sysctl.conf, a stanza in
/etc/network/interfaces and `iptables-restore` in /etc/rc.local. Ubuntu 18.04
and later configure the network with netplan (rendered to systemd-networkd),
read sysctl.d drop-ins, and ship no rc.local. These renderers write the same
state in those places, each as a file the wizard owns whole:

* `/etc/sysctl.d/60-vpn-wizard.conf`: forwarding, the physical and LAN
  interfaces' switches, and (manual mode) the tunnels' own switches;
* `/etc/netplan/60-vpn-wizard.yaml` (0600, as netplan demands) or, on a box
  that runs systemd-networkd without netplan,
  `/etc/systemd/network/60-vpn-wizard-<tunnel>.netdev|.network`: the VTIs,
  their inside addresses, MTU and VPC routes;
* `/etc/systemd/system/vpn-wizard-iptables.service`: the mangle rules.

They are boot-time files only. Applying the plan never runs `netplan apply`
or restarts systemd-networkd (either can drop the SSH session the operator is
applying through); the running box gets the same VTIs, routes, rules and
sysctls from the plan's runtime steps, exactly as in manual mode. See
docs/targets.md for the whole mapping.
"""

from __future__ import annotations

import re

from wizard.model import Setup, Tunnel
from wizard.operations import SetSysctl
from wizard.render import interface, iptables, sysctl

SYSCTL_D = "/etc/sysctl.d/60-vpn-wizard.conf"
NETPLAN = "/etc/netplan/60-vpn-wizard.yaml"
NETWORKD_DIR = "/etc/systemd/network"
IPTABLES_UNIT_NAME = "vpn-wizard-iptables.service"
IPTABLES_UNIT = f"/etc/systemd/system/{IPTABLES_UNIT_NAME}"
IPTABLES_BIN = "/usr/sbin/iptables"
"""Where Debian and Ubuntu (usr-merged) keep iptables; a unit needs an absolute path."""

_HEADER = (
    "# vpn-wizard: {what}.\n"
    "# The whole file is the wizard's: a re-run replaces it, 'vpn-wizard uninstall' removes it.\n"
)


# --------------------------------------------------------------------------- sysctl.d


def sysctl_values(setup: Setup) -> list[SetSysctl]:
    """What 60-vpn-wizard.conf sets: forwarding, host interfaces, and the tunnels (manual mode).

    The tunnel lines work from sysctl.d where they fail from a boot-time
    `sysctl -p`: systemd's udev rule (99-systemd.rules) runs
    `systemd-sysctl --prefix=/net/ipv4/conf/<name>` whenever an interface
    appears, so they are applied the moment networkd creates Tunnel1 (see
    sysctl-d-tunnels). In updown mode the script sets them itself.
    """
    values: list[SetSysctl] = []
    if setup.choices.enable_forwarding:
        values.append(sysctl.forwarding()[1])
    values += sysctl.host_interface_values(setup)
    if setup.choices.mode == "manual":
        for tunnel in setup.tunnels:
            values += sysctl.tunnel_values(tunnel)
    return values


def sysctl_d(setup: Setup) -> str:
    """The whole of /etc/sysctl.d/60-vpn-wizard.conf (comments on their own lines)."""
    head = _HEADER.format(what="kernel settings for the AWS tunnels (systemd-sysctl reads this "
                          "at boot,\n# and again for each interface as it appears)")
    return head + sysctl.as_lines(sysctl_values(setup)) + "\n"


# --------------------------------------------------------------------------- netplan

_YAML_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _yaml_key(name: str) -> str:
    """An interface name as a YAML key; quoted when YAML would read it as something else."""
    if _YAML_PLAIN.fullmatch(name) and name.lower() not in _YAML_WORDS:
        return name
    return '"' + name + '"'


def netplan_tunnel_lines(setup: Setup, tunnel: Tunnel) -> list[str]:
    """One `tunnels:` entry: the seed's VTI, address, MTU and routes.

    netplan has no peer address for a tunnel (its address options are only
    `lifetime` and `label`), so the inside address is the /30 alone: the
    kernel then routes the whole /30, AWS's end included, over the VTI, which
    is what the peer address achieved (see netplan-no-peer). `renderer:
    networkd` is set on the tunnel itself (NetworkManager would otherwise
    render it on desktops) rather than file-wide, which would change the
    renderer of every interface netplan merges with it.
    """
    add, _, _ = interface.link_ops(setup, tunnel)
    lines = [
        f"    {_yaml_key(tunnel.name)}:",
        "      renderer: networkd",
        "      mode: vti",
        f"      local: {add.local}",
        f"      remote: {add.remote}",
        "      keys:",
        f"        input: {tunnel.mark}",
        f"        output: {tunnel.mark}",
        "      addresses:",
        f"        - {tunnel.customer_inside_cidr}",
        f"      mtu: {setup.choices.mtu}",
        "      optional: true",
    ]
    routes = interface.route_ops(setup, tunnel)
    if routes:
        lines.append("      routes:")
        for route in routes:
            lines += [
                f"        - to: {route.dst}",
                "          scope: link",
                f"          metric: {route.metric}",
            ]
    return lines


def netplan(setup: Setup) -> str:
    """The whole of /etc/netplan/60-vpn-wizard.yaml (manual mode; written 0600)."""
    head = _HEADER.format(what="the AWS tunnels' interfaces, created by systemd-networkd at "
                          "boot.\n# Applying the wizard does not run 'netplan apply'")
    lines = ["network:", "  version: 2", "  tunnels:"]
    for tunnel in setup.tunnels:
        lines += netplan_tunnel_lines(setup, tunnel)
    return head + "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- systemd-networkd


def networkd_paths(tunnel: Tunnel) -> tuple[str, str]:
    """The .netdev and .network of one tunnel, under /etc/systemd/network."""
    base = f"{NETWORKD_DIR}/60-vpn-wizard-{tunnel.name}"
    return f"{base}.netdev", f"{base}.network"


def netdev(setup: Setup, tunnel: Tunnel) -> str:
    """`[NetDev] Kind=vti` with the seed's local, remote and key.

    `Independent=yes` (systemd 248+, Ubuntu 22.04's 249 and later) lets
    networkd create the tunnel without a `Tunnel=` line in the physical
    interface's .network file, which is the operator's; it is also what
    netplan itself generates for a tunnel (see networkd-independent).
    """
    add, _, _ = interface.link_ops(setup, tunnel)
    head = _HEADER.format(what=f"the AWS tunnel interface {tunnel.name} (seed #2 step 1)")
    return head + (
        "[NetDev]\n"
        f"Name={tunnel.name}\n"
        "Kind=vti\n"
        f"MTUBytes={setup.choices.mtu}\n"
        "\n"
        "[Tunnel]\n"
        "Independent=yes\n"
        f"Local={add.local}\n"
        f"Remote={add.remote}\n"
        f"Key={tunnel.mark}\n"
    )


def network(setup: Setup, tunnel: Tunnel) -> str:
    """The tunnel's address with its peer, MTU and VPC routes (seed #2 steps 1-2)."""
    _, address, up = interface.link_ops(setup, tunnel)
    head = _HEADER.format(what=f"address, MTU and routes of {tunnel.name} (seed #2 steps 1-2)")
    text = (
        "[Match]\n"
        f"Name={tunnel.name}\n"
        "\n"
        "[Link]\n"
        f"MTUBytes={up.mtu}\n"
        "RequiredForOnline=no\n"
        "\n"
        "[Network]\n"
        "LinkLocalAddressing=no\n"
        "ConfigureWithoutCarrier=yes\n"
        "\n"
        "[Address]\n"
        f"Address={address.local}\n"
        f"Peer={address.peer}\n"
    )
    for route in interface.route_ops(setup, tunnel):
        text += (
            "\n"
            "[Route]\n"
            f"Destination={route.dst}\n"
            "Scope=link\n"
            f"Metric={route.metric}\n"
        )
    return head + text


# --------------------------------------------------------------------------- iptables


def iptables_unit(setup: Setup) -> str:
    """A oneshot unit that puts the wizard's mangle rules back at boot, and only those.

    Each rule is first deleted (`-` lets that fail when it is absent) and then
    appended, so starting the unit when the rules are already there - at
    apply time, or after netfilter-persistent restored a rules.v4 that a
    `netfilter-persistent save` had copied them into - still leaves exactly
    one of each. It is ordered after netfilter-persistent.service, whose
    restore flushes every table rules.v4 names (ordering against an absent
    unit is a no-op). Stopping it removes the rules. See iptables-unit.
    """
    rules = [rule for tunnel in setup.tunnels for rule in iptables.mangle_rules(setup, tunnel)]
    head = _HEADER.format(what="the AWS tunnels' iptables mangle rules (seed #3), put back at "
                          "boot")
    lines = [
        "[Unit]",
        "Description=vpn-wizard: iptables mangle rules of the AWS tunnels",
        "DefaultDependencies=no",
        "After=systemd-modules-load.service local-fs.target netfilter-persistent.service",
        "Before=network-pre.target shutdown.target",
        "Wants=network-pre.target",
        "Conflicts=shutdown.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
    ]
    for rule in rules:
        lines.append("ExecStart=-" + " ".join((IPTABLES_BIN, *rule.delete_argv[1:])))
        lines.append("ExecStart=" + " ".join((IPTABLES_BIN, *rule.argv[1:])))
    for rule in rules:
        lines.append("ExecStop=-" + " ".join((IPTABLES_BIN, *rule.delete_argv[1:])))
    lines += ["", "[Install]", "WantedBy=multi-user.target"]
    return head + "\n".join(lines) + "\n"
