"""The one owner of netlink (pyroute2): the tunnel interfaces, their addresses, the VPC routes,
and the read-only list of the host's interfaces the probe reports.

The calls are the ones measured in the lab (shared/lab/NOTES.md) to produce
exactly what the seed's `ip` commands produce: a VTI whose ikey and okey are
the conn's mark, a point-to-point inside address, the MTU, and a route with
the mark as its metric. `self.log` gets the `ip` command each call stands
for, so an operator reading the log sees the document's commands.
"""

from __future__ import annotations

import os
import socket
from ipaddress import IPv4Interface
from typing import Any

from wizard.system.base import Address, HostError, LinkInfo, VtiInfo
from wizard.system.interfaces import HostInterface, ordered

RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
"""`ip route del` sends this scope: the kernel then matches a route of any scope."""

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
MAIN_TABLE = 254


def open_netlink() -> Any:
    """A pyroute2 `IPRoute` socket; the only place one is made (the status readers too ask here).

    pyroute2 is imported here, on first use, because importing it takes longer
    than the TUI's first frame; a caller that never touches netlink never pays.
    """
    from pyroute2 import IPRoute

    return IPRoute()


def read_interfaces() -> list[HostInterface]:
    """Every interface but loopback, default-route one first, then by name.

    Read-only: links, their IPv4 addresses and the main table's default
    routes, in one netlink conversation.
    """
    with open_netlink() as ipr:
        links = list(ipr.get_links())
        addrs = list(ipr.get_addr(family=socket.AF_INET))
        routes = list(ipr.get_routes(family=socket.AF_INET))
    by_index: dict[int, list[IPv4Interface]] = {}
    for msg in addrs:
        address = msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")
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


def _describe(err: Exception) -> str:
    code = getattr(err, "code", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    return str(err)


class NetlinkLinks:
    """The real kernel's links and routes."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self._ipr: Any = None

    def _ip(self) -> Any:
        if self._ipr is None:
            self._ipr = open_netlink()
        return self._ipr

    def close(self) -> None:
        """Release the netlink socket."""
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    def _index(self, name: str) -> int | None:
        found = self._ip().link_lookup(ifname=name)
        return found[0] if found else None

    def _need(self, name: str) -> int:
        index = self._index(name)
        if index is None:
            raise HostError(f"interface {name} does not exist")
        return index

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        self.log.append(what)
        try:
            return func(*args, **kwargs)
        except Exception as err:  # pyroute2's NetlinkError and friends
            raise HostError(f"{what}: {_describe(err)}") from None

    # -- links ---------------------------------------------------------------

    def get(self, name: str) -> LinkInfo | None:
        index = self._index(name)
        if index is None:
            return None
        msg = self._ip().get_links(index)[0]
        kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
        vti = None
        if kind == "vti":
            data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
            vti = VtiInfo(
                data.get("IFLA_VTI_LOCAL") if data else None,
                data.get("IFLA_VTI_REMOTE") if data else None,
                int(data.get("IFLA_VTI_IKEY") or 0) if data else 0,
                int(data.get("IFLA_VTI_OKEY") or 0) if data else 0,
            )
        return LinkInfo(
            name, kind, bool(msg["flags"] & IFF_UP), int(msg.get("IFLA_MTU") or 0), vti
        )

    def add_vti(self, name: str, local: str, remote: str, key: int) -> None:
        self._call(
            f"ip link add {name} type vti local {local} remote {remote} key {key}",
            self._ip().link, "add", ifname=name, kind="vti",
            vti_local=local, vti_remote=remote, vti_ikey=key, vti_okey=key,
        )

    def delete(self, name: str) -> None:
        index = self._need(name)
        self._call(f"ip link del {name}", self._ip().link, "del", index=index)

    def set_link(self, name: str, *, up: bool, mtu: int) -> None:
        index = self._need(name)
        state = "up" if up else "down"
        self._call(
            f"ip link set {name} {state} mtu {mtu}",
            self._ip().link, "set", index=index, mtu=mtu, state=state,
        )

    # -- addresses -------------------------------------------------------------

    def addresses(self, name: str) -> list[Address]:
        index = self._index(name)
        if index is None:
            return []
        out = []
        for msg in self._ip().get_addr(family=socket.AF_INET, index=index):
            local = msg.get("IFA_LOCAL")
            address = msg.get("IFA_ADDRESS")
            peer = address if address and address != local else None
            out.append(Address(local or address, peer, int(msg["prefixlen"])))
        return out

    def add_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None:
        index = self._need(name)
        self._call(
            f"ip addr add {local} remote {peer} dev {name}",
            self._ip().addr, "add", index=index, local=str(local.ip),
            address=str(peer.ip), prefixlen=local.network.prefixlen,
        )

    def del_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None:
        index = self._need(name)
        self._call(
            f"ip addr del {local} remote {peer} dev {name}",
            self._ip().addr, "del", index=index, local=str(local.ip),
            address=str(peer.ip), prefixlen=local.network.prefixlen,
        )

    # -- routes ----------------------------------------------------------------

    def has_route(self, dst: str, dev: str, metric: int) -> bool:
        index = self._index(dev)
        if index is None:
            return False
        net, _, plen = dst.partition("/")
        for msg in self._ip().get_routes(family=socket.AF_INET, table=MAIN_TABLE):
            if (
                msg.get("RTA_DST") == net
                and int(msg["dst_len"]) == int(plen or 32)
                and msg.get("RTA_OIF") == index
                and int(msg.get("RTA_PRIORITY") or 0) == metric
            ):
                return True
        return False

    def add_route(self, dst: str, dev: str, metric: int) -> None:
        """Scope link, as `ip route add DST dev DEV` gives a route without a gateway."""
        index = self._need(dev)
        self._call(
            f"ip route add {dst} dev {dev} metric {metric}",
            self._ip().route, "add", dst=dst, oif=index, priority=metric, scope=RT_SCOPE_LINK,
        )

    def del_route(self, dst: str, dev: str, metric: int) -> None:
        """Any scope, as `ip route del` asks: the updown script's routes are scope link,
        and a request with the default scope (universe) does not match them."""
        index = self._need(dev)
        self._call(
            f"ip route del {dst} dev {dev} metric {metric}",
            self._ip().route, "del", dst=dst, oif=index, priority=metric,
            scope=RT_SCOPE_NOWHERE,
        )
