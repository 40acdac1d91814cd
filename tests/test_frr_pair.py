"""The wizard's BGP configuration against a BGP-speaking AWS side: two real FRRs.

The cgw namespace runs exactly what `wizard.render.frr` writes; the vgw
namespace runs an FRR with AWS's ASN and timers that announces the VPC's
network (tests/frr_pair.py). One veth pair per tunnel stands for the VTI
(IPsec is the UML lab's to prove). Every wait is for a state, with a bound.

Proved here: both sessions Established; the VPC's prefix learned over both
tunnels and installed in the kernel; AWS's side learned exactly the announced
networks; active/passive prefers tunnel 1 both ways (local preference here,
the prepended AS path there); tunnel 1 failing moves the route to tunnel 2 and
its return moves it back; the status reads both sessions from FRR's JSON.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Network

import pytest
from bgp_setup import CUSTOMER_ASN, LAN, bgp_setup
from frr_pair import AWS_ASN, VPC, VPC_HOST, Pair, available, frr_pair, wait_for

from wizard.model import Setup
from wizard.render import frr
from wizard.status.bgp import parse_neighbors

pytestmark = pytest.mark.skipif(available() is not None, reason=available() or "")

SECOND = IPv4Network("198.51.100.0/25")


def _tunnels(setup: Setup) -> tuple[tuple[str, str], ...]:
    return tuple((str(t.customer_inside_cidr), str(t.aws_inside_cidr)) for t in setup.tunnels)


def _peers(setup: Setup) -> list[str]:
    return [str(t.aws_inside_cidr.ip) for t in setup.tunnels]


def _established(pair: Pair, peers: list[str]) -> float:
    return wait_for(lambda: all(pair.cgw.state(p) == "Established" for p in peers),
                    "both sessions Established")


def _learned(pair: Pair, prefix: str) -> list[dict[str, object]]:
    """The paths the cgw has for `prefix` (one per tunnel that brought it)."""
    return list(pair.cgw.json(f"show bgp ipv4 unicast {prefix} json").get("paths", []))


def test_both_sessions_vpc_learned_over_both_and_aws_gets_exactly_the_lan() -> None:
    setup = bgp_setup(advertise=(LAN, SECOND))
    peers = _peers(setup)
    with frr_pair(frr.bgpd_config(setup), _tunnels(setup), str(LAN), CUSTOMER_ASN) as pair:
        _established(pair, peers)
        wait_for(lambda: len(_learned(pair, VPC)) == 2, "the VPC's prefix over both tunnels")
        assert sorted(str(p["peer"]["peerId"]) for p in _learned(pair, VPC)) == sorted(peers)  # type: ignore[index]
        wait_for(lambda: pair.cgw.route_dev(VPC_HOST) is not None, "the kernel route")
        # AWS's side: exactly the LAN networks that have a route here. The second one has
        # none on this box, so FRR does not announce it (a network is announced only while
        # it is reachable), and the VPC's own never comes back.
        customer = {str(t.customer_inside_cidr.ip) for t in setup.tunnels}
        wait_for(lambda: len(pair.vgw.json(f"show bgp ipv4 unicast {LAN} json")
                             .get("paths", [])) == 2, "AWS's side learning the LAN twice")
        table = pair.vgw.json("show bgp ipv4 unicast json")["routes"]
        learned = {prefix for prefix, paths in table.items()
                   if any(p.get("peerId") in customer for p in paths)}
        assert learned == {str(LAN)}
        assert {p["peerId"] for p in table[str(LAN)]} == customer
        # the status reads both sessions from FRR's JSON
        status = parse_neighbors(pair.cgw.vtysh("show bgp neighbors json"))
        assert all(status[p].established and status[p].remote_as == AWS_ASN
                   and status[p].received == 1 and status[p].hold_s == 30 for p in peers)


def test_active_passive_prefers_tunnel_1_and_fails_over_and_back() -> None:
    setup = bgp_setup(bgp_mode="active-passive")
    peers = _peers(setup)
    t1_dev_ip, t2_dev_ip = (str(t.customer_inside_cidr.ip) for t in setup.tunnels)
    with frr_pair(frr.bgpd_config(setup), _tunnels(setup), str(LAN), CUSTOMER_ASN) as pair:
        _established(pair, peers)
        wait_for(lambda: len(_learned(pair, VPC)) == 2, "the VPC's prefix over both tunnels")
        best = [p for p in _learned(pair, VPC) if p.get("bestpath")]
        assert [p["peer"]["peerId"] for p in best] == [peers[0]]  # type: ignore[index]
        assert best[0]["locPrf"] == 200
        t1, t2 = (link.cgw_dev for link in pair.links)
        wait_for(lambda: pair.cgw.route_dev(VPC_HOST) == t1, "the VPC route on tunnel 1")
        # AWS's side: tunnel 2's path carries this box's ASN three times, tunnel 1's once
        paths = pair.vgw.json(f"show bgp ipv4 unicast {LAN} json")["paths"]
        by_peer = {p["peer"]["peerId"]: p for p in paths}
        assert by_peer[t1_dev_ip]["aspath"]["length"] == 1
        assert by_peer[t2_dev_ip]["aspath"]["length"] == 3
        assert by_peer[t1_dev_ip].get("bestpath")
        # tunnel 1 fails: traffic to the VPC moves to tunnel 2 (an interface going down ends
        # its eBGP session at once; a silent one ends with the 30 s hold time)
        start = time.monotonic()
        pair.set_link(0, up=False)
        wait_for(lambda: pair.cgw.route_dev(VPC_HOST) == t2, "failover to tunnel 2",
                 timeout=35)
        assert time.monotonic() - start <= 35  # within AWS's hold time (and its margin)
        pair.set_link(0, up=True)
        wait_for(lambda: pair.cgw.route_dev(VPC_HOST) == t1, "back to tunnel 1", timeout=90)
