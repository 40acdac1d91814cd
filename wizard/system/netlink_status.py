"""The tunnel interfaces, their counters and the main routing table, read over netlink.

What `ip -s link` and `ip route` would print, without running either: one
pyroute2 socket, three dumps (links, IPv4 addresses, IPv4 routes in the main
table). `watch` binds a second socket to the kernel's link, address and
route multicast groups, so the status panel hears of a VTI going down or a
route vanishing when it happens instead of polling for it.

`NetlinkReader` reads only what changed: the kernel announces every change
of a link, an IPv4 address or route on those multicast groups, so between
two announcements only the counters move. It keeps a socket subscribed to
them (the bell) and the last dumps; a refresh with a silent bell reads the
counters alone, from `/proc/net/dev` (one small read, the same numbers
`IFLA_STATS64` carries: both are the kernel's `dev_get_stats`), and dumps
again only when the bell rang, overflowed, or could not be opened.

The message-to-value functions read messages only through `.get()`, so
tests can hand them plain dicts shaped like pyroute2's messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import select
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from wizard.status.model import LinkStatus, Route
from wizard.system.netlink import open_netlink

IFF_UP = 0x1
MAIN_TABLE = 254
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE
NETLINK_ROUTE = 0
PROC_NET_DEV = "/proc/net/dev"
T = TypeVar("T")
Counters = tuple[int, int, int, int, int, int]
"""rx_bytes, rx_packets, rx_errors, tx_bytes, tx_packets, tx_errors."""


def _get(msg: Any, name: str) -> Any:
    """An attribute or header field of a pyroute2 message (or of a dict shaped like one)."""
    if msg is None:
        return None
    value = msg.get(name)
    if value is None and isinstance(msg, Mapping) is False:
        try:
            value = msg[name]
        except (KeyError, TypeError, IndexError):
            value = None
    return value


def link_from_msg(msg: Any, addresses: Sequence[tuple[str, str | None]] = ()) -> LinkStatus:
    """One RTM_NEWLINK message as a `LinkStatus` (the VTI keys when it is a VTI)."""
    stats = _get(msg, "IFLA_STATS64") or _get(msg, "IFLA_STATS") or {}
    info = _get(msg, "IFLA_LINKINFO")
    kind = _get(info, "IFLA_INFO_KIND") if info is not None else None
    data = _get(info, "IFLA_INFO_DATA") if info is not None else None
    vti = kind == "vti" and data is not None

    def stat(key: str) -> int:
        value = _get(stats, key)
        return int(value) if value is not None else 0

    def vti_int(key: str) -> int | None:
        value = _get(data, key) if vti else None
        return int(value) if value is not None else None

    return LinkStatus(
        name=str(_get(msg, "IFLA_IFNAME")),
        up=bool(int(_get(msg, "flags") or 0) & IFF_UP),
        mtu=int(_get(msg, "IFLA_MTU") or 0),
        kind=kind,
        rx_bytes=stat("rx_bytes"),
        tx_bytes=stat("tx_bytes"),
        rx_packets=stat("rx_packets"),
        tx_packets=stat("tx_packets"),
        rx_errors=stat("rx_errors"),
        tx_errors=stat("tx_errors"),
        ikey=vti_int("IFLA_VTI_IKEY"),
        okey=vti_int("IFLA_VTI_OKEY"),
        local=_get(data, "IFLA_VTI_LOCAL") if vti else None,
        remote=_get(data, "IFLA_VTI_REMOTE") if vti else None,
        addresses=tuple(addresses),
    )


def address_from_msg(msg: Any) -> tuple[int, tuple[str, str | None]]:
    """(interface index, (local/prefix, peer/prefix or None)) from one RTM_NEWADDR."""
    prefix = int(_get(msg, "prefixlen") or 32)
    local = _get(msg, "IFA_LOCAL")
    address = _get(msg, "IFA_ADDRESS")
    peer = address if address and local and address != local else None
    own = local or address
    return int(_get(msg, "index") or 0), (
        f"{own}/{prefix}",
        f"{peer}/{prefix}" if peer else None,
    )


def route_from_msg(msg: Any, names: Mapping[int, str]) -> Route:
    """One RTM_NEWROUTE as a `Route`, its output interface by name."""
    dst = _get(msg, "RTA_DST") or "0.0.0.0"
    oif = _get(msg, "RTA_OIF")
    metric = _get(msg, "RTA_PRIORITY")
    return Route(
        dst=f"{dst}/{int(_get(msg, 'dst_len') or 0)}",
        dev=names.get(int(oif)) if oif is not None else None,
        metric=int(metric) if metric is not None else None,
    )


def assemble(
    wanted: Iterable[str],
    link_msgs: Iterable[Any],
    addr_msgs: Iterable[Any],
    route_msgs: Iterable[Any],
) -> tuple[dict[str, LinkStatus], list[Route]]:
    """The wanted links (those that exist) and the main table's routes. Pure."""
    wanted = set(wanted)
    links = list(link_msgs)
    names = {int(_get(m, "index") or 0): str(_get(m, "IFLA_IFNAME")) for m in links}
    addresses: dict[int, list[tuple[str, str | None]]] = {}
    for msg in addr_msgs:
        index, pair = address_from_msg(msg)
        addresses.setdefault(index, []).append(pair)
    found = {}
    for msg in links:
        name = str(_get(msg, "IFLA_IFNAME"))
        if name in wanted:
            found[name] = link_from_msg(msg, addresses.get(int(_get(msg, "index") or 0), ()))
    routes = [
        route_from_msg(m, names)
        for m in route_msgs
        if int(_get(m, "table") or _get(m, "RTA_TABLE") or MAIN_TABLE) == MAIN_TABLE
    ]
    return found, routes


def off_the_event_loop(work: Callable[[], T]) -> T:
    """Run `work` in a thread of its own when this thread runs an asyncio event loop.

    pyroute2's synchronous `IPRoute` (0.9) drives an asyncio loop of its
    own with `run_until_complete`, which fails with "This event loop is
    already running" in a thread whose loop is running: the status panel's
    first reading, made in Textual's loop, reported the tunnels' interfaces
    as unreadable. Reading through here is right from any thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink") as pool:
        return pool.submit(work).result()


def read(names: Iterable[str]) -> tuple[dict[str, LinkStatus], list[Route]]:
    """Read the named links and the main table's IPv4 routes from the kernel (from any thread)."""
    wanted = tuple(names)

    def dump() -> tuple[dict[str, LinkStatus], list[Route]]:
        with open_netlink() as ipr:  # pyroute2 loads there, when first needed
            return assemble(
                wanted,
                ipr.get_links(),
                ipr.get_addr(family=socket.AF_INET),
                ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE),
            )

    return off_the_event_loop(dump)


def counters_from_proc(text: str) -> dict[str, Counters]:
    """Each interface's counters in `/proc/net/dev`. Pure.

    After the two header lines, one line per interface: "name:" then eight
    receive fields (bytes packets errs drop fifo frame compressed multicast)
    and eight transmit ones (bytes packets errs ...).
    """
    found: dict[str, Counters] = {}
    for line in text.splitlines()[2:]:
        name, colon, rest = line.partition(":")
        fields = rest.split()
        if not colon or len(fields) < 11:
            continue
        try:
            rx_bytes, rx_packets, rx_errors = int(fields[0]), int(fields[1]), int(fields[2])
            tx_bytes, tx_packets, tx_errors = int(fields[8]), int(fields[9]), int(fields[10])
        except ValueError:
            continue
        found[name.strip()] = (rx_bytes, rx_packets, rx_errors, tx_bytes, tx_packets, tx_errors)
    return found


def with_counters(link: LinkStatus, counters: Counters) -> LinkStatus:
    """`link` as it is now: its kept settings, these counters."""
    rx_bytes, rx_packets, rx_errors, tx_bytes, tx_packets, tx_errors = counters
    return dataclasses.replace(
        link, rx_bytes=rx_bytes, rx_packets=rx_packets, rx_errors=rx_errors,
        tx_bytes=tx_bytes, tx_packets=tx_packets, tx_errors=tx_errors,
    )


def _read_proc_net_dev() -> str:
    with open(PROC_NET_DEV, encoding="ascii", errors="replace") as handle:
        return handle.read()


class ChangeBell:
    """A netlink socket on the link, IPv4 address and IPv4 route groups, never parsed.

    `rang()` says whether the kernel announced anything since the last
    call: one non-blocking `recv` when it did not. A full receive buffer
    (ENOBUFS) lost announcements, so it counts as a ring too.
    """

    def __init__(self) -> None:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            sock.bind((0, GROUPS))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock

    def rang(self) -> bool:
        """Whether anything was announced since the last call (the queue is drained).

        Raises:
            OSError: the socket failed otherwise than by overflowing.
        """
        heard = False
        while True:
            try:
                if not self._sock.recv(65536):
                    return True
            except BlockingIOError:
                return heard
            except OSError as err:
                if err.errno != errno.ENOBUFS:
                    raise
                # announcements were dropped: a ring, and the queue is readable again
            heard = True

    def close(self) -> None:
        self._sock.close()


class NetlinkReader:
    """`read` on one netlink socket kept open from one refresh to the next, dumping only on change.

    Opening an `IPRoute` (and a thread to keep pyroute2's own event loop off
    the caller's, see `off_the_event_loop`) was most of a refresh's netlink
    work. Here one worker thread owns the socket for its whole life, since
    pyroute2's synchronous socket runs the loop it was made with; a failed
    dump drops the socket, and the next read opens a new one.

    Decoding the dumps was most of what was left, so they are kept, and
    made again only when the bell (`ChangeBell`, subscribed before the
    first dump) rang: a quiet refresh reads the counters from
    `/proc/net/dev` alone. Without a bell (no privilege, a sandbox) every
    refresh dumps, as before.

    Args:
        opener: makes the socket (`open_netlink`; tests hand in fakes).
        bell: makes the change bell (`ChangeBell`; tests hand in fakes).
        counters: reads `/proc/net/dev` (tests hand in fakes).
    """

    def __init__(self, opener: Callable[[], Any] = open_netlink,
                 bell: Callable[[], Any] = ChangeBell,
                 counters: Callable[[], str] = _read_proc_net_dev) -> None:
        self._opener = opener
        self._ipr: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink-status")
        self._bell_factory = bell
        self._bell: Any = None
        self._counters = counters
        self._kept: tuple[tuple[str, ...], dict[str, LinkStatus], list[Route]] | None = None
        self._lock = threading.Lock()
        self.dumps = 0
        """How many times the links, addresses and routes were dumped (a quiet box: once)."""

    def read(self, names: Iterable[str]) -> tuple[dict[str, LinkStatus], list[Route]]:
        """As `read`, on the kept socket (from any thread); the dumps only after a change."""
        wanted = tuple(names)
        with self._lock:
            if self._bell is None:
                try:
                    self._bell = self._bell_factory()
                except OSError:
                    self._bell = None
            kept = self._kept
            try:
                rang = self._bell is None or self._bell.rang()
            except OSError:  # a broken bell: dump now, and open another next time
                self._bell.close()
                self._bell, rang = None, True
            if kept is not None and not rang and kept[0] == wanted:
                now = self._now(kept[1])
                if now is not None:
                    return now, list(kept[2])
            self._kept = None
            self.dumps += 1
            links, routes = self._pool.submit(self._dump, wanted).result()
            if self._bell is not None:
                self._kept = (wanted, links, routes)
            return links, routes

    def _now(self, links: dict[str, LinkStatus]) -> dict[str, LinkStatus] | None:
        """The kept links with today's counters; None when they cannot be read for every link."""
        try:
            counters = counters_from_proc(self._counters())
        except OSError:
            return None
        now = {}
        for name, link in links.items():
            got = counters.get(name)
            if got is None:
                return None
            now[name] = with_counters(link, got)
        return now

    def _dump(self, wanted: tuple[str, ...]) -> tuple[dict[str, LinkStatus], list[Route]]:
        if self._ipr is None:
            self._ipr = self._opener()
        try:
            return assemble(
                wanted,
                self._ipr.get_links(),
                self._ipr.get_addr(family=socket.AF_INET),
                self._ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE),
            )
        except Exception:
            self._drop()
            raise

    def _drop(self) -> None:
        if self._ipr is not None:
            ipr, self._ipr = self._ipr, None
            ipr.close()

    def close(self) -> None:
        """Close the sockets and end the worker thread."""
        with self._lock:
            if self._bell is not None:
                self._bell.close()
                self._bell = None
            self._kept = None
        self._pool.submit(self._drop).result()
        self._pool.shutdown()


def describe_event(msg: Any) -> str:
    """A few words on one multicast message: "RTM_DELLINK Tunnel1"."""
    event = _get(msg, "event") or "netlink"
    name = _get(msg, "IFLA_IFNAME") or _get(msg, "RTA_DST") or _get(msg, "IFA_LABEL") or ""
    return f"{event} {name}".strip()


def watch(
    stop: threading.Event,
    notify: Callable[[str], None],
    poll: float = 1.0,
    socket_factory: Callable[[], Any] | None = None,
) -> None:
    """Call `notify` for each link, IPv4 address or IPv4 route change until `stop` is set.

    The socket is polled with `select` so that `stop` is honoured within
    `poll` seconds; pyroute2's own `get()` would block until the next event.
    """
    ipr = off_the_event_loop(socket_factory or open_netlink)
    try:
        ipr.bind(groups=GROUPS)
        while not stop.is_set():
            readable, _, _ = select.select([ipr.fileno()], [], [], poll)
            if not readable:
                continue
            messages = ipr.get()
            if messages:
                notify(", ".join(dict.fromkeys(describe_event(m) for m in messages)))
    finally:
        ipr.close()
