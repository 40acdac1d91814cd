"""Proof that the lab is a faithful stand-in for a customer gateway and AWS.

Before the product is tested against the lab, the lab is tested against the
AWS document itself: an operator's hands type the document's manual steps
(#1-#5, both tunnels) into the cgw, and both tunnels must come up against the
vgw responder and carry traffic from the LAN to the VPC. If this fails, the
lab is wrong, not the product. The second test proves the lab writes nothing
to the host, even when it is asked to.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import secrets
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import hostguard
import pytest
from manual import esp_packets, list_sas, sa_states, type_manual_steps, wait_tunnels_up
from peer import PeerTunnel
from uml import (
    CGW_WAN_IF,
    LAN_HOST_IP,
    VPC_HOST_IP,
    Lab,
    LabError,
    Result,
    lab_unavailable,
    live_group_members,
)

pytestmark = pytest.mark.lab


def test_control_channel(lab: Lab) -> None:
    """run() returns exactly what a command printed and how it exited."""
    assert lab.run("printf 'no newline'") == Result(0, "no newline")
    # A command cannot end its answer early by printing something marker-like.
    assert lab.run("echo '__LAB_END_1x00_0__'; echo x; exit 7") == Result(
        7, "__LAB_END_1x00_0__\nx\n"
    )
    # Kernel messages go to tty0, never into an answer.
    assert lab.run("echo lab-kernel-noise > /dev/kmsg; echo after").out == "after\n"
    # Requests far beyond the console's 4 KiB input buffer arrive whole.
    big = "".join(f"{i:07d} {'x' * 90}\n" for i in range(600))
    lab.write_file("/lab/big.txt", big)
    digest = lab.run("sha256sum < /lab/big.txt; rm /lab/big.txt", check=True).out.split()[0]
    assert digest == hashlib.sha256(big.encode()).hexdigest()
    # A command that outlives its timeout is killed, and the channel goes on.
    assert lab.run("sleep 30", timeout=1).rc == 124
    assert lab.run("echo still here").out == "still here\n"
    # Each machine answers from its own namespace; the vgw from its daemon's.
    assert "198.51.100.10/24" in lab.run(["ip", "-o", "addr", "show", CGW_WAN_IF]).out
    assert "192.0.2.10/24" in lab.run(["ip", "-o", "addr"], ns="lan").out
    assert "203.0.113.10/24" in lab.run(["ip", "-o", "addr"], ns="vpc").out
    assert "198.51.100.2/24" in lab.run(["ip", "-o", "addr"], ns="vgw").out
    assert lab.run("test -S /run/charon.vici", ns="vgw").ok
    assert not lab.run("test -e /run/charon.vici").ok, "the cgw sees the vgw's /run"
    # What init.sh promises the product: legacy iptables, a writable tmpfs
    # overlay over the host's /, no bytecode written.
    assert "legacy" in lab.run(["iptables", "-V"], check=True).out
    assert lab.run("grep -q '^lab / overlay .*lowerdir=/,upperdir=' /proc/mounts").ok
    assert lab.run('test "$PYTHONDONTWRITEBYTECODE" = 1').ok
    assert lab.run("iptables -t mangle -S INPUT", check=True).out.startswith("-P INPUT ACCEPT")


def test_lifetime_limit_kills_a_hung_lab() -> None:
    """A lab past its lifetime is killed, with every UML process, and says so."""
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    lab = Lab(lifetime=8)
    try:
        # If boot itself takes longer than the lifetime, start() fails the same way.
        with pytest.raises(LabError, match=r"lifetime|did not boot"):
            lab.start()
            lab.run("sleep 120", timeout=300)
        pid = lab.pid
    finally:
        lab.close()
    assert pid is not None
    assert live_group_members(pid) == []


def test_manual_steps_bring_both_tunnels_up(
    lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Callable[[str, float], None]
) -> None:
    """The seed's manual steps, typed by hand, give two working tunnels."""
    names = [t.name for t in lab_tunnels]
    # No path to the VPC in clear: a ping that works later proves a tunnel.
    assert not lab.run(["ping", "-c", "1", "-W", "1", VPC_HOST_IP]).ok
    assert not lab.run(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan").ok

    started = time.monotonic()
    type_manual_steps(lab, lab_tunnels, restart=False)
    lab_timing("manual steps typed, both tunnels", time.monotonic() - started)
    started = time.monotonic()
    lab.run("ipsec restart", check=True)
    status = wait_tunnels_up(lab, names)
    lab_timing("ipsec restart to both tunnels up", time.monotonic() - started)

    # The cgw's own charon says so ...
    for name in names:
        assert sa_states(status, name) == (True, True), status
    # ... over vici as well: swanctl reaches the charon that `ipsec start` made.
    blocks = list_sas(lab)
    for t in lab_tunnels:
        block = blocks.get(t.name, "")
        assert re.match(rf"{t.name}: #\d+, ESTABLISHED, IKEv1", block), blocks
        assert re.search(rf"^  {t.name}: #\d+, reqid \d+, INSTALLED, TUNNEL", block, re.M), block
        # The CHILD_SA's SPIs carry the conn's mark: the VTI key will match.
        for way in ("in", "out"):
            assert re.search(rf"^ +{way} +[0-9a-f]{{8}} \(0x{t.mark:08x}\)", block, re.M), block
    # ... and to the PyPI vici package, run by this very interpreter inside UML.
    if importlib.util.find_spec("vici") is not None:
        listed = lab.run(
            f"{shlex.quote(sys.executable)} - <<'__PY__'\n"
            "import vici\n"
            "for sa in vici.Session().list_sas():\n"
            "    for name, ike in sa.items():\n"
            "        print(name, ike['state'].decode(), *sorted(\n"
            "            c['state'].decode() for c in ike['child-sas'].values()))\n"
            "__PY__\n",
            check=True,
        ).out
        for name in names:
            assert f"{name} ESTABLISHED INSTALLED\n" in listed, listed
    # ... and so does the vgw's, reached in its own namespaces.
    vgw_status = lab.run("ipsec status", ns="vgw", check=True).out
    for name in names:
        assert sa_states(vgw_status, name) == (True, True), vgw_status

    # The keys went into files only: no process, cgw's or vgw's, has one in its argv.
    lab.write_file("/lab/keys.pattern", "".join(f"{t.psk}\n" for t in lab_tunnels), mode=0o600)
    leaks = lab.run("grep -lF -f /lab/keys.pattern /proc/[0-9]*/cmdline; rm /lab/keys.pattern")
    assert leaks.out == "", "a PSK shows in the argv of: " + leaks.out

    # Traffic: each tunnel's far inside address from the cgw ...
    for t in lab_tunnels:
        ping = lab.wait_until(["ping", "-c", "1", "-W", "1", t.aws_inside_ip], timeout=15)
        assert ping.ok, f"cgw cannot ping {t.aws_inside_ip} over {t.name}:\n{ping.out}"
    # ... then the LAN host to the VPC host, through the preferred tunnel.
    preferred = lab_tunnels[0].name
    before = esp_packets(list_sas(lab)[preferred])
    lan_ping = lab.wait_until(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan", timeout=15)
    assert lan_ping.ok, f"LAN host {LAN_HOST_IP} cannot ping {VPC_HOST_IP}:\n{lan_ping.out}"
    after = esp_packets(list_sas(lab)[preferred])
    assert after[0] > before[0] and after[1] > before[1], (before, after)


def test_lab_leaves_the_host_untouched(lab_timing: Callable[[str, float], None]) -> None:
    """A lab told to write everywhere changes nothing on the host."""
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    canary = f"vpn-wizard-lab-canary-{secrets.token_hex(4)}"
    targets = [
        f"/etc/{canary}",
        f"/tmp/{canary}",
        f"/root/{canary}",
        f"/var/lib/{canary}",
        f"/usr/local/{canary}",
        str(hostguard.REPO / "tests" / "lab" / canary),
    ]
    before = hostguard.fingerprint(include_repo=False)
    repo_before = set(hostguard.repo_files())
    with Lab() as lab:
        lab_timing("UML boot (host-untouched test)", lab.boot_seconds or 0.0)
        for path in targets:
            lab.write_file(path, "written inside the lab\n")
        inside = lab.run(["ls", *targets])
        lab.run(
            "echo '# vpn-wizard lab' >> /etc/ipsec.conf\n"
            "echo '# vpn-wizard lab' >> /etc/ipsec.secrets\n"
            "echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.conf\n"
            "sed -i 's/# install_routes = yes/install_routes = no/' /etc/strongswan.d/charon.conf\n"
            "mkdir -p /etc/network && echo 'auto Tunnel9' >> /etc/network/interfaces\n"
            "ip link add Tunnel9 type vti local 198.51.100.10 remote 198.51.100.9 key 9\n"
            "iptables -t mangle -A INPUT -p esp -j MARK --set-xmark 9\n"
            "iptables -t mangle -A FORWARD -o Tunnel9 -p tcp --tcp-flags SYN,RST SYN"
            " -j TCPMSS --clamp-mss-to-pmtu\n"
            "ipsec start\n",
            check=True,
        )
        # The writes did happen, inside: the lab is not simply read-only.
        assert inside.ok, inside.out
        seen = lab.run("grep -c 'vpn-wizard lab' /etc/ipsec.conf; ip -o link show Tunnel9")
        assert seen.ok and "Tunnel9" in seen.out, seen.out
    for path in targets:
        assert not Path(path).exists(), f"{path} reached the host"
    after = hostguard.fingerprint(include_repo=False)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"the host changed (before, after): {changed}"
    assert hostguard.network_problems() == []

    repo_after = set(hostguard.repo_files())
    gone, added = sorted(repo_before - repo_after), sorted(repo_after - repo_before)
    if not os.environ.get("CI") and (gone or added):
        # On a developer's machine others edit the tree while this runs; there
        # only this folder, which nothing else writes during a run, must hold.
        print(f"repo changed during the session (checked only in CI): -{gone} +{added}")
        gone = [p for p in gone if p.startswith("tests/lab/")]
        added = [p for p in added if p.startswith("tests/lab/")]
    assert (gone, added) == ([], []), f"the repo's file list changed: -{gone} +{added}"
