"""The host's network interfaces, read over netlink: the choices for the WAN and LAN questions.

Read-only. The wizard needs to know which interface carries the default route
(the seed's <PHYSICAL INTERFACE>, preselected) and which addresses each has
(to tell whether the customer outside address is on this box or behind NAT).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

#: The main routing table, where the default route lives.
MAIN_TABLE = 254


@dataclass(frozen=True)
class HostInterface:
    """One interface as the physical-interface screen lists it.

    Attributes:
        name: the kernel's name, e.g. "eth0".
        addresses: its IPv4 addresses with prefix, in kernel order.
        state: the operational state in lower case: "up", "down", "unknown"...
        has_default_route: the main table's default route leaves through it.
        loopback: "lo" and friends, never a sensible WAN or LAN choice.
    """

    name: str
    addresses: tuple[IPv4Interface, ...] = ()
    state: str = "unknown"
    has_default_route: bool = False
    loopback: bool = False

    def holds(self, address: IPv4Address) -> bool:
        """True when `address` is configured on this interface."""
        return any(a.ip == address for a in self.addresses)


def list_interfaces() -> list[HostInterface]:
    """Every interface but loopback, default-route one first, then by name."""
    from pyroute2 import IPRoute  # netlink only when asked: tests never get here

    IFF_LOOPBACK = 0x8
    with IPRoute() as ipr:
        links = list(ipr.get_links())
        addrs = list(ipr.get_addr(family=socket.AF_INET))
        routes = list(ipr.get_routes(family=socket.AF_INET))
    by_index: dict[int, list[IPv4Interface]] = {}
    for msg in addrs:
        address = msg.get("IFA_ADDRESS") or msg.get("IFA_LOCAL")
        if address:
            by_index.setdefault(msg["index"], []).append(
                IPv4Interface(f"{address}/{msg['prefixlen']}")
            )
    default_oifs = {
        msg.get("RTA_OIF")
        for msg in routes
        if msg["dst_len"] == 0 and (msg.get("RTA_TABLE") or msg["table"]) == MAIN_TABLE
    }
    found = [
        HostInterface(
            name=link.get("IFLA_IFNAME"),
            addresses=tuple(by_index.get(link["index"], ())),
            state=str(link.get("IFLA_OPERSTATE") or "unknown").lower(),
            has_default_route=link["index"] in default_oifs,
            loopback=bool(link["flags"] & IFF_LOOPBACK),
        )
        for link in links
    ]
    return ordered(i for i in found if not i.loopback)


def ordered(interfaces: Iterable[HostInterface]) -> list[HostInterface]:
    """Default-route interfaces first, then by name: the order the screen lists them in."""
    return sorted(interfaces, key=lambda i: (not i.has_default_route, i.name))


def default_interface(interfaces: Sequence[HostInterface]) -> HostInterface | None:
    """The interface the default route leaves through, if any."""
    return next((i for i in interfaces if i.has_default_route), None)


def holding(interfaces: Sequence[HostInterface], address: IPv4Address) -> HostInterface | None:
    """The interface that has `address`, if this box has it at all."""
    return next((i for i in interfaces if i.holds(address)), None)
