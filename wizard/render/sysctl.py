"""Kernel parameters the document asks for: forwarding and the per-interface IPsec switches."""

from __future__ import annotations

from wizard.blocks import ManagedBlock
from wizard.model import Setup, Tunnel
from wizard.operations import SetSysctl

SYSCTL_CONF = "/etc/sysctl.conf"

_WHY = {
    "rp_filter": "allows the Linux kernel to handle asymmetric routing",
    "disable_policy": "disables IPsec policy (SPD) for the interface",
    "disable_xfrm": "disables crypto transformations on the interface",
}


def forwarding() -> tuple[ManagedBlock, SetSysctl]:
    """Seed #1 steps 1-2: the file line and the running value for ip_forward."""
    block = ManagedBlock(
        "forwarding",
        "net.ipv4.ip_forward = 1",
        supersedes=r"^\s*net\.ipv4\.ip_forward\s*=",
    )
    return block, SetSysctl("net.ipv4.ip_forward", "1")


def tunnel_values(tunnel: Tunnel) -> list[SetSysctl]:
    """Seed #4, the tunnel half: loose rp_filter and no policy lookup on the VTI."""
    return [
        SetSysctl(f"net.ipv4.conf.{tunnel.name}.rp_filter", "2"),
        SetSysctl(f"net.ipv4.conf.{tunnel.name}.disable_policy", "1"),
    ]


def host_interface_values(setup: Setup) -> list[SetSysctl]:
    """Seed #4, the physical half, plus the same on every LAN interface (see lan-disable-xfrm)."""
    names = [setup.choices.physical_interface] + [
        name for name in setup.choices.lan_interfaces if name != setup.choices.physical_interface
    ]
    return [
        SetSysctl(f"net.ipv4.conf.{name}.{key}", "1")
        for name in names
        for key in ("disable_xfrm", "disable_policy")
    ]


def as_lines(values: list[SetSysctl]) -> str:
    """sysctl.conf lines, each comment on its own line (see sysctl-comments).

    Keys are written as sysctl reads them: a VLAN interface (eth0.100) in the
    `/` form, since in the dotted one its dot would split the name.
    """
    out = []
    for op in values:
        reason = _WHY.get(op.key.rsplit(".", 1)[-1])
        if reason:
            out.append(f"# This value {reason}")
        out.append(f"{op.written_key}={op.value}")
    return "\n".join(out)


def host_interface_block(setup: Setup) -> ManagedBlock:
    """The persistent form of `host_interface_values`."""
    return ManagedBlock("interfaces", as_lines(host_interface_values(setup)))
