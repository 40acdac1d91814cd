"""Seed #5: what makes the manual steps survive a reboot (the document's ifupdown + rc.local)."""

from __future__ import annotations

from wizard.blocks import ManagedBlock
from wizard.model import Setup, Tunnel
from wizard.render import interface, sysctl

RC_LOCAL = "/etc/rc.local"
INTERFACES = "/etc/network/interfaces"
IPTABLES_RULES = "/etc/vpn-wizard/iptables.rules"


def rc_local_block() -> ManagedBlock:
    """Seed #5 step 2, before `exit 0`; creates a runnable rc.local when there is none."""
    return ManagedBlock(
        "iptables",
        f"iptables-restore --noflush < {IPTABLES_RULES}",
        before=r"^exit 0\s*$",
        create="#!/bin/sh -e\n# rc.local: run by systemd's rc-local.service at the end of boot\n"
        "{block}exit 0\n",
    )


def interfaces_block(setup: Setup, tunnel: Tunnel) -> ManagedBlock:
    """Seed #5 step 3: the ifupdown stanza, plus routes and sysctls (see interfaces-routes)."""
    add, address, up = interface.link_ops(setup, tunnel)
    lines = [
        f"auto {tunnel.name}",
        f"iface {tunnel.name} inet manual",
        "pre-up " + " ".join(add.argv),
        "pre-up " + " ".join(address.argv),
        "up " + " ".join(up.argv),
    ]
    lines += ["up " + " ".join(op.argv) for op in sysctl.tunnel_values(tunnel)]
    lines += ["up " + " ".join(op.argv) for op in interface.route_ops(setup, tunnel)]
    lines.append(f"post-down ip link del {tunnel.name}")
    return ManagedBlock(tunnel.name, "\n".join(lines))
