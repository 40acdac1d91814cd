"""The host's network interfaces as values: the choices for the WAN and LAN questions.

Plain data, no netlink: `wizard.system.netlink.read_interfaces` fills them
in, tests make them by hand. The wizard needs to know which interface carries the default route
(the seed's <PHYSICAL INTERFACE>, preselected) and which addresses each has
(to tell whether the customer outside address is on this box or behind NAT).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface


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


def ordered(interfaces: Iterable[HostInterface]) -> list[HostInterface]:
    """Default-route interfaces first, then by name: the order the screen lists them in."""
    return sorted(interfaces, key=lambda i: (not i.has_default_route, i.name))


def default_interface(interfaces: Sequence[HostInterface]) -> HostInterface | None:
    """The interface the default route leaves through, if any."""
    return next((i for i in interfaces if i.has_default_route), None)


def holding(interfaces: Sequence[HostInterface], address: IPv4Address) -> HostInterface | None:
    """The interface that has `address`, if this box has it at all."""
    return next((i for i in interfaces if i.holds(address)), None)
