"""A dynamic-routing (BGP) setup from the seed's tunnels, typed by hand like seed_setup.

AWS's values as its Generic file gives them for a VGW (ASN 64512, hold time
30 s, the neighbor at AWS's inside address); this box as AS 65000 announcing
a documentation network.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network

from seed_setup import seed_connection

from wizard.model import Bgp, Choices, Setup

CUSTOMER_ASN = 65000
AWS_ASN = 64512
LAN = IPv4Network("192.0.2.0/24")


def bgp_setup(**choices: object) -> Setup:
    """The seed's tunnels with BGP on both; override choices by keyword."""
    connection = seed_connection()
    tunnels = tuple(
        replace(t, bgp=Bgp(CUSTOMER_ASN, AWS_ASN, t.aws_inside_cidr.ip, 30))
        for t in connection.tunnels
    )
    base = Choices(advertise=(LAN,))
    return Setup(replace(connection, routing="dynamic", tunnels=tunnels),
                 replace(base, **choices))  # type: ignore[arg-type]
