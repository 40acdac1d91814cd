"""The operator's box, booted: install the release artefact, apply, power off, boot, uninstall.

Everything else in tests/lab runs the customer gateway with a shell as PID 1.
Here the box is a Debian root filesystem built from Debian's packages
(bootimage.py) booting with systemd as PID 1 under user-mode-linux, wired to
a second UML machine that plays AWS and a LAN host (bootlab.py). Judged from
the AWS side and the LAN host, never from the wizard's own words:

* the artefact `tools/build-zipapp.sh` built is installed exactly as README
  "Install on a box" says (`sudo install -m 755 vpn-wizard.pyz
  /usr/local/sbin/vpn-wizard`) and applied with `sudo vpn-wizard apply
  --answers ...`: both CHILD_SAs up at the responder, the LAN host reaches
  the VPC host;
* power off, boot, no human: both CHILD_SAs come back, the VTIs have their
  addresses, MTU and routes, the mangle rules are there exactly once, the
  plan's sysctls are in force (effective rp_filter included), the heartbeat
  unit is active with a fresh state file, the LAN host reaches the VPC host;
* `sudo vpn-wizard uninstall`, power off, boot: the files the plan touched are
  byte-identical to the box as installed (the operator's own lines included),
  no tunnel, rule, unit or sysctl of the wizard's is left.
* once per persona family, `sudo vpn-wizard --plain` on a real terminal
  (pty_driver.py on the box) answered as a newcomer would, judged the same way;
* apply with a confirm timeout and cut the power before confirming: the next
  boot rolls it back before the network and strongSwan start (Debian 12 in
  manual mode, Debian 13 in updown mode).

Figures (boot -> both CHILD_SAs up, apply -> both up) are printed and listed
in the run's summary; nothing asserts on them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bootimage
import hostguard
import pytest
from bootlab import BootLab, booted_lab
from conftest import Timing
from peer import VGW, PeerTunnel, seed_tunnels, start_bgp, vtysh
from plain_rules import plain_spec
from uml import Lab, lab_unavailable
from wizard_lab import lab_aws_file

from wizard.inputs import load
from wizard.operations import AddIptablesRule, SetSysctl
from wizard.plan import build_plan
from wizard.plan_types import Plan
from wizard.system.paths import Root

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
ARTEFACT = REPO / "dist" / "vpn-wizard.pyz"
COMMAND = "/usr/local/sbin/vpn-wizard"
"""Where README "Install on a box" puts the artefact."""
AWS_FILE = "/root/vpn-lab.txt"
ANSWERS = "/root/answers.toml"
VPC_CIDR = "203.0.113.0/24"
LAN_CIDR = f"{bootimage.BOX_LAN_IP}/24".replace(".1/", ".0/")
CUSTOMER_ASN = 65000
"""The box's ASN in the BGP cycle; AWS's side is peer.start_bgp's (64512, AWS's timers)."""


def _skip_reason() -> str | None:
    return lab_unavailable() or bootimage.unavailable()


def answers(persona: bootimage.Persona, persistence: str, mode: str = "manual",
            bgp: bool = False) -> str:
    """What the operator of this box chooses; with `bgp`, dynamic routing announcing the LAN."""
    text = (
        "[choices]\n"
        f'mode = "{mode}"\n'
        f'physical_interface = "{bootimage.BOX_WAN_IF}"\n'
        f'lan_interfaces = ["{bootimage.BOX_LAN_IF}"]\n'
        f'vpc_cidrs = ["{VPC_CIDR}"]\n'
        f'persistence = "{persistence}"\n'
        f'backend = "{persona.backend}"\n'
    )
    if bgp:
        text += (f'advertise = ["{LAN_CIDR}"]\n\n'
                 f'[connection]\nrouting = "dynamic"\nbgp_asn = {CUSTOMER_ASN}\n')
    return text


def host_plan(tunnels: list[PeerTunnel], answers_text: str) -> Plan:
    """The plan the box will build from the same inputs, built here for the expectations."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp)
        (local / "aws.txt").write_text(lab_aws_file(tunnels))
        (local / "answers.toml").write_text(answers_text)
        setup = load(local / "aws.txt", local / "answers.toml", Root(local / "empty")).setup
    return build_plan(setup, heartbeat_command=COMMAND)


def artefact() -> Path:
    """dist/vpn-wizard.pyz, built now if it is missing or older than the sources."""
    stale = not ARTEFACT.exists() or any(
        p.is_file() and p.stat().st_mtime > ARTEFACT.stat().st_mtime
        for p in [REPO / "pyproject.toml", *REPO.glob("wizard/**/*.py"),
                  *REPO.glob("screens/**/*")]
    )
    if stale:
        subprocess.run(["bash", str(REPO / "tools/build-zipapp.sh")], check=True,
                       capture_output=True, timeout=600)
    return ARTEFACT


def wait_booted(box: Lab) -> str:
    """Wait for systemd to finish booting; returns its verdict and any failed unit."""
    out = box.run("systemctl is-system-running --wait; systemctl --failed --no-legend --plain",
                  timeout=180).out
    return out.strip()


def snapshot(box: Lab, plan: Plan) -> str:
    """What must be as it was after uninstall: the plan's files, units, links, rules, sysctls."""
    files = sorted({*plan.final_files(), "/etc/network/interfaces", "/etc/rc.local",
                    "/etc/sysctl.conf", "/etc/ipsec.conf", "/etc/ipsec.secrets"})
    sysctls = sorted({op.key for step in plan for op in step.commands
                      if isinstance(op, SetSysctl)})
    quoted = " ".join(shlex.quote(f) for f in files)
    keys = " ".join(shlex.quote(k) for k in sysctls)
    script = f"""
for f in {quoted}; do
  if [ -e "$f" ]; then echo "$f $(stat -c '%a %U' "$f") $(sha256sum < "$f" | cut -c1-64)";
  else echo "$f absent"; fi
done
for k in {keys}; do
  p=/proc/sys/$(echo "$k" | tr . /)
  if [ -e "$p" ]; then echo "$k = $(cat "$p")"; else echo "$k absent"; fi
done
echo "units:"; ls /etc/systemd/system | grep -i vpn-wizard || true
echo "links:"; ip -o link show | awk -F': ' '{{print $2}}' | sed 's/@.*//' | sort
echo "mangle:"; iptables-save -t mangle | grep '^-A' || true
echo "xfrm:"; ip xfrm state | grep -c '^src' || true
"""
    return box.run(script, check=True, timeout=60).out


def install_and_stage(lab: BootLab, persistence: str, mode: str = "manual",
                      bgp: bool = False) -> None:
    """As README "Install on a box": copy the file over, `sudo install` it; the inputs beside it."""
    box = lab.box
    assert box is not None
    lab.offer("vpn-wizard.pyz", artefact(), 0o644)
    lab.offer("vpn-lab.txt", lab_aws_file(lab.tunnels).encode())
    lab.offer("answers.toml", answers(lab.persona, persistence, mode, bgp).encode())
    lab.mount_xfer()
    box.run(
        f"set -e\nsudo install -m 755 /mnt/xfer/vpn-wizard.pyz {COMMAND}\n"
        f"install -m 600 /mnt/xfer/vpn-lab.txt {AWS_FILE}\n"
        f"install -m 600 /mnt/xfer/answers.toml {ANSWERS}\n"
        "umount /mnt/xfer\n", check=True)


def check_tunnels_back(lab: BootLab, plan: Plan, timing: Timing, label: str,
                       bgp: bool = False) -> None:
    """After a boot with nobody at the box: everything the document's step #5 promises.

    With `bgp`, the VPC's route is FRR's, learned again over the tunnels: both
    sessions Established at AWS's side, and the box's route says `proto bgp`.
    """
    box = lab.box
    assert box is not None
    up, status, when = lab.wait_children(timeout=180)
    assert up, f"{label}: the CHILD_SAs did not come back at the responder:\n{status}\n" + \
        box.run("journalctl -b --no-pager | tail -n 80").out + lab.diagnose()
    timing(f"{label}: boot -> both CHILD_SAs up", when - lab.boot_started)
    wait_booted(box)
    for t in lab.tunnels:
        link = box.run(f"ip -d -o link show {t.name}; ip -o -4 addr show dev {t.name}",
                       check=True).out
        assert "mtu 1419" in link, link
        assert f"key {t.mark}" in link or f"0.0.0.{t.mark}" in link or "ikey" in link, link
        # The runtime step and ifupdown/networkd give the document's peer address;
        # netplan cannot, and gives the /30 (docs/deviations.md#netplan-no-peer).
        assert (f"inet {t.customer_inside_ip} peer {t.aws_inside_cidr}" in link
                or f"inet {t.customer_inside_cidr} " in link), link
        if not bgp:
            routes = box.run(f"ip -4 route show {VPC_CIDR}", check=True).out
            assert f"dev {t.name}" in routes and f"metric {t.mark}" in routes, routes
    if bgp:
        check_bgp(lab, timing, label)
    # Mangle rules: every rule of the plan present, none twice.
    rules = [op for step in plan for op in step.commands if isinstance(op, AddIptablesRule)]
    save = box.run("iptables-save -t mangle | grep '^-A'", check=True).out.split("\n")
    added = [line for line in save if line.strip()]
    # Per tunnel the document's two: MSS clamping on the VTI, the mark on its ESP.
    # (Manual mode adds them from the plan; updown mode's script adds them.)
    assert len(added) == len(set(added)) == 2 * len(lab.tunnels), "\n".join(added)
    for t in lab.tunnels:
        assert sum(f"-o {t.name} " in a and "TCPMSS" in a for a in added) == 1, added
        assert sum(f"--set-xmark {t.mark:#x}/" in a for a in added) == 1, added
    for op in rules:
        box.run(shlex.join(op.check_argv()), check=True)
    # Sysctls in force, rp_filter as the kernel applies it: max(all, interface).
    for step in plan:
        for op in step.commands:
            if not isinstance(op, SetSysctl):
                continue
            path = "/proc/sys/" + op.key.replace(".", "/")
            value = box.run(["cat", path], check=True).out.strip()
            assert value == op.value, f"{op.key} = {value}, the plan says {op.value}"
            if op.key.endswith(".rp_filter"):
                every = box.run(["cat", "/proc/sys/net/ipv4/conf/all/rp_filter"],
                                check=True).out.strip()
                assert max(int(every), int(value)) == int(op.value), (op.key, every, value)
    heartbeat = box.wait_until(
        "systemctl is-active vpn-wizard-heartbeat.service && python3 -c "
        "\"import os,sys,time; a=time.time()-os.path.getmtime('/run/vpn-wizard/heartbeat.json');"
        " print('age', round(a, 1)); sys.exit(a > 30)\"", timeout=90)
    assert heartbeat.ok, heartbeat.out
    reached = lab.lan_reaches_vpc()
    assert reached.ok, f"{label}: the LAN host does not reach the VPC host:\n{reached.out}"


def bgp_established(lab: BootLab) -> tuple[bool, str]:
    """Both BGP sessions Established, as AWS's side (the vgw's FRR) sees them."""
    out = lab.aws.run(vtysh("show bgp neighbors json"), ns=VGW).out
    try:
        neighbors = json.loads(out or "{}")
    except json.JSONDecodeError:
        return False, out
    states = {t.customer_inside_ip: neighbors.get(t.customer_inside_ip, {}).get("bgpState")
              for t in lab.tunnels}
    return all(state == "Established" for state in states.values()), str(states)


def check_bgp(lab: BootLab, timing: Timing, label: str) -> None:
    """Both sessions Established at AWS's side; the box routes the VPC by what BGP learned."""
    box = lab.box
    assert box is not None
    started = time.monotonic()
    while True:
        up, states = bgp_established(lab)
        if up:
            break
        assert time.monotonic() - started < 120, f"{label}: BGP sessions at AWS's side: {states}"
        time.sleep(1)
    timing(f"{label}: both BGP sessions Established (after the CHILD_SAs)",
           time.monotonic() - started)
    learned = box.wait_until(f"ip -4 route show {VPC_CIDR} proto bgp | grep -q Tunnel",
                             timeout=60)
    assert learned.ok, box.run("ip -4 route; vtysh -c 'show bgp summary'").out
    enabled = box.run("systemctl is-enabled frr.service; systemctl is-active frr.service").out
    assert enabled.split() == ["enabled", "active"], enabled


GUARD_UNIT = "/etc/systemd/system/vpn-wizard-boot-guard.service"


def apply_pending(box: Lab) -> None:
    """`apply --confirm-timeout`, as an operator starts it; returns once it waits for `confirm`."""
    box.run(f"setsid sudo {COMMAND} apply --import {AWS_FILE} --answers {ANSWERS} "
            "--confirm-timeout 900 </dev/null >/root/apply.log 2>&1 &", check=True)
    waiting = box.wait_until("grep -q 'Keep these changes' /root/apply.log", timeout=300,
                             interval=0.5)
    assert waiting.ok, box.run("cat /root/apply.log").out
    assert box.run(f"test -f {GUARD_UNIT}").ok, "no boot guard while a confirmation is pending"


def power_loss_before_confirm(lab: BootLab, plan: Plan, before: str, timing: Timing,
                              label: str) -> Lab:
    """Apply, see the tunnels up, lose power before confirming: the next boot rolls it back.

    Before the network and strongSwan start, so the tunnels never come up, and
    the box is exactly as before the apply.
    """
    box = lab.box
    assert box is not None
    apply_pending(box)
    up, status, _ = lab.wait_children(timeout=120)
    assert up, f"{label}: the pending apply did not bring the tunnels up:\n{status}\n{lab.diagnose()}"
    lab.power_loss()
    box = lab.boot()
    verdict = wait_booted(box)
    timing(f"{label}: power loss, boot -> systemd done", time.monotonic() - lab.boot_started)
    guard = box.run("journalctl -b -o cat -u vpn-wizard-boot-guard.service", check=True).out
    assert "rolled back before the network and strongSwan started" in guard, guard
    assert verdict.startswith("running"), verdict
    # The guard finished before any unit that reads the restored files started.
    show = box.run(
        "systemctl show -p ExecMainExitTimestampMonotonic --value vpn-wizard-boot-guard.service;"
        f"for u in networking.service systemd-networkd.service {lab.persona.daemon_unit}; do "
        "systemctl show -p ExecMainStartTimestampMonotonic --value $u; done", check=True).out
    guard_done, *started = (int(x) for x in show.split())
    assert guard_done > 0 and all(t == 0 or t > guard_done for t in started), show
    after = snapshot(box, plan)
    assert after == before, f"{label}: not as before the apply:\n--- before\n{before}\n--- after\n{after}"
    assert not box.run(f"test -e {GUARD_UNIT}").ok, "the guard did not remove itself"
    return box


PTY_DRIVER = Path(__file__).resolve().with_name("pty_driver.py")
GO_AHEAD = "/run/lab-plain-go-ahead"
"""Created by the test once it has judged the tunnels: the driver then types 'yes'."""


def apply_plain(lab: BootLab, persistence: str, timing: Timing, label: str) -> None:
    """`sudo vpn-wizard --plain` on a terminal at the box, answered by pty_driver.py.

    Judged as every apply is: both CHILD_SAs up at the responder and the LAN
    host reaching the VPC host, before 'yes' is typed at the wizard's
    "Keep these changes?"; then the wizard says the changes are kept
    ("Confirmed: the changes are kept.").
    """
    box = lab.box
    assert box is not None
    lab.offer("pty_driver.py", PTY_DRIVER, 0o644)
    lab.offer("plain.json", json.dumps(plain_spec(lab.persona, persistence, aws_file=AWS_FILE,
                                                    vpc_cidr=VPC_CIDR, go_ahead=GO_AHEAD)).encode())
    lab.mount_xfer()
    box.run("set -e\ninstall -m 644 /mnt/xfer/pty_driver.py /mnt/xfer/plain.json /root/\n"
            f"rm -f {GO_AHEAD}\numount /mnt/xfer\n", check=True)
    started = time.monotonic()
    box.run("setsid python3 /root/pty_driver.py /root/plain.json /root/plain.screen -- "
            "sudo vpn-wizard --plain </dev/null >/root/plain-driver.log 2>&1 &", check=True)
    asked = box.wait_until("grep -q 'Keep these changes' /root/plain.screen", timeout=420,
                           interval=0.5)
    assert asked.ok, box.run("tail -n 60 /root/plain.screen; cat /root/plain-driver.log").out
    up, status, when = lab.wait_children(timeout=120)
    assert up, f"{label}: after the plain prompts' apply, at the responder:\n{status}\n{lab.diagnose()}"
    timing(f"{label}: plain prompts -> both CHILD_SAs up", when - started)
    reached = lab.lan_reaches_vpc()
    assert reached.ok, reached.out
    box.run(f"touch {GO_AHEAD}", check=True)
    done = box.wait_until("grep -q '^\\[exit ' /root/plain.screen", timeout=120, interval=0.5)
    screen = box.run("cat /root/plain.screen; cat /root/plain-driver.log").out
    assert done.ok and "[exit 0]" in screen and "[driver stuck" not in screen, screen
    assert re.search(r"^Confirmed: the changes are kept\.$", screen, re.M), screen
    # The answers reached the plan: every file the same choices give from an
    # answers file is there, and the LAN interface's sysctl is in force.
    plan = host_plan(lab.tunnels, answers(lab.persona, persistence))
    for path in plan.final_files():
        assert box.run(["test", "-e", path]).ok, f"{label}: {path} missing after the plain prompts"
    sysctls = box.run(f"sysctl -n net.ipv4.conf.{bootimage.BOX_LAN_IF}.disable_xfrm").out
    assert sysctls.strip() == "1", sysctls


def cycle(lab: BootLab, persistence: str, timing: Timing, *, power_loss_first: bool = False,
          confirm: bool = False, mode: str = "manual", plain: bool = False,
          bgp: bool = False) -> None:
    """On a box booted clean: install, apply, power off, boot, check; uninstall, power off, boot, check.

    Ends on the box booted clean again, where the next cycle of its chain begins.
    power_loss_first: before all that, apply with a confirm timeout and pull
    the plug before confirming (power_loss_before_confirm).
    confirm: apply with a confirm timeout and `vpn-wizard confirm` it, rather
    than --no-confirm; the reboot then proves a confirmed apply is kept.
    plain: at the end, on the box as booted clean, apply once more through
    the plain prompts on a terminal (apply_plain); it leaves the box applied,
    so a cycle with it ends its chain.
    bgp: dynamic routing through the box's FRR against an FRR playing AWS on
    the AWS machine (peer.start_bgp): BGP is judged after the apply and after
    the reboot, and uninstall must leave frr.service as the package left it.
    """
    persona = lab.persona
    box = lab.box
    assert box is not None
    label = f"{persona.name} {persistence} {mode}"
    plan = host_plan(lab.tunnels, answers(persona, persistence, mode, bgp))
    started = time.monotonic()
    before = snapshot(box, plan)
    frr_before = box.run("systemctl is-enabled frr.service; systemctl is-active frr.service").out
    if bgp:
        label += " bgp"
        start_bgp(lab.aws, lab.tunnels, CUSTOMER_ASN)
    install_and_stage(lab, persistence, mode, bgp)
    if power_loss_first:
        box = power_loss_before_confirm(lab, plan, before, timing, label)
    applied_at = time.monotonic()
    if confirm:
        apply_pending(box)
        kept = box.run(f"sudo {COMMAND} confirm", timeout=120)
        assert kept.ok, kept.out
        done = box.wait_until("grep -q 'Confirmed' /root/apply.log", timeout=60)
        assert done.ok, box.run("cat /root/apply.log").out
        assert not box.run(f"test -e {GUARD_UNIT}").ok, "confirmed, yet the guard is armed"
    else:
        out = box.run(f"sudo {COMMAND} apply --import {AWS_FILE} --answers {ANSWERS} "
                      "--no-confirm", timeout=300)
        assert out.ok, out.out
    up, status, when = lab.wait_children(timeout=120)
    assert up, f"{label}: after apply, at the responder:\n{status}\n{lab.diagnose()}"
    timing(f"{label}: apply -> both CHILD_SAs up", when - applied_at)
    reached = lab.lan_reaches_vpc()
    assert reached.ok, reached.out
    if bgp:
        check_bgp(lab, timing, label)
    # The heartbeat runs the installed file by its real path.
    unit = box.read_file("/etc/systemd/system/vpn-wizard-heartbeat.service")
    assert f"ExecStart={COMMAND} heartbeat " in unit, unit
    if persona.backend == "swanctl":
        check_charon_systemd(box)

    lab.poweroff()
    box = lab.boot()
    check_tunnels_back(lab, plan, timing, f"{label}, reboot", bgp=bgp)
    if persona.backend == "swanctl":
        check_charon_systemd(box)
    if "/etc/rc.local" in persona.files:
        assert box.run("test -e /run/operator-rc-local-ran").ok, "the operator's rc.local did not run"

    out = box.run(f"sudo {COMMAND} uninstall --yes --import {AWS_FILE} --answers {ANSWERS}",
                  timeout=300)
    assert out.ok, out.out
    lab.poweroff()
    box = lab.boot()
    verdict = wait_booted(box)
    assert verdict.startswith("running"), verdict
    after = snapshot(box, plan)
    assert after == before, f"uninstall + reboot left a difference:\n--- before\n{before}\n--- after\n{after}"
    frr_after = box.run("systemctl is-enabled frr.service; systemctl is-active frr.service").out
    assert frr_after == frr_before, (frr_before, frr_after)
    if "/etc/rc.local" in persona.files:
        assert box.run("test -e /run/operator-rc-local-ran").ok
    if plain:
        apply_plain(lab, persistence, timing, label)
    timing(f"{label}: the whole cycle", time.monotonic() - started)


def chain(names: Sequence[str], tunnels: list[PeerTunnel], work: Path, timing: Timing,
          done: Callable[[str], None]) -> None:
    """Cycles that share one box and one AWS machine, one after the other, from a first boot.

    Each cycle ends on the box booted clean after its uninstall, and the next
    begins there: so a later cycle also proves that applying again after an
    uninstall works as on a new box, and the chain boots one AWS machine and
    one fresh box instead of one per cycle. `done(name)` as each cycle passes.
    """
    why = _skip_reason()
    if why:
        pytest.skip(why)
    persona = CYCLES[names[0]][0]
    assert all(CYCLES[name][0] is persona for name in names), names
    started = time.monotonic()
    with booted_lab(persona, work, tunnels) as lab:
        timing(f"{persona.name}: image ready, AWS machine up", time.monotonic() - started)
        box = lab.boot()
        verdict = wait_booted(box)
        timing(f"{persona.name}: first boot -> systemd done", time.monotonic() - lab.boot_started)
        assert verdict.startswith("running"), verdict
        for name in names:
            _, persistence, options = CYCLES[name]
            cycle(lab, persistence, timing, **options)
            done(name)


def check_charon_systemd(box: Lab) -> None:
    """The daemon is charon-systemd under strongswan.service, and status reads it over vici."""
    comm = box.run("cat /proc/$(systemctl show -p MainPID --value strongswan.service)/comm",
                   check=True).out.strip()
    assert comm == "charon-systemd", comm
    assert not box.run("command -v ipsec").ok, "Debian 13's box has no starter"
    status = box.run(f"sudo {COMMAND} status --once", timeout=120)
    assert status.ok, status.out
    assert "read via vici" in status.out, status.out
    assert "Tunnel1: UP" in status.out and "Tunnel2: UP" in status.out, status.out


CYCLES: dict[str, tuple[bootimage.Persona, str, dict[str, Any]]] = {
    "debian12-seed": (bootimage.DEBIAN12, "seed", {"power_loss_first": True}),
    "debian13-netplan": (bootimage.DEBIAN13, "netplan", {"confirm": True}),
    "debian13-networkd": (bootimage.DEBIAN13, "networkd", {"plain": True}),
    "debian13-netplan-updown": (bootimage.DEBIAN13, "netplan", {"mode": "updown",
                                                                "power_loss_first": True}),
    "debian12-seed-updown": (bootimage.DEBIAN12, "seed", {"mode": "updown"}),
    "debian12-seed-bgp": (bootimage.DEBIAN12, "seed", {"bgp": True}),
}
"""Each persona and persistence choice, from install to uninstall, with its options."""

CHAINS: tuple[tuple[str, ...], ...] = (
    ("debian12-seed", "debian12-seed-updown", "debian12-seed-bgp"),
    ("debian13-netplan", "debian13-networkd"),
    ("debian13-netplan-updown",),
)
"""Cycles that share a box, in order (chain). A cycle with the plain prompts ends its chain."""


OPT_IN: dict[str, str] = {}
"""Cycles left out of the default run, and why."""


def selected() -> list[str]:
    """The cycles to run: the default ones, or those named in VPN_WIZARD_BOOT_LAB (comma-separated)."""
    names = os.environ.get("VPN_WIZARD_BOOT_LAB", "")
    return [n for n in names.split(",") if n] or [n for n in CYCLES if n not in OPT_IN]


class Cycles:
    """The chains of this module, run side by side (each is two UML machines of its own).

    They are started together when the module's first test asks, because a
    box spends most of its boot waiting on its own (UML's process starts).
    Each test then waits for its own cycle and re-raises what it found; a
    cycle after a failed one in its chain reports that it did not run.
    """

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.results: dict[str, BaseException | None] = {}
        self.finished: dict[str, threading.Event] = {}
        self.threads: list[threading.Thread] = []
        self.late: BaseException | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix="vpn-wizard-boot-", dir="/var/tmp")
        # The artefact and the images before any box: built once, not by three threads at once.
        artefact()
        chains = [names for names in ([n for n in c if n in selected()] for c in CHAINS) if names]
        personas = {CYCLES[names[0]][0].name: CYCLES[names[0]][0] for names in chains}
        with ThreadPoolExecutor(max_workers=len(personas) or 1) as pool:
            for built in [pool.submit(bootimage.image, persona,
                                      log=Path(self.tmp.name) / f"{persona.name}-image.log")
                          for persona in personas.values()]:
                built.result()
        for names in chains:
            for name in names:
                self.finished[name] = threading.Event()
            work = Path(self.tmp.name) / names[0]
            work.mkdir()
            thread = threading.Thread(target=self._run, args=(names, work),
                                      name=f"boot-{names[0]}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, names: list[str], work: Path) -> None:
        pending = list(names)

        def passed(name: str) -> None:
            pending.remove(name)
            self.results[name] = None
            self.finished[name].set()

        try:
            chain(names, seed_tunnels(), work, self.timing, passed)
        except BaseException as err:  # re-raised in the tests' own threads
            if not pending:  # the machines' teardown, after every cycle passed
                self.late = err
                return
            failed, *later = pending
            self.results[failed] = err
            self.finished[failed].set()
            for name in later:
                self.results[name] = RuntimeError(
                    f"{name} did not run: {failed} failed before it on the same box")
                self.finished[name].set()

    def result(self, name: str) -> None:
        if name not in self.finished:
            pytest.skip(OPT_IN.get(name, f"{name} not selected by VPN_WIZARD_BOOT_LAB"))
        assert self.finished[name].wait(timeout=1500), f"{name}: still running after 25 min"
        err = self.results[name]
        if err is not None:
            raise err

    def close(self) -> None:
        for thread in self.threads:
            thread.join(timeout=1500)
        self.tmp.cleanup()
        if self.late is not None:
            raise self.late


@pytest.fixture(scope="module")
def cycles(lab_timing: Timing) -> Iterator[Cycles]:
    why = _skip_reason()
    if why:
        pytest.skip(why)
    before = hostguard.fingerprint(include_repo=False)
    runner = Cycles(lab_timing)
    yield runner
    runner.close()
    # Both machines wrote only to their own memory, the box's layer and the switch sockets.
    after = hostguard.fingerprint(include_repo=False)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"the booted lab changed the host (before, after): {changed}"
    assert hostguard.network_problems() == []


def test_debian12_seed_layout_survives_reboot_and_uninstalls_clean(cycles: Cycles) -> None:
    """Debian 12: strongswan-starter + charon, ifupdown, rc.local through systemd's generator."""
    cycles.result("debian12-seed")


@pytest.mark.parametrize("persistence", ["netplan", "networkd"])
def test_debian13_charon_systemd_survives_reboot_and_uninstalls_clean(
    persistence: str, cycles: Cycles
) -> None:
    """Debian 13: charon-systemd + swanctl (no starter), netplan with networkd, or networkd alone.

    netplan: applied with a confirm timeout and `vpn-wizard confirm`; networkd:
    after the cycle, applied once more through the plain prompts on a terminal.
    """
    cycles.result(f"debian13-{persistence}")


def test_debian12_updown_mode_survives_reboot_and_uninstalls_clean(cycles: Cycles) -> None:
    """Debian 12, updown mode: the starter's leftupdown runs the document's script."""
    cycles.result("debian12-seed-updown")


def test_debian12_bgp_through_frr_survives_reboot_and_uninstalls_clean(cycles: Cycles) -> None:
    """Debian 12 with Debian's frr: BGP sessions back after a reboot (frr.service enabled),
    the VPC's route learned again; uninstall leaves FRR's files and service as found."""
    cycles.result("debian12-seed-bgp")


def test_debian13_updown_mode_survives_reboot_and_uninstalls_clean(cycles: Cycles) -> None:
    """Debian 13, updown mode: charon's updown plugin runs the document's script from swanctl.

    First an apply with a confirm timeout and a power cut before confirming
    (rolled back at boot), then the cycle. It was opt-in until the stand-in's
    Quick Mode lost under load was understood (peer.render_strongswan_conf).
    """
    cycles.result("debian13-netplan-updown")
