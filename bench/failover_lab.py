"""Dead tunnel -> traffic on the other tunnel, seen from the VPC host, for both backends.

Boots one UML lab per backend (tests/lab), applies in updown mode, starts the
heartbeat the plan's unit runs (the lab has no systemd, so it is started the
document's way, in the background), and has the VPC host ping the LAN host
five times a second (`ping -D`, timestamped). Then, as the document's step 6
and tests/lab/test_apply_lab.py do, the cgw drops everything from the first
VGW address and the vgw's Tunnel1 goes down at the same moment (standing in
for AWS moving its return traffic). The figure is the longest gap between two
answered pings: the time the VPC host's traffic stops to the time it flows
again. Then Tunnel1 is let back and the time until the route is back on it
is printed too.

Each backend is measured twice: the document's timers alone (DPD 10 s / 30 s),
then with fast failover (`fast_failover = true`: the heartbeat moves the
routes). Prints figures; asserts nothing. Needs root and user-mode-linux. Run:
    .venv/bin/python bench/failover_lab.py [stroke|swanctl ...]
"""

from __future__ import annotations

import re
import sys
import time
from itertools import pairwise
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent / "tests" / "lab"
sys.path.insert(0, str(LAB))

import wizard_lab as wl  # noqa: E402
from peer import PeerTunnel, seed_tunnels, start_peer  # noqa: E402
from uml import LAN_HOST_IP, VPC_HOST_IP, Lab, lab_unavailable  # noqa: E402

UNIT = "/etc/systemd/system/vpn-wizard-heartbeat.service"
PING_LOG = "/lab/vpc-ping.log"
HEARTBEAT_LOG = "/lab/heartbeat.log"
_STAMP = re.compile(r"^\[(\d+\.\d+)\].*bytes from", re.M)


def timed(label: str, seconds: float) -> None:
    print(f"{label:<66} {seconds:6.2f} s", flush=True)


def answers(tunnels: list[PeerTunnel], backend: str, fast: bool) -> str:
    text = wl.answers("updown")
    if backend == "swanctl":
        text = text.replace('persistence = "seed"', 'persistence = "netplan"')
        text += 'backend = "swanctl"\n'
    if fast:
        text += "fast_failover = true\n"
    return text


def heartbeat_line(lab: Lab) -> str:
    """The ExecStart of the unit the plan wrote (written even where systemd is not PID 1)."""
    unit = lab.run(f"cat {UNIT}").out
    found = re.search(r"^ExecStart=(.*)$", unit, re.M)
    if not found:
        raise SystemExit(f"no heartbeat unit at {UNIT}")
    return found.group(1)


def gaps(log: str, after: float) -> float:
    """The longest silence between answered pings after `after` (epoch seconds)."""
    stamps = [float(s) for s in _STAMP.findall(log)]
    before = [s for s in stamps if s <= after]
    later = [s for s in stamps if s > after]
    if not before or not later:
        return float("nan")
    points = [before[-1], *later]
    return max(b - a for a, b in pairwise(points))


def one(backend: str, fast: bool) -> dict[str, float]:
    tunnels = seed_tunnels()
    names = [t.name for t in tunnels]
    first, second = tunnels
    figures: dict[str, float] = {}
    with Lab() as lab:
        start_peer(lab, tunnels)
        wl.prepare(lab, tunnels, "updown")
        lab.write_file(wl.ANSWERS, answers(tunnels, backend, fast), mode=0o600)
        if backend == "swanctl":
            lab.run("ipsec start", check=True)
            lab.wait_until("swanctl --stats >/dev/null 2>&1", timeout=30).check("vici")
        lab.run(wl.apply_cmd("--no-confirm"), check=True, timeout=240)
        if backend == "swanctl":
            up = lab.wait_until(f"test $(swanctl --list-sas 2>/dev/null | grep -c INSTALLED) "
                                f"-ge {len(names)}", timeout=90)
            if not up.ok:
                raise SystemExit(lab.run("swanctl --list-sas").out)
        else:
            ok, status = wl.wait_established(lab, names, timeout=90)
            if not ok:
                raise SystemExit(status)
        line = heartbeat_line(lab)
        lab.run(f"setsid {line} >{HEARTBEAT_LOG} 2>&1 </dev/null &", check=True)
        flows = lab.wait_until(["ping", "-c", "1", "-W", "1", LAN_HOST_IP], ns="vpc", timeout=30)
        if not flows.ok:
            raise SystemExit(f"the VPC host cannot reach the LAN host:\n{flows.out}")
        lab.run(f"setsid ping -D -n -i 0.2 -W 1 {LAN_HOST_IP} >{PING_LOG} 2>&1 </dev/null &",
                ns="vpc", check=True)
        time.sleep(3)  # a few answered pings before the cut (a bench, not a test)
        cut = float(lab.run("date +%s.%N", check=True).out)
        lab.run(f"iptables -A INPUT -s {first.aws_outside_ip} -j DROP", check=True)
        lab.run(f"ip link set {first.name} down", ns="vgw", check=True)
        moved = lab.wait_until(
            f"ip route get {VPC_HOST_IP} | grep -q 'dev {second.name}'", timeout=120,
            interval=0.2)
        if not moved.ok:
            raise SystemExit(lab.run(f"ip route; cat {HEARTBEAT_LOG}").out)
        time.sleep(3)  # let the VPC host's pings show the flow again
        figures["dead tunnel -> VPC host's traffic flows again"] = gaps(
            lab.read_file(PING_LOG, ns="vpc"), cut)
        back = time.monotonic()
        lab.run(f"iptables -D INPUT -s {first.aws_outside_ip} -j DROP", check=True)
        lab.run(f"ip link set {first.name} up", ns="vgw", check=True)
        returned = lab.wait_until(
            f"ip route get {VPC_HOST_IP} | grep -q 'dev {first.name}'", timeout=180, interval=0.5)
        figures["tunnel back -> route back on it"] = (
            time.monotonic() - back if returned.ok else float("nan"))
        log = lab.run(f"cat {HEARTBEAT_LOG}").out
        moves = log.count("routes are off") + log.count("routes are back")
        figures["route moves by the heartbeat (2 = one each way, no flapping)"] = moves
    return figures


def main() -> int:
    why = lab_unavailable()
    if why:
        print(f"skipped: {why}")
        return 0
    backends = sys.argv[1:] or ["stroke", "swanctl"]
    for backend in backends:
        for fast in (False, True):
            label = f"{backend}, {'fast failover' if fast else 'DPD alone (the document)'}"
            for name, value in one(backend, fast).items():
                if name.startswith("route moves"):
                    print(f"{label}: {name}: {value:.0f}", flush=True)
                else:
                    timed(f"{label}: {name}", value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
