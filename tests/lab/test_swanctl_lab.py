"""The swanctl backend on a real kernel, against a real strongSwan responder.

The product runs inside the lab's customer gateway exactly as an operator
runs it: `vpn-wizard apply --answers FILE --no-confirm` as root on `/`, with
the real adapters (netlink, /proc/sys, iptables, swanctl), and is held to the
checks tests/lab/test_apply_lab.py applies to the document's stroke layout,
with that module's helpers (wizard_lab.py, labstate.py, fault_driver.py):

* both tunnels come up from the swanctl files (IKE SAs established,
  CHILD_SAs installed with the VTI marks, the lifetimes stroke would have
  used), the cgw reaches both AWS inside addresses and a LAN host reaches the
  VPC host through the preferred tunnel; charon's table-220 rule is gone
  (routing_table = 0); the document's own files are untouched;
* a second apply changes nothing and does not restart the daemon (the IKE
  SAs keep their unique ids); uninstall gives back the box as it was;
* the same in updown mode, where charon's updown plugin runs the document's
  script from a swanctl child;
* a failure injected at every action, and kill -9 after every action
  followed by `vpn-wizard rollback`, each leave the box exactly as before
  (files and every name under /etc, links, addresses, routes, rules, xfrm
  state and policies, sysctls, daemons);
* IKEv2 with aes256-sha256-modp2048 (PFS included) comes up against a
  responder that offers only that (strict `!` proposals).

The daemon: the lab has no systemd, so charon is started the way Debian's
strongswan-starter package does it (`ipsec start`); that charon serves vici
too, and the adapter restarts it with `ipsec restart` where a box with
charon-systemd gets `systemctl restart strongswan`. The swanctl files, their
loading and unloading and the rollback are the same either way.

The persistence files (netplan, networkd, sysctl.d, the iptables unit) are
written and rolled back like any file; they act only at boot, which the lab
does not do (see docs/targets.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import wizard_lab as wl
from peer import PeerTunnel, seed_tunnels
from uml import CGW_LAN_IF, CGW_WAN_IF, VPC_CIDR, VPC_HOST_IP, Lab, Result, lab_unavailable

from wizard.apply import fault_points
from wizard.model import Choices, Connection, Crypto, Setup, Tunnel
from wizard.operations import SetSysctl
from wizard.plan import build_plan
from wizard.secret import Secret

pytestmark = pytest.mark.lab

ANSWERS = wl.ANSWERS

HOST_PATHS = ("/etc/swanctl", "/etc/netplan", "/etc/sysctl.d", "/etc/systemd/system",
              "/etc/systemd/network", "/var/lib/vpn-wizard")
"""Host directories this module's plans write to inside the lab (hostguard watches the rest)."""

EXTRA_STATE = """\
echo "== rules"; ip rule
echo "== vici"
echo "conns: $(swanctl --list-conns 2>/dev/null | grep -E '^[^ ]+: IKE' | cut -d: -f1 | sort)"
echo "sas: $(swanctl --list-sas 2>/dev/null | grep -cE '^[^ ]+: #')"
"""
"""What labstate.py does not look at: policy rules (table 220) and what charon has loaded."""

SWANCTL = {"backend": "swanctl", "persistence": "netplan"}
UPDOWN = {"backend": "swanctl", "persistence": "netplan", "mode": "updown"}
IKEV2 = {"backend": "swanctl", "persistence": "networkd"}


# --------------------------------------------------------------------------- helpers


def _answers(tunnels: list[PeerTunnel], crypto: Crypto | None = None, **choices: str) -> str:
    """An answers file for the lab's tunnels (the responder's keys, never the seed's)."""
    chosen = {"mode": "manual", "backend": "swanctl", "persistence": "netplan", **choices}
    lines = ["[choices]"] + [f'{k} = "{v}"' for k, v in chosen.items()] + [
        f'physical_interface = "{CGW_WAN_IF}"',
        f'lan_interfaces = ["{CGW_LAN_IF}"]',
        f'vpc_cidrs = ["{VPC_CIDR}"]',
        "",
    ]
    for t in tunnels:
        lines += [
            "[[tunnels]]",
            f'name = "{t.name}"',
            f"mark = {t.mark}",
            f'customer_outside_ip = "{t.customer_outside_ip}"',
            f'aws_outside_ip = "{t.aws_outside_ip}"',
            f'customer_inside_cidr = "{t.customer_inside_cidr}"',
            f'aws_inside_cidr = "{t.aws_inside_cidr}"',
            f'psk = "{t.psk}"',
        ]
        if crypto is not None:
            lines += [f"ike_version = {crypto.ike_version}", f'ike = "{crypto.ike}"',
                      f'esp = "{crypto.esp}"']
        lines.append("")
    return "\n".join(lines)


def _setup(tunnels: list[PeerTunnel], **choices: str) -> Setup:
    """The same setup as `_answers`, built host-side to count the plan's fault points."""
    chosen = {"mode": "manual", "backend": "swanctl", "persistence": "netplan", **choices}
    return Setup(
        Connection(tuple(
            Tunnel(t.name, IPv4Address(t.customer_outside_ip), IPv4Address(t.aws_outside_ip),
                   IPv4Interface(t.customer_inside_cidr), IPv4Interface(t.aws_inside_cidr),
                   Secret(t.psk), t.mark)
            for t in tunnels
        )),
        replace(Choices(physical_interface=CGW_WAN_IF, lan_interfaces=(CGW_LAN_IF,),
                        vpc_cidrs=(IPv4Network(VPC_CIDR),)), **chosen),  # type: ignore[arg-type]
    )


def wizard(lab: Lab, *args: str, timeout: float = 180) -> Result:
    """`vpn-wizard ARGS` inside the cgw, as root on /, as the operator types it."""
    return lab.run(wl.wizard(*args), timeout=timeout)


def start_daemon(lab: Lab) -> None:
    """charon on the cgw, serving vici, with no connection loaded: a box before the wizard."""
    lab.run("ipsec start", check=True)
    lab.wait_until("swanctl --stats >/dev/null 2>&1", timeout=30).check("charon answering on vici")


def install_scope(lab: Lab, tunnels: Sequence[PeerTunnel], *targets: dict[str, str]) -> None:
    """labstate.py's scope: what these plans write, and what the document's plans write.

    The document's own files (ipsec.conf, ipsec.secrets, interfaces, rc.local...)
    are in scope too, so a swanctl run that touched one of them would show.
    """
    base = wl.footprint(tunnels)
    files, sysctls = set(base.files), set(base.sysctls)
    for target in targets:
        plan = build_plan(_setup(tunnels, **target))
        files |= set(plan.final_files())
        sysctls |= {op.key for step in plan for op in step.commands if isinstance(op, SetSysctl)}
    dirs = {str(parent) for f in files for parent in PurePosixPath(f).parents} - {"/"}
    scope = wl.Footprint(tuple(sorted(files)), tuple(sorted(dirs)), tuple(sorted(sysctls)))
    lab.write_file(wl.SCOPE_FILE, json.dumps(dataclasses.asdict(scope)), mode=0o600)


def snapshot(lab: Lab) -> str:
    """labstate.py's full snapshot (files, /etc, rules, links, routes, xfrm, sysctls, daemons)
    plus the policy rules and what charon has loaded."""
    return wl.snapshot(lab) + lab.run(EXTRA_STATE, check=True).out


def sa_blocks(lab: Lab) -> dict[str, str]:
    """`swanctl --list-sas`, one text block per IKE SA, by connection name."""
    out = lab.run("swanctl --list-sas 2>/dev/null").out.strip()
    return {b.split(":", 1)[0]: b for b in re.split(r"\n(?=\S)", out) if b}


def wait_up(lab: Lab, names: list[str], timeout: float = 60) -> tuple[float, dict[str, str]]:
    """Poll until every tunnel has an ESTABLISHED IKE SA and an INSTALLED CHILD_SA."""
    started = time.monotonic()
    blocks: dict[str, str] = {}
    while time.monotonic() - started < timeout:
        blocks = sa_blocks(lab)
        if all(re.search(r"ESTABLISHED", blocks.get(n, "")) and
               re.search(r"INSTALLED, TUNNEL", blocks.get(n, "")) for n in names):
            break
        time.sleep(0.2)
    return time.monotonic() - started, blocks


def esp_packets(block: str) -> tuple[int, int]:
    found = dict(re.findall(r"^ +(in|out) +[0-9a-f]{8} .*?(\d+) packets", block, re.M))
    return int(found.get("in", -1)), int(found.get("out", -1))


def _host_state() -> dict[str, str]:
    state: dict[str, str] = {}
    for top in HOST_PATHS:
        for dirpath, _, filenames in os.walk(top):
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    state[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                except OSError as err:
                    state[path] = f"unreadable: {err.strerror}"
        state.setdefault(top, "present" if os.path.isdir(top) else "absent")
    return state


@pytest.fixture(scope="module", autouse=True)
def host_untouched() -> Iterator[None]:
    """The directories only this module writes (inside UML) are the same on the host after."""
    before = _host_state()
    yield
    assert _host_state() == before, "a swanctl lab test changed the host"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("target", [pytest.param(SWANCTL, id="manual-netplan"),
                                    pytest.param(UPDOWN, id="updown-netplan")])
def test_both_tunnels_come_up_and_a_reapply_changes_nothing(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Callable[[str, float], None],
    target: dict[str, str],
) -> None:
    lab = fresh_lab
    names = [t.name for t in lab_tunnels]
    start_daemon(lab)
    assert "lookup 220" in lab.run("ip rule").out  # charon's stock settings, before the wizard
    install_scope(lab, lab_tunnels, target)
    baseline = snapshot(lab)
    lab.write_file(ANSWERS, _answers(lab_tunnels, **target), mode=0o600)
    label = "/".join(target.values())
    updown = target.get("mode") == "updown"

    started = time.monotonic()
    applied = wizard(lab, "apply", "--answers", ANSWERS, "--no-confirm")
    lab_timing(f"{label} apply (both tunnels)", time.monotonic() - started)
    assert applied.ok, applied.out
    waited, blocks = wait_up(lab, names)
    lab_timing(f"{label} swanctl load to both tunnels up", waited)

    for t in lab_tunnels:
        block = blocks.get(t.name, "")
        assert re.match(rf"{t.name}: #\d+, ESTABLISHED, IKEv1", block), blocks
        assert re.search(rf"^  {t.name}: #\d+, reqid \d+, INSTALLED, TUNNEL", block, re.M), block
        for way in ("in", "out"):
            assert re.search(rf"^ +{way} +[0-9a-f]{{8}} \(0x{t.mark:08x}\)", block, re.M), block
        # The lifetimes stroke would have used: reauth 28260 s, child rekey 3060 s, less jitter.
        reauth = int(re.search(r"reauth in (\d+)s", block).group(1))  # type: ignore[union-attr]
        rekey = int(re.search(r"rekeying in (\d+)s", block).group(1))  # type: ignore[union-attr]
        assert 28260 - 540 - 60 <= reauth <= 28260 and 3060 - 540 - 60 <= rekey <= 3060, block
    # install_routes = no and routing_table = 0: no table-220 rule, no table 220.
    assert "lookup 220" not in lab.run("ip rule").out
    # The files, with their modes; the document's files untouched.
    expected_modes = ["/etc/swanctl/conf.d/vpn-wizard.conf 644",
                      "/etc/swanctl/conf.d/vpn-wizard-secrets.conf 600",
                      "/etc/netplan/60-vpn-wizard.yaml 600",
                      "/etc/sysctl.d/60-vpn-wizard.conf 644"]
    if updown:  # the script makes the tunnels; only the sysctls are persisted
        expected_modes[2] = "/etc/ipsec.d/aws-updown.sh 744"
        assert "updown = " in lab.read_file("/etc/swanctl/conf.d/vpn-wizard.conf")
        assert not lab.run(["test", "-e", "/etc/netplan/60-vpn-wizard.yaml"]).ok
        # The VTIs exist because the updown plugin ran the script with PLUTO_VERB=up-client.
        links = lab.run("ip -d -o link show type vti", check=True).out
        for t in lab_tunnels:
            assert re.search(rf"{t.name}@\S+: .* ikey 0\.0\.0\.{t.mark} ", links), links
    paths = " ".join(m.split()[0] for m in expected_modes)
    modes = lab.run(f"stat -c '%n %a' {paths}", check=True).out.split("\n")
    assert [m for m in modes if m] == expected_modes
    untouched = [line for line in baseline.splitlines()
                 if line.startswith(("/etc/ipsec.conf ", "/etc/ipsec.secrets ",
                                     "/etc/network/interfaces ", "/etc/rc.local ",
                                     "/etc/sysctl.conf "))]
    assert len(untouched) >= 5 and set(untouched) <= set(snapshot(lab).splitlines())

    # Traffic over each tunnel, then from the LAN to the VPC through the preferred one.
    for t in lab_tunnels:
        ping = lab.wait_until(["ping", "-c", "1", "-W", "1", t.aws_inside_ip], timeout=15)
        assert ping.ok, f"cgw cannot ping {t.aws_inside_ip} over {t.name}:\n{ping.out}"
    before = esp_packets(sa_blocks(lab)[names[0]])
    lan_ping = lab.wait_until(["ping", "-c", "1", "-W", "1", VPC_HOST_IP], ns="lan", timeout=15)
    assert lan_ping.ok, lan_ping.out
    after = esp_packets(sa_blocks(lab)[names[0]])
    assert after[0] > before[0] and after[1] > before[1], (before, after)

    # No key in any process's argv, the wizard's included.
    lab.write_file("/lab/keys.pattern", "".join(f"{t.psk}\n" for t in lab_tunnels), mode=0o600)
    leaks = lab.run("grep -lF -f /lab/keys.pattern /proc/[0-9]*/cmdline; rm /lab/keys.pattern")
    assert leaks.out == "", leaks.out
    assert not any(t.psk in applied.out for t in lab_tunnels)

    # A second apply: nothing to do, and the daemon was not restarted (same IKE SAs).
    state = snapshot(lab)
    ids = {n: re.match(r"\S+: (#\d+)", blocks[n]).group(1) for n in names}  # type: ignore[union-attr]
    again = wizard(lab, "apply", "--answers", ANSWERS, "--no-confirm")
    assert again.ok and "Everything was already in place" in again.out, again.out
    assert snapshot(lab) == state, wl.diff(state, snapshot(lab))
    now = sa_blocks(lab)
    assert {n: re.match(r"\S+: (#\d+)", now[n]).group(1) for n in names} == ids  # type: ignore[union-attr]

    # Uninstall: the box as it was before the first apply.
    removed = wizard(lab, "uninstall", "--yes", "--answers", ANSWERS)
    assert removed.ok, removed.out
    after_uninstall = snapshot(lab)
    assert after_uninstall == baseline, wl.diff(baseline, after_uninstall)


SWEEP_PARTS = 2
"""The sweep is split over labs running side by side (one UML process each; 2 cores)."""


def _sweep_part(lab: Lab, tunnels: list[PeerTunnel], part: int,
                timing: Callable[[str, float], None]) -> None:
    """One lab's share of the sweep (every SWEEP_PARTS-th action), then a clean apply."""
    start_daemon(lab)
    install_scope(lab, tunnels, SWANCTL)
    lab.write_file(ANSWERS, _answers(tunnels, **SWANCTL), mode=0o600)
    points = fault_points(build_plan(_setup(tunnels, **SWANCTL)))
    mine = [i for i, _, _ in points if i % SWEEP_PARTS == part]
    load = next(i for i, step, _ in points if step == "swanctl.load")
    real = [load] if load in mine else []
    listed = ",".join(map(str, mine))
    cmd = [wl.PYTHON, wl.DRIVER, wl.SCOPE_FILE, "--fail", listed, "--kill", listed,
           "--real", ",".join(map(str, real)), "--binary", wl.VPN_WIZARD, "--",
           "--answers", ANSWERS, "--no-confirm"]
    started = time.monotonic()
    out = lab.run(shlex.join(cmd), timeout=800).out
    timing(f"swanctl sweep part {part}: {len(mine)} points x (fail, kill -9 + rollback)",
           time.monotonic() - started)
    try:
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise AssertionError(f"fault driver said:\n{out[-3000:]}") from None
    assert report["failures"] == [], "\n".join(report["failures"])
    assert report["fail"] == report["kill"] == mine and len(points) > 30
    # The box still takes the plan afterwards, and the tunnels come up.
    applied = wizard(lab, "apply", "--answers", ANSWERS, "--no-confirm")
    assert applied.ok, applied.out
    _, blocks = wait_up(lab, [t.name for t in tunnels])
    assert all("INSTALLED" in blocks.get(t.name, "") for t in tunnels), blocks


def test_rollback_is_exact_at_every_fault_point(
    lab_factory: Any, lab_tunnels: list[PeerTunnel], lab_timing: Callable[[str, float], None],
) -> None:
    """The apply engine's own sweep (tests/lab/fault_driver.py) over the swanctl plan.

    For every action, the driver runs `vpn-wizard apply` with a failure
    injected at it, then again killed with SIGKILL right after it followed by
    `vpn-wizard rollback`; after each run the box must be exactly as before
    (labstate.py, every name under /etc at the first and last). The
    swanctl.load action runs with the real binary. The actions are shared
    out over SWEEP_PARTS labs that run at the same time.
    """
    why = lab_unavailable()
    if why:  # decided here: a skip raised inside a worker thread would end only that thread
        pytest.skip(why)
    failures: dict[int, BaseException] = {}

    def work(part: int) -> None:
        try:
            with lab_factory(lab_tunnels, lab_timing) as lab:
                _sweep_part(lab, lab_tunnels, part, lab_timing)
        except BaseException as exc:
            failures[part] = exc

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(part,), name=f"swanctl-sweep-{part}")
               for part in range(SWEEP_PARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lab_timing(f"swanctl sweep: {SWEEP_PARTS} labs side by side, wall",
               time.monotonic() - started)
    for part, exc in sorted(failures.items()):
        raise AssertionError(f"sweep part {part} failed: {exc!r}") from exc


STRICT = Crypto(ike_version=2, ike="aes256-sha256-modp2048", esp="aes256-sha256-modp2048")


@pytest.mark.parametrize("lab_tunnels", [[
    replace(t, ike_version=2, ike="aes256-sha256-modp2048!", esp="aes256-sha256-modp2048!")
    for t in seed_tunnels()
]])
def test_ikev2_aes256_sha256_modp2048_against_a_strict_responder(
    fresh_lab: Lab, lab_tunnels: list[PeerTunnel], lab_timing: Callable[[str, float], None]
) -> None:
    lab = fresh_lab
    start_daemon(lab)
    # The responder offers nothing else (strict proposals), and only IKEv2.
    conf = lab.read_file("/lab/vgw/ipsec.conf")
    assert conf.count("\tike=aes256-sha256-modp2048!\n") == 2, conf
    assert conf.count("\tesp=aes256-sha256-modp2048!\n") == 2, conf
    assert conf.count("\tkeyexchange=ikev2\n") == 2, conf
    lab.write_file(ANSWERS, _answers(lab_tunnels, crypto=STRICT, **IKEV2), mode=0o600)
    applied = wizard(lab, "apply", "--answers", ANSWERS, "--no-confirm")
    assert applied.ok, applied.out
    waited, blocks = wait_up(lab, [t.name for t in lab_tunnels])
    lab_timing("IKEv2 swanctl load to both tunnels up", waited)
    for t in lab_tunnels:
        block = blocks.get(t.name, "")
        assert re.match(rf"{t.name}: #\d+, ESTABLISHED, IKEv2", block), blocks
        assert "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" in block, block
        # IKEv2's first CHILD_SA comes with IKE_AUTH and has no DH of its own ...
        assert re.search(r"INSTALLED, TUNNEL, ESP:AES_CBC-256/HMAC_SHA2_256_128\n", block), block
        ping = lab.wait_until(["ping", "-c", "1", "-W", "1", t.aws_inside_ip], timeout=15)
        assert ping.ok, ping.out
    # ... a rekey does the phase 2 DH (PFS) the proposal asks for, and the responder agrees.
    for t in lab_tunnels:
        lab.run(["swanctl", "--rekey", "--child", t.name], check=True)
    rekeyed = lab.wait_until(
        "test $(swanctl --list-sas 2>/dev/null | "
        "grep -c 'INSTALLED, TUNNEL, ESP:AES_CBC-256/HMAC_SHA2_256_128/MODP_2048') -ge 2",
        timeout=30,
    )
    assert rekeyed.ok, lab.run("swanctl --list-sas").out
    files = lab.run("ls /etc/systemd/network", check=True).out.split()
    assert files == ["60-vpn-wizard-Tunnel1.netdev", "60-vpn-wizard-Tunnel1.network",
                     "60-vpn-wizard-Tunnel2.netdev", "60-vpn-wizard-Tunnel2.network"]
