"""What BGP costs in the lab: apply to both sessions Established, and the failover time.

Prints figures; asserts nothing (these machines are noisy). Needs root,
user-mode-linux and FRR, like the lab tests (tests/lab/test_bgp_lab.py is
the same scenario with its assertions). Each run boots a lab whose vgw plays
AWS with strongSwan and FRR (AWS's ASN, 10/30 timers), applies a BGP setup
with `vpn-wizard apply`, then blocks tunnel 1's VGW address both ways and
times the move of the VPC route (and a LAN host's ping) to tunnel 2. Run:
    .venv/bin/python bench/bgp_lab.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))
sys.path.insert(0, str(ROOT / "tests"))

import peer  # noqa: E402
import wizard_lab as wl  # noqa: E402
from test_bgp_lab import CUSTOMER_ASN, HOLD, bgp_answers, established  # noqa: E402
from uml import VPC_HOST_IP, Lab, lab_unavailable  # noqa: E402


def one_run() -> dict[str, float]:
    tunnels = peer.seed_tunnels()
    t1, t2 = tunnels
    peers = [t.aws_inside_ip for t in tunnels]
    figures: dict[str, float] = {}
    with Lab() as lab:
        peer.start_peer(lab, tunnels, lan_cidr=None)
        peer.start_bgp(lab, tunnels, CUSTOMER_ASN, hold=HOLD)
        wl.prepare(lab, tunnels)
        lab.write_file(wl.ANSWERS, bgp_answers(), mode=0o600)
        start = time.perf_counter()
        lab.run(wl.apply_cmd("--no-confirm"), timeout=180, check=True)
        figures["apply command"] = time.perf_counter() - start
        while not established(lab, peers):
            if time.perf_counter() - start > 120:
                raise RuntimeError("the sessions did not come up")
            time.sleep(0.2)
        figures["apply to both BGP sessions Established"] = time.perf_counter() - start
        lab.wait_until(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan", timeout=30)
        start = time.perf_counter()
        lab.run(f"iptables -A INPUT -s {t1.aws_outside_ip} -j DROP; "
                f"iptables -A OUTPUT -d {t1.aws_outside_ip} -j DROP", check=True)
        lab.wait_until(f"ip route get {VPC_HOST_IP} | grep -q 'dev {t2.name}' && "
                       f"ip netns exec lan ping -c 1 -W 1 {VPC_HOST_IP}",
                       timeout=3 * HOLD, interval=0.5).check("failover")
        figures[f"failover to tunnel 2 (hold time {HOLD} s)"] = time.perf_counter() - start
    return figures


def main() -> int:
    why = lab_unavailable()
    if why:
        print(f"lab unavailable: {why}")
        return 1
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    runs = [one_run() for _ in range(count)]
    print(f"{'seconds over ' + str(count) + ' runs':44} {'median':>8} {'min':>8} {'max':>8}")
    for label in runs[0]:
        values = [r[label] for r in runs]
        print(f"{label:44} {statistics.median(values):8.2f} {min(values):8.2f} "
              f"{max(values):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
