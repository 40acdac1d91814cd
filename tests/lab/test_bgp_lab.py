"""Dynamic routing (BGP) on a real kernel: `vpn-wizard apply` against a BGP-speaking AWS side.

One lab, in the test thread. The vgw plays AWS with strongSwan (peer.py) and
FRR (`peer.start_bgp`: AWS's ASN 64512 and 10/30 timers, announcing the VPC's
203.0.113.0/24, no static route back to the LAN: what the VGW routes to the
customer it learns over BGP). The operator imports the AWS document (the
strongSwan download, which has no BGP section) and answers BGP: this box's
ASN, the LAN to announce, active/passive.

Proved, in order: a failed apply (a fault injected after FRR started) rolls
back and leaves FRR and its files as found; the apply brings both BGP
sessions to Established; the VPC's prefix is learned over both tunnels; the
LAN host reaches the VPC host; AWS's side learned exactly the announced LAN;
active/passive prefers tunnel 1 both ways; tunnel 1 blocked moves traffic to
tunnel 2 within the hold time (measured, listed in the timings), and back
once it returns; uninstall leaves FRR and its files as found.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import hostguard
import peer
import pytest
import wizard_lab as wl
from uml import LAN_CIDR, LAN_HOST_IP, VPC_CIDR, VPC_HOST_IP, Lab, lab_unavailable

pytestmark = pytest.mark.lab

Timing = Callable[[str, float], None]
CUSTOMER_ASN = 65000
HOLD = 30
"""AWS's hold time, on both ends. The failover waits for it: 9 would save the lab about
20 s, at the price of not running AWS's own timers."""
FRR_FILES = "/etc/frr/frr.conf /etc/frr/daemons"


def bgp_answers() -> str:
    """The operator's answers: the lab's usual ones, with BGP chosen and its values."""
    return (wl.answers("manual")
            + f'advertise = ["{LAN_CIDR}"]\nbgp_mode = "active-passive"\n\n'
            + f'[connection]\nrouting = "dynamic"\nbgp_asn = {CUSTOMER_ASN}\n'
            + f"bgp_hold_time = {HOLD}\n")


@pytest.fixture
def bgp_lab(lab_timing: Timing) -> Iterator[Lab]:
    """A lab whose vgw speaks BGP and routes nothing back by itself."""
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    before = hostguard.fingerprint(include_repo=False)
    tunnels = peer.seed_tunnels()
    with Lab() as lab:
        started = time.monotonic()
        peer.start_peer(lab, tunnels, lan_cidr=None)
        peer.start_bgp(lab, tunnels, CUSTOMER_ASN, hold=HOLD)
        lab_timing("bgp: vgw responder and its FRR up", time.monotonic() - started)
        yield lab
    after = hostguard.fingerprint(include_repo=False)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"a lab session changed the host (before, after): {changed}"


def _json(lab: Lab, command: str, ns: str | None = None) -> Any:
    line = peer.vtysh(command) if ns == "vgw" else f"vtysh -c '{command}'"
    out = lab.run(line, ns=ns)
    try:
        return json.loads(out.out or "{}") if out.ok else {}
    except json.JSONDecodeError:
        return {}


def _wait(what: str, condition: Callable[[], bool], timeout: float) -> float:
    """Poll `condition` (each poll is a lab request) until it holds; the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"gave up waiting for {what}"
        time.sleep(0.2)
    return time.monotonic() - started


def _frr_state(lab: Lab) -> str:
    """What "FRR as found" means on the cgw: its files' digests and whether it runs."""
    files = lab.run(f"sha256sum {FRR_FILES}", check=True).out
    running = lab.run("/usr/lib/frr/frrinit.sh status >/dev/null 2>&1").ok
    return f"{files}running={running}"


def established(lab: Lab, peers: list[str]) -> bool:
    neighbors = _json(lab, "show bgp neighbors json")
    return all(neighbors.get(p, {}).get("bgpState") == "Established" for p in peers)


def route_dev(lab: Lab, address: str, ns: str | None = None) -> str | None:
    out = lab.run(f"ip -j route get {address}", ns=ns)
    routes = json.loads(out.out or "[]") if out.ok else []
    return routes[0].get("dev") if routes else None


def test_bgp_apply_sessions_failover_and_uninstall(bgp_lab: Lab, lab_timing: Timing) -> None:
    lab = bgp_lab
    tunnels = peer.seed_tunnels()
    t1, t2 = tunnels
    peers = [t.aws_inside_ip for t in tunnels]
    wl.prepare(lab, tunnels)
    lab.write_file(wl.ANSWERS, bgp_answers(), mode=0o600)
    found = _frr_state(lab)
    assert "running=False" in found  # the lab boots with FRR installed and stopped

    # A failure after FRR was started and enabled: rolled back, FRR as found.
    started = time.monotonic()
    failed = lab.run(wl.apply_cmd("--no-confirm", env="VPN_WIZARD_FAIL_AT=heartbeat"),
                     timeout=180)
    assert failed.rc != 0 and "heartbeat" in failed.out, failed.out
    assert _frr_state(lab) == found
    lab_timing("bgp: apply failing after FRR started, rolled back", time.monotonic() - started)

    started = time.monotonic()
    done = lab.run(wl.apply_cmd("--no-confirm"), timeout=180)
    assert done.ok, done.out
    _wait("both BGP sessions Established", lambda: established(lab, peers), 90)
    lab_timing("bgp: apply to both sessions Established", time.monotonic() - started)

    # The VPC's prefix over both tunnels; tunnel 1's preferred (local preference 200).
    _wait("the VPC's prefix over both tunnels",
          lambda: len(_json(lab, f"show bgp ipv4 unicast {VPC_CIDR} json")
                      .get("paths", [])) == 2, 30)
    paths = _json(lab, f"show bgp ipv4 unicast {VPC_CIDR} json")["paths"]
    best = [p for p in paths if p.get("bestpath")]
    assert [p["peer"]["peerId"] for p in best] == [t1.aws_inside_ip]
    assert best[0].get("locPrf") == 200
    _wait("the kernel route to the VPC on Tunnel1",
          lambda: route_dev(lab, VPC_HOST_IP) == t1.name, 30)

    # AWS's side learned exactly the announced LAN, over both tunnels, tunnel 2's prepended.
    customer = {t.customer_inside_ip for t in tunnels}
    _wait("AWS's side learning the LAN over both tunnels",
          lambda: len(_json(lab, f"show bgp ipv4 unicast {LAN_CIDR} json", "vgw")
                      .get("paths", [])) == 2, 30)
    table = _json(lab, "show bgp ipv4 unicast json", "vgw")["routes"]
    learned = {prefix for prefix, ps in table.items()
               if any(p.get("peerId") in customer for p in ps)}
    assert learned == {LAN_CIDR}
    by_peer = {p["peer"]["peerId"]: p for p in
               _json(lab, f"show bgp ipv4 unicast {LAN_CIDR} json", "vgw")["paths"]}
    assert by_peer[t1.customer_inside_ip]["aspath"]["length"] == 1
    assert by_peer[t2.customer_inside_ip]["aspath"]["length"] == 3
    assert by_peer[t1.customer_inside_ip].get("bestpath")
    assert route_dev(lab, LAN_HOST_IP, "vgw") == t1.name

    # The LAN host reaches the VPC host, through the tunnels (the vgw has no other way).
    ping = lab.wait_until(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan", timeout=30)
    assert ping.ok, ping.out

    # Tunnel 1 fails (its VGW address blocked both ways): BGP moves both ends to tunnel 2
    # when the hold time runs out, and the LAN host still reaches the VPC host.
    block = f"-s {t1.aws_outside_ip} -j DROP"
    started = time.monotonic()
    lab.run(f"iptables -A INPUT {block}; iptables -A OUTPUT -d {t1.aws_outside_ip} -j DROP",
            check=True)
    moved = lab.wait_until(
        f"ip route get {VPC_HOST_IP} | grep -q 'dev {t2.name}' && "
        f"ip netns exec lan ping -c 1 -W 1 {VPC_HOST_IP}", timeout=3 * HOLD, interval=0.5)
    assert moved.ok, lab.run("vtysh -c 'show bgp summary'; ip route").out
    lab_timing(f"bgp: failover to {t2.name} after blocking {t1.name} (hold time {HOLD} s)",
               time.monotonic() - started)

    # Tunnel 1 returns: the session comes back and traffic with it.
    started = time.monotonic()
    lab.run(f"iptables -D INPUT {block}; iptables -D OUTPUT -d {t1.aws_outside_ip} -j DROP",
            check=True)
    lab.run(f"ipsec up {t1.name}", timeout=60)
    back = lab.wait_until(
        f"ip route get {VPC_HOST_IP} | grep -q 'dev {t1.name}' && "
        f"ip netns exec lan ping -c 1 -W 1 {VPC_HOST_IP}", timeout=90, interval=0.5)
    assert back.ok, lab.run("vtysh -c 'show bgp summary'; ipsec status; ip route").out
    lab_timing(f"bgp: back to {t1.name} once it returns", time.monotonic() - started)

    # The status reads both sessions from FRR's JSON.
    started = time.monotonic()
    status = lab.run(wl.wizard("status", "--once", "--json"), timeout=120)
    document = json.loads(status.out[status.out.index("{"):])
    assert [t["bgp"]["state"] for t in document["tunnels"]] == ["Established"] * 2, status.out

    # Uninstall: FRR and its files as found (stopped, as at boot).
    gone = lab.run(wl.wizard("uninstall", "--yes"), timeout=180)
    assert gone.ok, gone.out
    assert _frr_state(lab) == found
    lab_timing("bgp: status, then uninstall", time.monotonic() - started)
