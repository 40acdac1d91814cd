"""The seed document's own values, typed by hand, independent of the importers.

Golden tests compare what the renderers make of these with the document's
text; keeping them hand-written means an importer bug cannot hide a renderer
bug (and vice versa).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from wizard.model import Choices, Connection, Setup, Tunnel
from wizard.secret import Secret

SEED_PSKS = ("aM6ktTm3pv5etv9eC", "aM6ktTm3pv5etv9eC2")


def seed_connection() -> Connection:
    return Connection(
        tunnels=(
            Tunnel(
                name="Tunnel1",
                customer_outside_ip=IPv4Address("62.81.252.34"),
                aws_outside_ip=IPv4Address("52.50.67.155"),
                customer_inside_cidr=IPv4Interface("169.254.23.6/30"),
                aws_inside_cidr=IPv4Interface("169.254.23.5/30"),
                psk=Secret(SEED_PSKS[0]),
                mark=100,
            ),
            Tunnel(
                name="Tunnel2",
                customer_outside_ip=IPv4Address("62.81.252.34"),
                aws_outside_ip=IPv4Address("54.77.23.12"),
                customer_inside_cidr=IPv4Interface("169.254.22.74/30"),
                aws_inside_cidr=IPv4Interface("169.254.22.73/30"),
                psk=Secret(SEED_PSKS[1]),
                mark=200,
            ),
        ),
        vpn_connection_id="vpn-f6fb86bd",
        vpn_gateway_id="vgw-5d241a29",
        customer_gateway_id="cgw-e2ead396",
    )


def seed_setup(**choices: object) -> Setup:
    """The seed with a VPC CIDR from the documentation ranges; override choices by keyword."""
    base = Choices(vpc_cidrs=(IPv4Network("203.0.113.0/24"),))
    return Setup(seed_connection(), replace(base, **choices))  # type: ignore[arg-type]
