"""Put what the readers returned together, tunnel by tunnel, into one `StatusSnapshot`. Pure.

Beside matching SAs, links, routes, rules and pings to the expected
tunnels, it works out the route the kernel uses for each VPC CIDR (the
route in force): longest prefix first, then lowest metric, as the kernel
chooses among the main table's routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Interface, IPv4Network

from wizard.heartbeat import STATE_FILE, HeartbeatState
from wizard.status.model import (
    THIS_BOX,
    BgpReading,
    Expected,
    IkeSa,
    LinkStatus,
    PingStatus,
    Route,
    RouteCheck,
    RouteInForce,
    RuleCheck,
    Source,
    StatusSnapshot,
    Target,
    TunnelStatus,
)
from wizard.system.iptables_status import MangleRules

_IKE_RANK = {"ESTABLISHED": 0, "REKEYING": 1, "CONNECTING": 2}


def best_ike(sas: Iterable[IkeSa], name: str) -> IkeSa | None:
    """The IKE SA that best describes conn `name` when several exist (rekeying, retrying).

    An established SA with an installed CHILD SA wins over one without, which
    wins over one still connecting.
    """
    candidates = [sa for sa in sas if sa.name == name]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda sa: (
            _IKE_RANK.get(sa.state, 3),
            sa.installed_child is None,
            sa.established_s if sa.established_s is not None else 1 << 62,
        ),
    )


def build_snapshot(
    expected: Expected,
    *,
    taken_at: float,
    source: Source,
    daemon_running: bool,
    daemon_detail: str = "",
    sas: Sequence[IkeSa] = (),
    loaded_conns: Iterable[str] | None = None,
    links: dict[str, LinkStatus] | None = None,
    routes: Sequence[Route] | None = None,
    mangle: Sequence[str] | None = None,
    rules_source: str = "iptables -t mangle -S",
    rules_watch: str = "",
    heartbeat: HeartbeatState | None = None,
    heartbeat_file: str = STATE_FILE,
    notes: Sequence[str] = (),
    target: Target = THIS_BOX,
    bgp: BgpReading | None = None,
) -> StatusSnapshot:
    """Put what the readers returned together, tunnel by tunnel. Pure.

    Args:
        links: VTI name -> link, for those that exist; None when netlink could not be read.
        routes: main-table routes; None when they could not be read.
        mangle: `iptables -t mangle -S` lines (a `MangleRules` is parsed already); None
            when they could not be read.
        rules_watch: how a change of those rules is told between two readings.
        bgp: FRR's neighbors (`wizard.status.bgp.read_bgp`); None when not read.
    """
    peers = bgp[2] if bgp is not None else {}
    loaded = set(loaded_conns) if loaded_conns is not None else None
    if mangle is not None and not isinstance(mangle, MangleRules):
        mangle = MangleRules(mangle)
    tunnels = []
    for exp in expected.tunnels:
        link = (links or {}).get(exp.name)
        route_checks = tuple(
            RouteCheck(
                dst,
                exp.name,
                exp.mark,
                routes is not None and _has_route(routes, dst, exp.name, exp.mark),
            )
            for dst in exp.routes
        )
        rule_checks = tuple(
            RuleCheck(chain, rule, None if mangle is None else mangle.present(chain, rule))
            for chain, rule in exp.rules
        )
        inside = exp.aws_inside_ip or _peer_of(link)
        tunnels.append(
            TunnelStatus(
                expected=exp,
                ike=best_ike(sas, exp.name),
                loaded=None if loaded is None else exp.name in loaded,
                link=link,
                routes=route_checks,
                rules=rule_checks,
                heartbeat=_ping(heartbeat, inside),
                link_read=links is not None,
                bgp=peers.get(exp.bgp_neighbor) if exp.bgp_neighbor else None,
            )
        )
    all_notes = list(notes)
    if links is None and expected.tunnels:
        all_notes.append("the tunnel interfaces could not be read over netlink")
    return StatusSnapshot(
        taken_at=taken_at,
        source=source,
        daemon_running=daemon_running,
        expected=expected,
        tunnels=tuple(tunnels),
        daemon_detail=daemon_detail,
        rules_source=rules_source,
        rules_watch=rules_watch,
        heartbeat_file=heartbeat_file,
        heartbeat_updated=heartbeat.updated if heartbeat else None,
        heartbeat_interval=heartbeat.interval if heartbeat else None,
        in_force=routes_in_force(expected, routes) if routes is not None else (),
        notes=tuple(all_notes),
        target=target,
        bgp_read=bgp[0] if bgp is not None else None,
        bgp_detail=bgp[1] if bgp is not None else "",
    )


def _ping(heartbeat: HeartbeatState | None, address: str | None) -> PingStatus | None:
    """The heartbeat's record for one address, with when its counts were made."""
    beat = heartbeat.target(address) if heartbeat and address else None
    if heartbeat is None or beat is None:
        return None
    return PingStatus(
        address=beat.address,
        last_reply=beat.last_reply,
        last_rtt_ms=beat.last_rtt_ms,
        last_attempt=beat.last_attempt,
        replies=beat.replies,
        attempts=beat.attempts,
        counted_at=heartbeat.updated,
        window=heartbeat.window,
    )


def routes_in_force(expected: Expected, routes: Sequence[Route]) -> tuple[RouteInForce, ...]:
    """Per VPC CIDR, the route the kernel picks and the tunnel it leaves by.

    The kernel takes the longest prefix that covers the destination, then
    the lowest metric (no metric is 0). A route on a VTI names its tunnel;
    one on any other interface (a default route) names none.
    """
    by_dev = {t.name: t.name for t in expected.tunnels}
    wanted = dict.fromkeys(dst for t in expected.tunnels for dst in t.routes)
    found = []
    for dst in wanted:
        try:
            net = IPv4Network(dst, strict=False)
        except ValueError:
            continue
        best: tuple[int, int, Route] | None = None
        for route in routes:
            try:
                got = IPv4Network(route.dst, strict=False)
            except ValueError:
                continue
            if not net.subnet_of(got):
                continue
            key = (-got.prefixlen, route.metric or 0, route)
            if best is None or key[:2] < best[:2]:
                best = key
        chosen = best[2] if best else None
        tunnel = by_dev.get(chosen.dev or "") if chosen else None
        found.append(RouteInForce(str(net), chosen, tunnel))
    return tuple(found)


def _peer_of(link: LinkStatus | None) -> str | None:
    """The remote inside address set on a VTI (`ip addr add L remote P`), if any."""
    for _, peer in link.addresses if link else ():
        if peer:
            return str(IPv4Interface(peer).ip)
    return None


def _has_route(routes: Sequence[Route], dst: str, dev: str, metric: int | None) -> bool:
    try:
        want = IPv4Network(dst, strict=False)
    except ValueError:
        return False
    for route in routes:
        try:
            got = IPv4Network(route.dst, strict=False)
        except ValueError:
            continue
        if got == want and route.dev == dev and (metric is None or route.metric == metric):
            return True
    return False
