"""`vpn-wizard apply` on a real kernel against a real strongSwan peer (issue #4).

Inside UML the cgw is UML's root namespace: every command below is what an
operator would type on the gateway, with the AWS file and an answers file.
The lab does not reset anything between scenarios: proving that the wizard
undoes its own changes is the point. So the scenarios that end with the box
put back by the product itself (bad input changes nothing; manual mode ends
with `vpn-wizard uninstall`; confirm-or-revert, last, reverts twice) share
one lab, and each first checks that the box is exactly as it was at boot.
Updown mode and its failover, first, boot a lab of their own.

The rollback sweep (a failure injected at every action, and kill -9 at every
action followed by `vpn-wizard rollback`) is 111 runs of the wizard. It runs
in two more labs, in threads started when the module starts, so it uses the
machine's second core and the time the other scenarios spend waiting for
DPD and confirmation timeouts; its test, last, waits for it and checks it.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import wizard_lab as wl
from peer import PeerTunnel
from uml import VPC_HOST_IP, Lab, lab_unavailable

from wizard.apply import fault_points

pytestmark = pytest.mark.lab

Timing = Callable[[str, float], None]
LabFactory = Callable[..., Any]


SWEEP_TEST = "test_rollback_is_exact_at_every_fault_point"
SWEEP_LABS = 2
"""Labs the sweep is split over: one per core of the 2-core machines this runs on."""
REAL_BINARY_POINTS = (13, 36)
"""Kill points where the crashing apply and the rollback are the real `vpn-wizard`
binary (about 3 s of imports each under UML), not a child forked from the driver."""
APPLY_ARGS = ("--import", wl.AWS_FILE, "--answers", wl.ANSWERS, "--no-confirm")


class FaultSweep:
    """fault_driver.py over every action, split across labs that run in threads.

    Each lab gets every SWEEP_LABS-th action (so the costly late actions,
    which restart strongSwan, are shared out) with both kinds of fault.
    """

    def __init__(self, factory: LabFactory, tunnels: Sequence[PeerTunnel], timing: Timing) -> None:
        self.factory = factory
        self.tunnels = tunnels
        self.timing = timing
        self.points = fault_points(wl.lab_plan(tunnels, "manual"))
        self.reports: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self.labs: list[Lab] = []
        self.started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._work, args=(k,), name=f"fault-sweep-{k}", daemon=True)
            for k in range(SWEEP_LABS)
        ]

    def start(self) -> FaultSweep:
        for thread in self._threads:
            thread.start()
        return self

    def _work(self, k: int) -> None:
        mine = [i for i, _, _ in self.points if i % SWEEP_LABS == k]
        real = [i for i in REAL_BINARY_POINTS if i in mine]
        started = time.monotonic()
        try:
            with self.factory(self.tunnels, self.timing) as lab:
                self.labs.append(lab)
                wl.install_snapshot(lab, self.tunnels)
                wl.prepare(lab, self.tunnels, "manual")
                listed = ",".join(map(str, mine))
                cmd = [
                    wl.PYTHON,
                    wl.DRIVER,
                    wl.SCOPE_FILE,
                    "--fail",
                    listed,
                    "--kill",
                    listed,
                    "--real",
                    ",".join(map(str, real)),
                    "--binary",
                    wl.VPN_WIZARD,
                    "--",
                    *APPLY_ARGS,
                ]
                out = lab.run(shlex.join(cmd), timeout=800).out
                lines = out.strip().splitlines()
                try:
                    report = json.loads(lines[-1])
                except (IndexError, ValueError):
                    raise AssertionError(f"fault driver in lab {k} said:\n{out[-3000:]}") from None
                report["lab"] = k
                report["wall"] = time.monotonic() - started
                report["ended"] = time.monotonic()
                self.reports.append(report)
        except BaseException as err:  # handed to the test's thread by join()
            self.errors.append(err)

    def join(self, timeout: float = 900.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.errors:
            raise self.errors[0]
        assert all(not t.is_alive() for t in self._threads), "the fault sweep did not finish"
        return sorted(self.reports, key=lambda r: r["lab"])

    def close(self) -> None:
        """Stop whatever still runs (a module that failed early); the labs power off."""
        for lab in self.labs:
            lab.close()
        for thread in self._threads:
            thread.join(30)


@pytest.fixture(scope="module")
def fault_sweep(
    lab_factory: LabFactory, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> Iterator[FaultSweep]:
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    sweep = FaultSweep(lab_factory, lab_tunnels, lab_timing).start()
    yield sweep
    sweep.close()


@pytest.fixture(scope="module", autouse=True)
def _sweep_from_the_start(request: pytest.FixtureRequest) -> None:
    """Start the sweep with the module's first test when its own test is selected."""
    if lab_unavailable():
        return
    selected = (
        getattr(item, "originalname", item.name)
        for item in request.session.items
        if getattr(item, "module", None) is request.module
    )
    if SWEEP_TEST in selected:
        request.getfixturevalue("fault_sweep")


@pytest.fixture(scope="module")
def baseline(lab: Lab, lab_tunnels: list[PeerTunnel]) -> str:
    """The shared lab's cgw as booted, inputs in place: every scenario on it starts here."""
    wl.install_snapshot(lab, lab_tunnels)
    wl.prepare(lab, lab_tunnels, "manual")
    return wl.snapshot(lab)


def _at_baseline(lab: Lab, baseline: str) -> str:
    """Check the previous scenario on the shared lab left the box as booted; return it."""
    now = wl.snapshot(lab)
    assert now == baseline, "the box is not as booted:\n" + wl.diff(baseline, now)
    return now


def _mangle(lab: Lab) -> str:
    return lab.run("iptables -t mangle -S", check=True).out


def _bring_up(lab: Lab, tunnels: list[PeerTunnel], mode: str, timing: Timing) -> None:
    """Apply as the operator would and check both tunnels, the LAN ping and the rules."""
    names = [t.name for t in tunnels]
    wl.prepare(lab, tunnels, mode)
    assert not lab.run(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan").ok
    started = time.monotonic()
    applied = lab.run(wl.apply_cmd("--no-confirm"), timeout=180)
    assert applied.rc == 0, applied.out
    timing(f"{mode}: vpn-wizard apply (command alone)", time.monotonic() - started)
    up, status = wl.wait_established(lab, names)
    assert up, status
    timing(f"{mode}: apply to both tunnels ESTABLISHED", time.monotonic() - started)
    for t in tunnels:
        assert re.search(rf"^\s*{t.name}\[\d+\]: ESTABLISHED", status, re.M), status
    ping = lab.wait_until(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan", timeout=20)
    assert ping.ok, f"LAN host cannot reach the VPC host:\n{ping.out}"

    rules = _mangle(lab)
    for t in tunnels:
        mark = (
            f"-A INPUT -s {t.aws_outside_ip}/32 -d {t.customer_outside_ip}/32 -p esp "
            f"-j MARK --set-xmark 0x{t.mark:x}/0xffffffff"
        )
        clamp = (
            f"-A FORWARD -o {t.name} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS "
            "--clamp-mss-to-pmtu"
        )
        assert rules.count(mark) == 1, rules
        assert rules.count(clamp) == 1, rules

    # The operator runs it again: nothing changes, nothing is duplicated.
    state = wl.snapshot(lab)
    again = lab.run(wl.apply_cmd("--no-confirm"), timeout=180)
    assert again.rc == 0 and "nothing was changed" in again.out, again.out
    assert _mangle(lab) == rules
    assert wl.snapshot(lab) == state
    # The keys went into files only.
    lab.write_file("/lab/keys.pattern", "".join(f"{t.psk}\n" for t in tunnels), mode=0o600)
    leaks = lab.run(
        "grep -lF -f /lab/keys.pattern /proc/[0-9]*/cmdline "
        "/var/lib/vpn-wizard/transactions/*/journal.jsonl; rm /lab/keys.pattern"
    )
    assert leaks.out == "", "a PSK leaked into: " + leaks.out


def _failover(lab: Lab, tunnels: list[PeerTunnel], timing: Timing, label: str) -> None:
    """The seed's step 6: block the first VGW address; traffic must move to tunnel 2.

    AWS routes the return traffic over whichever tunnel is up; the lab's vgw
    has static routes, so the test takes the vgw's Tunnel1 down at the same
    moment, standing in for AWS's side. What is measured is the cgw's own
    detection (DPD) and the move of its route to Tunnel2.
    """
    first, second = tunnels
    started = time.monotonic()
    lab.run(f"iptables -A INPUT -s {first.aws_outside_ip} -j DROP", check=True)
    lab.run(f"ip link set {first.name} down", ns="vgw", check=True)
    moved = lab.wait_until(
        f"ip route get {VPC_HOST_IP} | grep -q 'dev {second.name}' && ping -c 1 -W 1 {VPC_HOST_IP}",
        ns=None,
        timeout=120,
        interval=0.5,
    )
    assert moved.ok, lab.run(f"ip route; ipsec status; ip route get {VPC_HOST_IP}").out
    lan = lab.wait_until(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan", timeout=20)
    assert lan.ok, lan.out
    timing(
        f"{label}: failover to {second.name} after blocking {first.aws_outside_ip}",
        time.monotonic() - started,
    )
    lab.run(f"iptables -D INPUT -s {first.aws_outside_ip} -j DROP", check=True)
    lab.run(f"ip link set {first.name} up", ns="vgw", check=True)


HEARTBEAT_LOG = "/lab/heartbeat.log"


def _fast_failover(lab: Lab, tunnels: list[PeerTunnel], timing: Timing) -> None:
    """Issue 13: with `fast_failover`, the heartbeat moves the route off a dead tunnel (DPD
    has not cleared it yet), then back once it answers again, once each way (no flapping).

    The lab has no systemd: the heartbeat the plan's unit would run (its ExecStart) is
    started the document's way, in the background. bench/failover_lab.py measures how fast
    from the VPC host's side; this proves what moves it.
    """
    first, second = tunnels
    names = [t.name for t in tunnels]
    lab.write_file(wl.ANSWERS, wl.answers("updown") + "fast_failover = true\n", mode=0o600)
    applied = lab.run(wl.apply_cmd("--no-confirm"), timeout=180)
    assert applied.rc == 0, applied.out
    up, status = wl.wait_established(lab, names)
    assert up, status
    unit = lab.read_file("/etc/systemd/system/vpn-wizard-heartbeat.service")
    line = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert line and "--failover Tunnel1:100" in line.group(1), unit
    pid = lab.run(f"setsid {line.group(1)} >{HEARTBEAT_LOG} 2>&1 </dev/null & echo $!",
                  check=True).out.strip()
    try:
        back_on_first = f"ip route get {VPC_HOST_IP} | grep -q 'dev {first.name}'"
        assert lab.wait_until(back_on_first, timeout=60).ok, lab.run("ip route").out
        started = time.monotonic()
        lab.run(f"iptables -A INPUT -s {first.aws_outside_ip} -j DROP", check=True)
        lab.run(f"ip link set {first.name} down", ns="vgw", check=True)
        moved = lab.wait_until(
            f"grep -q 'routes are off' {HEARTBEAT_LOG} && ip route get {VPC_HOST_IP} | "
            f"grep -q 'dev {second.name}' && ping -c 1 -W 1 {VPC_HOST_IP}", timeout=60)
        assert moved.ok, lab.run(f"ip route; cat {HEARTBEAT_LOG}").out
        timing("updown: fast failover to Tunnel2 (cgw side)", time.monotonic() - started)
        lab.run(f"iptables -D INPUT -s {first.aws_outside_ip} -j DROP", check=True)
        lab.run(f"ip link set {first.name} up", ns="vgw", check=True)
        started = time.monotonic()
        returned = lab.wait_until(f"grep -q 'routes are back' {HEARTBEAT_LOG} && {back_on_first}",
                                  timeout=60)
        assert returned.ok, lab.run(f"ip route; cat {HEARTBEAT_LOG}").out
        timing("updown: fast failover, route back on Tunnel1", time.monotonic() - started)
        log = lab.read_file(HEARTBEAT_LOG)
        assert log.count("routes are off") == 1 and log.count("routes are back") == 1, log
    finally:
        lab.run(f"kill {pid}")


def test_updown_mode_tunnels_ping_rerun_and_failover(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> None:
    wl.install_snapshot(fresh_lab, lab_tunnels)
    _bring_up(fresh_lab, lab_tunnels, "updown", lab_timing)
    _failover(fresh_lab, lab_tunnels, lab_timing, "updown")
    _fast_failover(fresh_lab, lab_tunnels, lab_timing)


def test_bad_input_stops_before_any_change(lab: Lab, baseline: str, lab_timing: Timing) -> None:
    started = time.monotonic()
    before = _at_baseline(lab, baseline)
    # Each refusal is compared where the plans write; the last also under all of /etc.
    lean = wl.snapshot(lab, full=False)

    # A mark already used by an operator's conn in /etc/ipsec.conf.
    lab.run(
        "cp /etc/ipsec.conf /lab/ipsec.conf.orig && printf '\\nconn office\\n"
        "\\tright=192.0.2.77\\n\\tmark=100\\n\\tauto=add\\n' >> /etc/ipsec.conf",
        check=True,
    )
    edited = wl.snapshot(lab, full=False)
    refused = lab.run(wl.apply_cmd("--no-confirm"), timeout=120)
    assert refused.rc == 2, refused.out
    assert "mark 100 is already used by conn office in /etc/ipsec.conf" in refused.out
    assert "Nothing was changed" in refused.out
    assert wl.snapshot(lab, full=False) == edited
    lab.run("cp /lab/ipsec.conf.orig /etc/ipsec.conf", check=True)

    # A physical interface the box does not have.
    lab.write_file(wl.ANSWERS, wl.answers("manual", physical="eth9"), mode=0o600)
    refused = lab.run(wl.apply_cmd("--no-confirm"), timeout=120)
    assert refused.rc == 2, refused.out
    assert "the physical (WAN) interface eth9 does not exist" in refused.out
    assert wl.snapshot(lab, full=False) == lean
    lab.write_file(wl.ANSWERS, wl.answers("manual"), mode=0o600)

    # strongSwan absent: `ipsec` shadowed off PATH.
    refused = lab.run(
        "mkdir -p /lab/nossw && for t in ip iptables iptables-save sysctl; do "
        "ln -sf $(command -v $t) /lab/nossw/$t; done\n"
        f"PATH=/lab/nossw:/usr/bin:/bin {wl.apply_cmd('--no-confirm')}",
        timeout=120,
    )
    assert refused.rc == 2, refused.out
    assert "strongSwan is not installed" in refused.out
    assert wl.snapshot(lab) == before
    lab_timing("bad input: three refusals, each checked", time.monotonic() - started)


def test_manual_mode_tunnels_ping_rerun_uninstall(
    lab: Lab, baseline: str, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> None:
    before = _at_baseline(lab, baseline)
    _bring_up(lab, lab_tunnels, "manual", lab_timing)
    # Manual mode has no failover of its own (the document's failover is the
    # updown section): both routes stay, tunnel 1's metric wins.
    assert "dev Tunnel1" in lab.run(f"ip route get {VPC_HOST_IP}", check=True).out
    started = time.monotonic()
    removed = lab.run(
        wl.wizard("uninstall", "--yes", "--import", wl.AWS_FILE, "--answers", wl.ANSWERS),
        timeout=120,
    )
    assert removed.rc == 0, removed.out
    lab_timing("manual: vpn-wizard uninstall", time.monotonic() - started)
    lab.run("ipsec stop")  # it was stopped before the wizard; uninstall restarts a running one
    after = wl.snapshot(lab)
    assert after == before, wl.diff(before, after)


NEWEST = "tx=$(ls -d /var/lib/vpn-wizard/transactions/*/ | tail -n 1)"
"""Shell: $tx is the newest transaction (ids sort by time); earlier scenarios left theirs."""


def _newest_state_is(state: str) -> str:
    """Shell that succeeds once the newest transaction's last record is `state`."""
    return f'{NEWEST} && tail -n 1 "$tx/journal.jsonl" | grep -q \'"state": "{state}"\''


def test_confirm_or_revert(lab: Lab, baseline: str, lab_timing: Timing) -> None:
    """Last on the shared lab: confirmed changes are kept, then `uninstall` with no arguments.

    The confirmation writes the applied manifest; `vpn-wizard uninstall --yes`
    then needs nothing but the box: it reads the manifest, removes everything
    of the wizard's (the manifest too), and leaves the box as booted.
    """
    before = _at_baseline(lab, baseline)
    lean = wl.snapshot(lab, full=False)

    # Nobody confirms: after 5 s everything goes back.
    started = time.monotonic()
    waited = lab.run(wl.apply_cmd("--confirm-timeout", "5"), timeout=180)
    assert waited.rc == 1 and "Not confirmed in time" in waited.out, waited.out
    lab_timing("apply + 5 s unconfirmed + revert", time.monotonic() - started)
    after = wl.snapshot(lab, full=False)  # the full one comes after the next revert
    assert after == lean, wl.diff(lean, after)

    # The wizard is killed while it waits (as when the SSH session dies): the timer reverts.
    started = time.monotonic()
    lab.run(
        f"{wl.apply_cmd('--confirm-timeout', '8')} >/lab/wizard.log 2>&1 &\n"
        "echo $! > /lab/wizard.pid",
        check=True,
    )
    pending = lab.wait_until(_newest_state_is("pending-confirm"), timeout=120, interval=0.5)
    assert pending.ok, lab.run("cat /lab/wizard.log").out
    assert lab.run("ip link show Tunnel1").ok
    lab.run("kill -9 $(cat /lab/wizard.pid)", check=True)
    reverted = lab.wait_until("! ip link show Tunnel1 >/dev/null 2>&1", timeout=60)
    assert reverted.ok
    settled = lab.wait_until(_newest_state_is("rolled-back"), timeout=60)
    assert settled.ok
    lab_timing("apply, kill -9 while it waits 8 s, timer reverts", time.monotonic() - started)
    after = wl.snapshot(lab)
    assert after == before, wl.diff(before, after)
    assert "not confirmed in time" in lab.run(f'{NEWEST}; cat "$tx/timer.log"').out

    # Confirmed in time: kept.
    started = time.monotonic()
    lab.run(
        f"{wl.apply_cmd('--confirm-timeout', '60')} >/lab/wizard.log 2>&1 &\n"
        "echo $! > /lab/wizard.pid",
        check=True,
    )
    assert lab.wait_until(_newest_state_is("pending-confirm"), timeout=120, interval=0.5).ok
    confirmed = lab.run(wl.wizard("confirm"), timeout=60)
    assert confirmed.rc == 0, confirmed.out
    assert lab.wait_until("! kill -0 $(cat /lab/wizard.pid) 2>/dev/null", timeout=30).ok
    assert "Confirmed" in lab.run("cat /lab/wizard.log").out
    lab_timing("apply + vpn-wizard confirm", time.monotonic() - started)
    time.sleep(1)
    assert lab.run("ip link show Tunnel1").ok
    assert not lab.run("pgrep -f wizard.revert_timer").ok
    manifest = lab.run("stat -c %a /var/lib/vpn-wizard/applied.json", check=True).out.strip()
    assert manifest == "600"

    # Uninstall with no arguments: the applied manifest names the setup.
    started = time.monotonic()
    removed = lab.run(wl.wizard("uninstall", "--yes"), timeout=180)
    assert removed.rc == 0, removed.out
    assert "Nothing has been removed yet: this is a preview." in removed.out, removed.out
    assert "Removed what the wizard had added." in removed.out, removed.out
    lab_timing("vpn-wizard uninstall --yes (no arguments)", time.monotonic() - started)
    assert not lab.run("test -e /var/lib/vpn-wizard/applied.json").ok
    lab.run("ipsec stop")  # as after the manual scenario's uninstall
    after = wl.snapshot(lab)
    assert after == before, wl.diff(before, after)
    again = lab.run(wl.wizard("uninstall", "--yes"), timeout=60)
    assert again.rc == 2 and "no applied manifest" in again.out, again.out


def test_rollback_is_exact_at_every_fault_point(
    fault_sweep: FaultSweep, lab_timing: Timing
) -> None:
    """Fail at, and kill -9 at, each action of the plan; each time the box is as before.

    The runs happened in the background (FaultSweep) while the scenarios
    above ran; this waits for them and checks what they found.
    """
    waited = time.monotonic()
    reports = fault_sweep.join()
    lab_timing("fault sweep: left to wait for after the other scenarios", time.monotonic() - waited)
    points = fault_sweep.points
    for report in reports:
        k = report["lab"]
        lab_timing(f"fault sweep lab {k}: boot + inputs + driver", report["wall"])
        for phase, seconds in report["seconds"].items():
            lab_timing(f"fault sweep lab {k}: {phase}", seconds)
        slowest = sorted(report["runs"].items(), key=lambda run: -run[1])[:6]
        print(f"fault sweep lab {k}, slowest runs: " + ", ".join(f"{n} {s} s" for n, s in slowest))
    failures = [f"lab {r['lab']}: {f}" for r in reports for f in r["failures"]]
    assert failures == [], "\n".join(failures)

    # Every action, with both kinds of fault; so every step too.
    indices = [i for i, _, _ in points]
    failed_at = sorted(i for r in reports for i in r["fail"])
    killed_at = sorted(i for r in reports for i in r["kill"])
    assert failed_at == indices == killed_at
    real = sorted(i for r in reports for i in r["real"])
    assert real == sorted(REAL_BINARY_POINTS)
    steps = {step for _, step, _ in points}
    elapsed = max(r["ended"] for r in reports) - fault_sweep.started
    print(
        f"fault points tried: {len(indices)} actions in {len(steps)} steps, each twice "
        f"(failure injected; kill -9 then vpn-wizard rollback, {len(real)} of those with the "
        f"real binary): {len(failed_at) + 2 * len(killed_at)} runs of the wizard across "
        f"{len(reports)} labs in {elapsed:.0f} s"
    )
    lab_timing(f"{len(indices)} fault points x (fail, kill -9 + rollback), wall", elapsed)
    assert len(indices) > 30
