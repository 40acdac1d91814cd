"""Tunnel interfaces, their addresses and the VPC routes, through netlink (pyroute2).

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

RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
"""`ip route del` sends this scope: the kernel then matches a route of any scope."""

IFF_UP = 0x1
MAIN_TABLE = 254


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
            from pyroute2 import IPRoute

            self._ipr = IPRoute()
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
