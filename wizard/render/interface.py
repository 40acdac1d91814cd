"""Seed #2: the VTI, its inside address, its MTU, and the routes to the VPC."""

from __future__ import annotations

from wizard.model import Setup, Tunnel
from wizard.operations import AddPeerAddress, AddRoute, AddVtiLink, SetLinkUp


def link_ops(setup: Setup, tunnel: Tunnel) -> list[AddVtiLink | AddPeerAddress | SetLinkUp]:
    """Seed #2 step 1; the VTI key is the conn's mark, as the document insists."""
    return [
        AddVtiLink(tunnel.name, setup.local_address(tunnel), tunnel.aws_outside_ip, tunnel.mark),
        AddPeerAddress(tunnel.name, tunnel.customer_inside_cidr, tunnel.aws_inside_cidr),
        SetLinkUp(tunnel.name, setup.choices.mtu),
    ]


def route_ops(setup: Setup, tunnel: Tunnel) -> list[AddRoute]:
    """Seed #2 step 2: one route per VPC CIDR; the metric is the mark, so tunnel 1 is preferred.

    With BGP there is none: FRR installs the routes AWS announces, on the tunnel whose
    session is up, which is what makes BGP fail over.
    """
    return [AddRoute(net, tunnel.name, tunnel.mark) for net in setup.static_routes]
