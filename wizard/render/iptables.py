"""Seed #3: the two mangle rules per tunnel."""

from __future__ import annotations

from wizard.model import Setup, Tunnel
from wizard.operations import AddIptablesRule


def mangle_rules(setup: Setup, tunnel: Tunnel) -> list[AddIptablesRule]:
    """Clamp TCP MSS leaving through the VTI; mark inbound ESP from this tunnel's peer.

    The mark must equal the VTI key, or the kernel will not hand the
    decapsulated packets to the tunnel interface.
    """
    return [
        AddIptablesRule(
            "mangle",
            "FORWARD",
            ("-o", tunnel.name, "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN",
             "-j", "TCPMSS", "--clamp-mss-to-pmtu"),
        ),
        AddIptablesRule(
            "mangle",
            "INPUT",
            ("-p", "esp", "-s", str(tunnel.aws_outside_ip), "-d", str(setup.local_address(tunnel)),
             "-j", "MARK", "--set-xmark", str(tunnel.mark)),
        ),
    ]


def restore_file(setup: Setup) -> str:
    """The wizard's rules in iptables-restore format, for `iptables-restore --noflush`."""
    lines = ["# vpn-wizard: mangle rules for the AWS tunnels (restored at boot by rc.local)",
             "*mangle"]
    for tunnel in setup.tunnels:
        for rule in mangle_rules(setup, tunnel):
            lines.append(" ".join(("-A", rule.chain, *rule.rule)))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
