"""`vpn-wizard status` and `vpn-wizard heartbeat` on a real kernel against a real peer (issue #5).

The cgw is set up the way an operator would: `vpn-wizard apply` with the
(lab-addressed) AWS file and an answers file, then `vpn-wizard confirm`. UML's PID 1 is not
systemd, so apply skips the heartbeat unit; the heartbeat is started the
document's way, by hand in the background, which is what the plan's note
says to do on such a box.

Then the AWS document's failover test (step 6): block the first VGW address
with iptables on the cgw; `status --once --json` must report tunnel 1 down,
with the diagnosis, within dead peer detection's time, and exit non-zero;
after unblocking, both up again. `status` is given no inputs: it finds the
tunnels in the applied manifest (`/var/lib/vpn-wizard/applied.json`), never
in the files the wizard rendered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wizard_lab as wl
from peer import PeerTunnel
from uml import Lab

pytestmark = pytest.mark.lab

Timing = Callable[[str, float], None]
STATE_FILE = "/run/vpn-wizard/heartbeat.json"
REPO = Path(__file__).resolve().parents[2]
DPD_WINDOW = 10 + 30 + 20
"""dpddelay + dpdtimeout, plus slack for the retransmits and the lab's slow clock."""


def _status(lab: Lab) -> tuple[int, dict[str, Any]]:
    result = lab.run(wl.wizard("status", "--once", "--json"), timeout=60)
    try:
        return result.rc, json.loads(result.out)
    except json.JSONDecodeError:
        raise AssertionError(f"status --once --json said:\n{result.out}") from None


def _wait_status(
    lab: Lab, predicate: Callable[[int, dict[str, Any]], bool], timeout: float
) -> tuple[float, int, dict[str, Any]]:
    """Poll `status --once --json` until `predicate`; (seconds taken, rc, document)."""
    started = time.monotonic()
    while True:
        rc, doc = _status(lab)
        elapsed = time.monotonic() - started
        if predicate(rc, doc) or elapsed > timeout:
            return elapsed, rc, doc
        time.sleep(1.0)


REFRESHES = f"""
import json, subprocess, sys
sys.path.insert(0, {str(REPO)!r})
from wizard.status.desired import expected_on_box
from wizard.status.live import LiveStatus
from wizard.system.paths import Root
listings = []
real_popen = subprocess.Popen
def counting(argv, *args, **kwargs):
    if list(argv)[1:] == ["-t", "mangle", "-S"]:
        listings.append(argv)
    return real_popen(argv, *args, **kwargs)
subprocess.Popen = counting
source = LiveStatus(expected_on_box(Root("/")))
rule = ["FORWARD", "-p", "tcp", "-m", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS",
        "--clamp-mss-to-pmtu"]
def run(*argv):
    real_popen(list(argv), stdout=subprocess.DEVNULL).wait()
def change(*words):
    run("iptables", "-t", "mangle", *words)
def refresh(label):
    snap = source.snapshot()
    t1, t2 = snap.tunnels
    print(json.dumps([label, len(listings), snap.rules_watch,
                      [[r.present for r in t.rules] for t in snap.tunnels],
                      source.readers._netlink.dumps, t2.link.mtu, t1.link.rx_packets]))
refresh("first")
refresh("again")
change("-D", *rule[:1], "-o", "Tunnel2", *rule[1:])
refresh("Tunnel2's TCPMSS rule deleted")
refresh("no change since")
change("-A", *rule[:1], "-o", "Tunnel2", *rule[1:])
refresh("put back")
change("-R", "FORWARD", "2", "-o", "Tunnel9", *rule[1:])
refresh("replaced by one for another interface (same size)")
change("-R", "FORWARD", "2", "-o", "Tunnel2", *rule[1:])
refresh("put back again")
run("ping", "-c", "2", "-i", "0.2", "-I", "Tunnel1", "{{peer}}")
refresh("pinged over Tunnel1")
run("ip", "link", "set", "Tunnel2", "mtu", "1400")
refresh("Tunnel2's MTU set to 1400")
run("ip", "link", "set", "Tunnel2", "mtu", "1419")
refresh("MTU put back")
source.close()
"""
"""One status source kept across refreshes, the box changed between them; a line per refresh."""


def _refresh_steps(out: str) -> list[list[Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("[")]


EVENT_LOGGER = f"""
import sys, threading, time
sys.path.insert(0, {str(REPO)!r})
from wizard.status.model import Expected
from wizard.status.live import LiveStatus
source = LiveStatus(Expected())
stop = threading.Event()
log = open("/lab/events.log", "a", buffering=1)
def note(what):
    log.write(f"{{time.time():.3f}} {{what}}\\n")
threading.Thread(target=source.watch_netlink, args=(stop, note), daemon=True).start()
source.watch_strongswan(stop, note)
"""
"""What the status panel's worker threads do, logging each pushed event with its time."""




def _first_event(log: str, since: float, words: tuple[str, ...]) -> float | None:
    """Seconds from `since` to the first logged event containing all `words`."""
    for line in log.splitlines():
        stamp, _, what = line.partition(" ")
        if float(stamp) >= since and all(w in what for w in words):
            return float(stamp) - since
    return None


def _tunnel(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["tunnels"] if t["name"] == name)


def test_status_reports_both_tunnels_and_the_failover_test(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> None:
    lab = fresh_lab
    first, second = lab_tunnels
    names = [t.name for t in lab_tunnels]

    # Before anything is applied: nothing to check, and it says so.
    rc, doc = _status(lab)
    assert rc == 3 and doc["tunnels"] == [] and doc["expected_from"] == "none"

    wl.prepare(lab, lab_tunnels, "manual")
    lab.run(
        f"{wl.apply_cmd('--confirm-timeout', '120')} >/lab/apply.log 2>&1 &\n"
        "echo $! > /lab/apply.pid",
        check=True,
    )
    confirmed = lab.wait_until(wl.wizard("confirm"), timeout=150, interval=1.0)
    assert confirmed.ok, lab.read_file("/lab/apply.log")
    assert lab.wait_until("! kill -0 $(cat /lab/apply.pid) 2>/dev/null", timeout=30).ok
    # confirm wrote the applied manifest (the engine's own write), mode 0600
    mode = lab.run("stat -c %a /var/lib/vpn-wizard/applied.json", check=True).out.strip()
    assert mode == "600"
    up, status = wl.wait_established(lab, names)
    assert up, status

    # The heartbeat, the document's way (no systemd here), at a 1 s interval.
    targets = " ".join(t.aws_inside_ip for t in lab_tunnels)
    lab.run(
        f"{wl.wizard('heartbeat', targets, '--interval', '1')} >/lab/heartbeat.log 2>&1 &\n"
        "echo $! > /lab/heartbeat.pid",
        check=True,
    )
    assert lab.wait_until(["test", "-s", STATE_FILE], timeout=20).ok, lab.read_file(
        "/lab/heartbeat.log"
    )
    for t in lab_tunnels:
        lab.run(["ping", "-c", "3", "-W", "1", t.aws_inside_ip], check=True)

    started = time.monotonic()
    rc, doc = _status(lab)
    lab_timing("status --once --json, one run (process start included)", time.monotonic() - started)
    assert rc == 0, json.dumps(doc, indent=1)
    assert doc["source"] == "vici"
    assert doc["expected_from"] == "manifest"
    assert doc["rules_source"] == "iptables -t mangle -S"
    assert doc["rules_watch"] == "the legacy mangle table's content (IPT_SO_GET_ENTRIES)"
    assert doc["all_up"] is True and doc["diagnosis"] == [], doc["diagnosis"]
    for t in lab_tunnels:
        got = _tunnel(doc, t.name)
        assert got["ike"]["state"] == "ESTABLISHED"
        assert got["child"]["state"] == "INSTALLED"
        assert got["child"]["bytes_in"] > 0 and got["child"]["bytes_out"] > 0
        assert got["vti"]["up"] and got["vti"]["mtu"] == 1419 and got["vti"]["ikey"] == t.mark
        assert got["vti"]["rx_bytes"] > 0 and got["vti"]["tx_bytes"] > 0
        assert [r["present"] for r in got["routes"]] == [True]
        assert [r["present"] for r in got["rules"]] == [True, True]
        assert got["heartbeat"]["address"] == t.aws_inside_ip
        assert got["heartbeat"]["replies"] > 0
    assert lab.run(wl.wizard("status", "--once"), timeout=60).out.count(": UP") == 2

    # One refresh after another reads only what changed: `iptables -S` runs only after the
    # mangle table changed (the legacy table, as on this box), links and routes are dumped
    # only after the kernel announced a change, and each change shows in the next refresh.
    lab.write_file("/lab/refreshes.py", REFRESHES.replace("{peer}", first.aws_inside_ip))
    watched = lab.run(f"{wl.PYTHON} /lab/refreshes.py", timeout=120)
    assert watched.rc == 0, watched.out
    steps = _refresh_steps(watched.out)
    watch = "the legacy mangle table's content (IPT_SO_GET_ENTRIES)"
    both, one_gone = [[True, True], [True, True]], [[True, True], [False, True]]
    assert [step[:6] for step in steps] == [
        ["first", 1, watch, both, 1, 1419],
        ["again", 1, watch, both, 1, 1419],
        ["Tunnel2's TCPMSS rule deleted", 2, watch, one_gone, 1, 1419],
        ["no change since", 2, watch, one_gone, 1, 1419],
        ["put back", 3, watch, both, 1, 1419],
        ["replaced by one for another interface (same size)", 4, watch, one_gone, 1, 1419],
        ["put back again", 5, watch, both, 1, 1419],
        ["pinged over Tunnel1", 5, watch, both, 1, 1419],
        ["Tunnel2's MTU set to 1400", 5, watch, both, 2, 1400],
        ["MTU put back", 5, watch, both, 3, 1419],
    ], watched.out
    rx_before, rx_after = steps[6][6], steps[7][6]
    assert rx_after >= rx_before + 2, watched.out  # counters fresh without a dump

    # The panel's event watchers, logging what they are told and when.
    lab.write_file("/lab/events.py", EVENT_LOGGER)
    lab.run(
        f"{wl.PYTHON} /lab/events.py >/lab/events.err 2>&1 &\necho $! > /lab/events.pid", check=True
    )
    time.sleep(3)

    # The document's failover test: drop everything from the first VGW address.
    blocked_at = float(
        lab.run(
            f"date +%s.%N; iptables -A INPUT -s {first.aws_outside_ip} -j DROP", check=True
        ).out.split()[0]
    )
    took, rc, doc = _wait_status(
        lab, lambda rc, d: not _tunnel(d, first.name)["up"], timeout=DPD_WINDOW + 30
    )
    t1 = _tunnel(doc, first.name)
    assert not t1["up"], json.dumps(doc, indent=1)
    lab_timing("status: tunnel 1 reported down after blocking its VGW address", took)
    assert rc == 1
    assert _tunnel(doc, second.name)["up"]
    assert any(d.startswith("Tunnel 1: down") for d in doc["diagnosis"]), doc["diagnosis"]
    # The heartbeat noticed too, once its silence passed the limit.
    _, _, doc = _wait_status(
        lab,
        lambda rc, d: any(x.startswith("heartbeat: no reply for") for x in d["diagnosis"]),
        timeout=30,
    )
    assert any(
        x.startswith("heartbeat: no reply for") and first.aws_inside_ip in x
        for x in doc["diagnosis"]
    ), doc["diagnosis"]

    # Unblocked: charon's retries (keyingtries=%forever) bring it back.
    unblocked_at = float(
        lab.run(
            f"date +%s.%N; iptables -D INPUT -s {first.aws_outside_ip} -j DROP", check=True
        ).out.split()[0]
    )
    took, rc, doc = _wait_status(lab, lambda rc, d: rc == 0, timeout=180)
    lab_timing("status: both up again after unblocking", took)
    assert rc == 0, json.dumps(doc, indent=1)
    assert all(t["ike"]["state"] == "ESTABLISHED" for t in doc["tunnels"])

    # The same moments as the panel heard them: pushed by charon over vici.
    events = lab.read_file("/lab/events.log")
    lab.run("kill $(cat /lab/events.pid)", check=True)
    down = _first_event(events, blocked_at, ("updown", first.name, "down"))
    back = _first_event(events, unblocked_at, ("child-updown", first.name, "up"))
    assert down is not None and back is not None, events + lab.read_file("/lab/events.err")
    lab_timing("vici event: tunnel 1 down, after blocking", down)
    lab_timing("vici event: tunnel 1 CHILD SA up, after unblocking", back)

    # The bench, here where there are tunnels to read.
    bench = lab.run(f"{wl.PYTHON} {REPO}/bench/status_refresh.py --batches 3 --rounds 5 --refreshes 50",
                    timeout=300)
    print(bench.out)
    assert bench.rc == 0, bench.out
    lab.run("kill $(cat /lab/heartbeat.pid)", check=True)
