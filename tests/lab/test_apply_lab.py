"""`vpn-wizard apply` on a real kernel against a real strongSwan peer (issue #4).

Inside UML the cgw is UML's root namespace: every command below is what an
operator would type on the gateway, with the AWS file and an answers file.
Each scenario boots its own lab (`fresh_lab`), because each one changes the
cgw and proving that the wizard undoes its own changes is the point; the
lab does not reset anything for it.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable

import pytest
import wizard_lab as wl
from peer import PeerTunnel
from uml import VPC_HOST_IP, Lab

from wizard.apply import fault_points
from wizard.inputs import load
from wizard.plan import build_plan
from wizard.system.paths import Root

pytestmark = pytest.mark.lab

Timing = Callable[[str, float], None]


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


def test_updown_mode_tunnels_ping_rerun_and_failover(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> None:
    wl.install_snapshot(fresh_lab)
    _bring_up(fresh_lab, lab_tunnels, "updown", lab_timing)
    _failover(fresh_lab, lab_tunnels, lab_timing, "updown")


def test_manual_mode_tunnels_ping_rerun_uninstall(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> None:
    lab = fresh_lab
    wl.install_snapshot(lab)
    before = wl.snapshot(lab)
    _bring_up(lab, lab_tunnels, "manual", lab_timing)
    # Manual mode has no failover of its own (the document's failover is the
    # updown section): both routes stay, tunnel 1's metric wins.
    assert "dev Tunnel1" in lab.run(f"ip route get {VPC_HOST_IP}", check=True).out
    started = time.monotonic()
    removed = lab.run(
        wl.wizard("uninstall", "--import", wl.AWS_FILE, "--answers", wl.ANSWERS), timeout=120
    )
    assert removed.rc == 0, removed.out
    lab_timing("manual: vpn-wizard uninstall", time.monotonic() - started)
    lab.run("ipsec stop")  # it was stopped before the wizard; uninstall restarts a running one
    after = wl.snapshot(lab)
    assert after == before, wl.diff(before, after)


def test_rollback_is_exact_at_every_fault_point(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Timing, tmp_path_factory
) -> None:
    """Fail at, and kill -9 at, each action of the plan; each time the box is as before."""
    lab = fresh_lab
    wl.install_snapshot(lab)
    wl.prepare(lab, lab_tunnels, "manual")
    # The plan as the cgw will build it (its files are the host's, seen through hostfs).
    local = tmp_path_factory.mktemp("aws")
    (local / "aws.txt").write_text(wl.lab_aws_file(lab_tunnels))
    (local / "answers.toml").write_text(wl.answers("manual"))
    setup = load(local / "aws.txt", local / "answers.toml", Root(local / "empty")).setup
    points = len(fault_points(build_plan(setup)))
    args = ["--import", wl.AWS_FILE, "--answers", wl.ANSWERS, "--no-confirm"]
    started = time.monotonic()
    out = lab.run(
        shlex.join([wl.PYTHON, wl.DRIVER, "/lab/snapshot.sh", str(points), *args]), timeout=900
    ).out
    elapsed = time.monotonic() - started
    report = json.loads(out.strip().splitlines()[-1])
    print(
        f"fault points tried: {report['points']} (x2: failure injected, then kill -9 + "
        f"rollback), in {elapsed:.0f} s"
    )
    lab_timing(f"{points} fault points x (fail, kill -9 + rollback)", elapsed)
    assert report["failures"] == []
    assert report["points"] == points > 30


def test_confirm_or_revert(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Timing
) -> None:
    lab = fresh_lab
    wl.install_snapshot(lab)
    wl.prepare(lab, lab_tunnels, "manual")
    before = wl.snapshot(lab)

    # Nobody confirms: after 5 s everything goes back.
    started = time.monotonic()
    waited = lab.run(wl.apply_cmd("--confirm-timeout", "5"), timeout=180)
    assert waited.rc == 1 and "Not confirmed in time" in waited.out, waited.out
    lab_timing("apply + 5 s unconfirmed + revert", time.monotonic() - started)
    after = wl.snapshot(lab)
    assert after == before, wl.diff(before, after)

    # The wizard is killed while it waits (as when the SSH session dies): the timer reverts.
    lab.run(
        f"{wl.apply_cmd('--confirm-timeout', '8')} >/lab/wizard.log 2>&1 &\n"
        "echo $! > /lab/wizard.pid",
        check=True,
    )
    pending = lab.wait_until(
        "grep -q pending-confirm /var/lib/vpn-wizard/transactions/*/journal.jsonl 2>/dev/null"
        " && tail -n 1 -q /var/lib/vpn-wizard/transactions/*/journal.jsonl"
        " | grep -q pending-confirm",
        timeout=120,
        interval=0.5,
    )
    assert pending.ok, lab.run("cat /lab/wizard.log").out
    assert lab.run("ip link show Tunnel1").ok
    lab.run("kill -9 $(cat /lab/wizard.pid)", check=True)
    reverted = lab.wait_until("! ip link show Tunnel1 >/dev/null 2>&1", timeout=60)
    assert reverted.ok
    settled = lab.wait_until(
        "tail -n 1 -q /var/lib/vpn-wizard/transactions/*/journal.jsonl | grep -q rolled-back",
        timeout=60,
    )
    assert settled.ok
    after = wl.snapshot(lab)
    assert after == before, wl.diff(before, after)
    assert (
        "not confirmed in time" in lab.run("cat /var/lib/vpn-wizard/transactions/*/timer.log").out
    )

    # Confirmed in time: kept.
    lab.run(
        f"{wl.apply_cmd('--confirm-timeout', '60')} >/lab/wizard.log 2>&1 &\n"
        "echo $! > /lab/wizard.pid",
        check=True,
    )
    assert lab.wait_until(
        "tail -n 1 -q /var/lib/vpn-wizard/transactions/*/journal.jsonl | grep -q pending-confirm",
        timeout=120,
        interval=0.5,
    ).ok
    confirmed = lab.run(wl.wizard("confirm"), timeout=60)
    assert confirmed.rc == 0, confirmed.out
    assert lab.wait_until("! kill -0 $(cat /lab/wizard.pid) 2>/dev/null", timeout=30).ok
    assert "Confirmed" in lab.run("cat /lab/wizard.log").out
    time.sleep(1)
    assert lab.run("ip link show Tunnel1").ok
    assert not lab.run("pgrep -f wizard.revert_timer").ok


def test_bad_input_stops_before_any_change(fresh_lab: Lab, lab_tunnels: list[PeerTunnel]) -> None:
    lab = fresh_lab
    wl.install_snapshot(lab)
    wl.prepare(lab, lab_tunnels, "manual")

    # A mark already used by an operator's conn in /etc/ipsec.conf.
    lab.run(
        "cp /etc/ipsec.conf /lab/ipsec.conf.orig && printf '\\nconn office\\n"
        "\\tright=192.0.2.77\\n\\tmark=100\\n\\tauto=add\\n' >> /etc/ipsec.conf",
        check=True,
    )
    before = wl.snapshot(lab)
    refused = lab.run(wl.apply_cmd("--no-confirm"), timeout=120)
    assert refused.rc == 2, refused.out
    assert "mark 100 is already used by conn office in /etc/ipsec.conf" in refused.out
    assert "Nothing was changed" in refused.out
    assert wl.snapshot(lab) == before
    lab.run("cp /lab/ipsec.conf.orig /etc/ipsec.conf", check=True)

    # A physical interface the box does not have.
    lab.write_file(wl.ANSWERS, wl.answers("manual", physical="eth9"), mode=0o600)
    before = wl.snapshot(lab)
    refused = lab.run(wl.apply_cmd("--no-confirm"), timeout=120)
    assert refused.rc == 2, refused.out
    assert "the physical (WAN) interface eth9 does not exist" in refused.out
    assert wl.snapshot(lab) == before
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
