"""Status readers on recorded output, the snapshot assembly, the diagnosis and `status --once`."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import threading
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from status_fixtures import (
    DATA,
    LAB_PSKS,
    MANGLE,
    ROUTES,
    TAKEN_AT,
    FakeViciSession,
    RecordedSource,
    heartbeat,
    lab_expected,
    lab_setup,
    links_up,
    not_running_snapshot,
    nothing_applied_snapshot,
    snapshot_from_statusall,
    snapshot_from_vici,
    vici_record,
)

from wizard.commands.status import (
    EXIT_DOWN,
    EXIT_INVALID,
    EXIT_NOTHING,
    EXIT_UP,
    expected_for,
    format_text,
    run_status,
)
from wizard.manifest import MANIFEST_PATH, AppliedManifest, manifest_text
from wizard.model import Setup
from wizard.plan import build_plan
from wizard.status.assembly import best_ike, build_snapshot
from wizard.status.diagnosis import DRY_RUN_FINDING, diagnose, human_duration
from wizard.status.document import snapshot_json
from wizard.status.live import LiveStatus, open_status
from wizard.status.model import Expected, ExpectedTunnel, IkeSa, Target
from wizard.system import System, iptables_status, netlink_status, statusall, vici_source
from wizard.system.paths import Root
from wizard.system.simulated import SimStatusReaders

# --------------------------------------------------------------------------- statusall


def test_statusall_both_established_and_installed() -> None:
    parsed = statusall.parse_statusall((DATA / "statusall_both_up.txt").read_text())
    assert parsed.running
    assert parsed.version == "5.9.8"
    assert parsed.conns == ("Tunnel1", "Tunnel2")
    by_name = {sa.name: sa for sa in parsed.sas}
    t1 = by_name["Tunnel1"]
    assert t1.state == "ESTABLISHED"
    assert t1.version == 1
    assert t1.established_s == 7
    assert t1.rekey_in_s == 7 * 3600  # "reauthentication in 7 hours"
    assert t1.remote_host == "198.51.100.1"
    assert t1.algorithms == "AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"
    child = t1.installed_child
    assert child is not None and child.name == "Tunnel1"
    assert child.algorithms == "AES_CBC_128/HMAC_SHA1_96/MODP_1024"
    assert (child.bytes_in, child.bytes_out) == (252, 252)
    # strongSwan prints packets only for a direction it has a use time for.
    assert (child.packets_in, child.packets_out) == (None, 3)
    assert child.rekey_in_s == 47 * 60


def test_statusall_connecting_has_no_child() -> None:
    parsed = statusall.parse_statusall(
        (DATA / "statusall_tunnel1_connecting.txt").read_text()
    )
    by_name = {sa.name: sa for sa in parsed.sas}
    assert by_name["Tunnel1"].state == "CONNECTING"
    assert by_name["Tunnel1"].children == ()
    assert by_name["Tunnel1"].established_s is None
    assert by_name["Tunnel2"].state == "ESTABLISHED"
    assert by_name["Tunnel2"].installed_child is not None


def test_statusall_established_without_child_sa() -> None:
    parsed = statusall.parse_statusall((DATA / "statusall_tunnel2_no_child.txt").read_text())
    by_name = {sa.name: sa for sa in parsed.sas}
    assert by_name["Tunnel2"].state == "ESTABLISHED"
    assert by_name["Tunnel2"].children == ()
    t1 = by_name["Tunnel1"].installed_child
    assert t1 is not None and (t1.bytes_in, t1.bytes_out, t1.packets_out) == (5392, 5392, 8)


def test_statusall_ikev2_rekeying_and_packets_both_ways() -> None:
    text = """\
Status of IKE charon daemon (strongSwan 5.9.13, Linux 6.8.0, x86_64):
Connections:
     Tunnel1:  %any...198.51.100.1  IKEv2, dpddelay=10s
Security Associations (1 up, 0 connecting):
     Tunnel1[4]: ESTABLISHED 3 hours ago, 198.51.100.10[198.51.100.10]...198.51.100.1[198.51.100.1]
     Tunnel1[4]: IKEv2 SPIs: 0123456789abcdef_i* fedcba9876543210_r, rekeying in 4 hours
     Tunnel1[4]: IKE proposal: AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
     Tunnel1{9}:  INSTALLED, TUNNEL, reqid 1, ESP SPIs: c0000001_i c0000002_o
     Tunnel1{9}:  AES_CBC_256/HMAC_SHA2_256_128, 1 bytes_i (1 pkt, 2s ago), \
84 bytes_o (1 pkt, 1s ago), rekeying in 40 minutes
     Tunnel1{9}:   0.0.0.0/0 === 0.0.0.0/0
"""
    parsed = statusall.parse_statusall(text)
    (sa,) = parsed.sas
    assert (sa.version, sa.established_s, sa.rekey_in_s) == (2, 3 * 3600, 4 * 3600)
    child = sa.installed_child
    assert child is not None
    assert (child.packets_in, child.packets_out, child.bytes_out) == (1, 1, 84)


def test_statusall_not_running() -> None:
    assert not statusall.parse_statusall("").running

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        assert argv == ["ipsec", "statusall"]
        return subprocess.CompletedProcess(argv, 3, "", "")

    assert statusall.read_statusall(run) == statusall.Statusall(running=False)


# --------------------------------------------------------------------------- vici


def test_vici_reading_from_fake_session() -> None:
    session = FakeViciSession(vici_record("both_up"))
    reading = vici_source.read("/nonexistent", session_factory=lambda path: session)
    assert reading.version == "5.9.8"
    assert set(reading.conns) == {"Tunnel1", "Tunnel2"}
    t1 = best_ike(reading.sas, "Tunnel1")
    assert t1 is not None and t1.state == "ESTABLISHED"
    assert t1.algorithms == "AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024"
    assert t1.rekey_in_s == 28029  # IKEv1: the reauth time
    child = t1.installed_child
    assert child is not None
    assert child.algorithms == "AES_CBC_128/HMAC_SHA1_96/MODP_1024"
    assert (child.bytes_in, child.packets_in, child.bytes_out) == (252, 3, 252)
    assert child.installed_s == 8 and child.rekey_in_s == 2857


def test_vici_connecting_and_no_child() -> None:
    connecting = vici_source.sas_from_events(vici_record("tunnel1_connecting")["sas"])
    t1 = best_ike(connecting, "Tunnel1")
    assert t1 is not None and t1.state == "CONNECTING" and t1.children == ()
    no_child = vici_source.sas_from_events(vici_record("tunnel2_no_child")["sas"])
    t2 = best_ike(no_child, "Tunnel2")
    assert t2 is not None and t2.state == "ESTABLISHED" and t2.installed_child is None


def test_vici_and_statusall_agree_on_the_same_state() -> None:
    from_vici = snapshot_from_vici("tunnel2_no_child")
    from_statusall = snapshot_from_statusall("tunnel2_no_child")
    assert [t.ike_state for t in from_vici.tunnels] == [t.ike_state for t in from_statusall.tunnels]
    assert [t.up for t in from_vici.tunnels] == [True, False]
    assert diagnose(from_vici) == diagnose(from_statusall)


def test_vici_initiate_and_terminate_return_at_once() -> None:
    session = FakeViciSession(vici_record("both_up"))
    vici_source.initiate("/x", "Tunnel1", session_factory=lambda p: session)
    vici_source.terminate("/x", "Tunnel2", session_factory=lambda p: session)
    assert session.commands == [
        ("initiate", {"child": "Tunnel1", "ike": "Tunnel1", "timeout": "-1"}),
        ("terminate", {"ike": "Tunnel2", "timeout": "-1"}),
    ]


def test_vici_listen_reports_updown_events(tmp_path: Path) -> None:
    sock = tmp_path / "charon.vici"
    sock.write_text("")  # only its existence is checked before the factory is called
    stop = threading.Event()
    events = [
        (None, None),
        (b"child-updown", {"Tunnel1": {"state": b"DELETING"}}),
        (b"ike-updown", {"up": b"yes", "Tunnel2": {"state": b"ESTABLISHED"}}),
    ]
    seen: list[str] = []

    def factory(path: str) -> FakeViciSession:
        return FakeViciSession({}, events)

    def notify(what: str) -> None:
        seen.append(what)
        if len(seen) == 2:
            stop.set()

    vici_source.listen(str(sock), stop, notify, session_factory=factory)
    assert seen == ["child-updown Tunnel1 down", "ike-updown Tunnel2 up"]


def test_vici_listen_without_socket_returns() -> None:
    seen: list[str] = []
    vici_source.listen("/nonexistent/charon.vici", threading.Event(), seen.append)
    assert seen == []


# --------------------------------------------------------------------------- netlink


def test_netlink_assembly_from_messages() -> None:
    links = [
        {"index": 1, "flags": 0x49, "IFLA_IFNAME": "lo", "IFLA_MTU": 65536},
        {
            "index": 5,
            "flags": 0x1 | 0x10,
            "IFLA_IFNAME": "Tunnel1",
            "IFLA_MTU": 1419,
            "IFLA_STATS64": {"rx_bytes": 252, "tx_bytes": 336, "rx_packets": 3,
                             "tx_packets": 4, "rx_errors": 0, "tx_errors": 2},
            "IFLA_LINKINFO": {
                "IFLA_INFO_KIND": "vti",
                "IFLA_INFO_DATA": {"IFLA_VTI_IKEY": 100, "IFLA_VTI_OKEY": 100,
                                   "IFLA_VTI_LOCAL": "198.51.100.10",
                                   "IFLA_VTI_REMOTE": "198.51.100.1"},
            },
        },
        {"index": 6, "flags": 0x0, "IFLA_IFNAME": "Tunnel2", "IFLA_MTU": 1419},
    ]
    addrs = [{"index": 5, "prefixlen": 30, "IFA_LOCAL": "169.254.23.6",
              "IFA_ADDRESS": "169.254.23.5"}]
    routes = [
        {"table": 254, "dst_len": 24, "RTA_DST": "203.0.113.0", "RTA_OIF": 5,
         "RTA_PRIORITY": 100},
        {"table": 254, "dst_len": 0, "RTA_OIF": 1},
    ]
    found, table = netlink_status.assemble(["Tunnel1", "Tunnel2", "Tunnel9"], links, addrs, routes)
    assert set(found) == {"Tunnel1", "Tunnel2"}
    t1 = found["Tunnel1"]
    assert t1.up and t1.mtu == 1419 and t1.kind == "vti"
    assert (t1.rx_bytes, t1.tx_bytes, t1.tx_errors, t1.ikey, t1.okey) == (252, 336, 2, 100, 100)
    assert t1.addresses == (("169.254.23.6/30", "169.254.23.5/30"),)
    assert not found["Tunnel2"].up
    assert table[0].dst == "203.0.113.0/24" and table[0].dev == "Tunnel1"
    assert table[0].metric == 100
    assert table[1].dst == "0.0.0.0/0" and table[1].dev == "lo"


def test_netlink_watch_stops_and_reports() -> None:
    import os

    read_end, write_end = os.pipe()
    stop = threading.Event()
    seen: list[str] = []

    class FakeIpr:
        bound: int | None = None

        def bind(self, groups: int) -> None:
            self.bound = groups

        def fileno(self) -> int:
            return read_end

        def get(self) -> list[dict]:
            os.read(read_end, 1)
            stop.set()
            return [{"event": "RTM_DELLINK", "IFLA_IFNAME": "Tunnel1"}]

        def close(self) -> None:
            os.close(read_end)

    fake = FakeIpr()
    os.write(write_end, b"x")
    netlink_status.watch(stop, seen.append, poll=0.01, socket_factory=lambda: fake)
    os.close(write_end)
    assert seen == ["RTM_DELLINK Tunnel1"]
    assert fake.bound == netlink_status.RTMGRP_LINK | netlink_status.RTMGRP_IPV4_IFADDR | (
        netlink_status.RTMGRP_IPV4_ROUTE
    )


# --------------------------------------------------------------------------- iptables


def test_mangle_rules_match_their_normalised_listing() -> None:
    setup = lab_setup()
    from wizard.render.iptables import mangle_rules

    for tunnel in setup.tunnels:
        for rule in mangle_rules(setup, tunnel):
            assert iptables_status.rule_present(MANGLE, rule.chain, rule.rule)
    # A rule for another mark, or another peer, is not the same rule.
    assert not iptables_status.rule_present(
        MANGLE, "INPUT", ("-p", "esp", "-s", "198.51.100.1", "-d", "198.51.100.10",
                          "-j", "MARK", "--set-xmark", "200"))
    assert not iptables_status.rule_present(
        MANGLE, "FORWARD", ("-o", "Tunnel3", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN",
                            "-j", "TCPMSS", "--clamp-mss-to-pmtu"))


def test_read_mangle_says_why_it_cannot() -> None:
    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            argv, 4, "", "iptables v1.8.9 (nf_tables): Permission denied (you must be root)\n")

    lines, source = iptables_status.read_mangle(run)
    assert lines is None
    assert "Permission denied" in source


def test_failover_block_is_idempotent(tmp_path: Path) -> None:
    """Blocking twice adds one rule; unblocking removes it (here in a --root's simulated kernel)."""
    root = Root(tmp_path)
    source = open_status(lab_expected(), root, dry_run=False)
    source.block_peer("Tunnel1")
    source.block_peer("Tunnel1")
    state = json.loads((tmp_path / "run/vpn-wizard-sim/kernel.json").read_text())
    assert state["iptables"] == {"filter": {"INPUT": [["-s", "198.51.100.1", "-j", "DROP"]]}}
    assert source.peer_blocked("Tunnel1")
    source.unblock_peer("Tunnel1")
    assert not source.peer_blocked("Tunnel1")
    assert json.loads((tmp_path / "run/vpn-wizard-sim/kernel.json").read_text())["iptables"] == {}


# --------------------------------------------------------------------------- the keys' seam


class _FakeIptables:
    """An iptables adapter that keeps rules in a list, like `CommandIptables` on a real box."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.rules: list[tuple[str, str, tuple[str, ...]]] = []

    def present(self, table: str, chain: str, rule: list[str]) -> bool:
        return (table, chain, tuple(rule)) in self.rules

    def append(self, table: str, chain: str, rule: list[str]) -> None:
        self.log.append(" ".join(["iptables", "-t", table, "-A", chain, *rule]))
        self.rules.append((table, chain, tuple(rule)))

    def delete(self, table: str, chain: str, rule: list[str]) -> None:
        self.log.append(" ".join(["iptables", "-t", table, "-D", chain, *rule]))
        self.rules.remove((table, chain, tuple(rule)))


def test_keys_act_through_the_system_seam_on_the_live_box(tmp_path: Path) -> None:
    """On `/` the keys use the System's adapters (the real ones in production), nothing else."""
    system = System.real(Root(tmp_path))  # any System: its adapters are what the keys use
    fake = _FakeIptables(system.log)
    system.iptables = fake
    asked: list[str] = []
    system.strongswan.initiate = lambda name: asked.append(f"up {name}")  # type: ignore[method-assign]
    system.strongswan.terminate = lambda name: asked.append(f"down {name}")  # type: ignore[method-assign]
    source = LiveStatus(lab_expected(), system=system, readers=SimStatusReaders(Root(tmp_path)))
    assert source.block_peer("Tunnel2") == "dropping all packets from 198.51.100.2 (Tunnel2's AWS endpoint)"
    source.block_peer("Tunnel2")
    assert fake.rules == [("filter", "INPUT", ("-s", "198.51.100.2", "-j", "DROP"))]
    source.unblock_peer("Tunnel2")
    assert fake.rules == []
    assert source.initiate("Tunnel1") == "asked strongSwan to bring Tunnel1 up"
    source.terminate("Tunnel1")
    assert asked == ["up Tunnel1", "down Tunnel1"]


def test_dry_run_keys_only_record_and_say_so(tmp_path: Path) -> None:
    """Under --dry-run every key goes through System.recording: a line in the log, nothing done."""
    source = open_status(lab_expected(), Root(tmp_path), dry_run=True)
    assert source.system.dry_run
    said = source.block_peer("Tunnel1")
    assert said == ("Dry run: would run iptables -t filter -A INPUT -s 198.51.100.1 -j DROP. "
                    "Nothing was changed.")
    assert "iptables -t filter -D INPUT -s 198.51.100.1 -j DROP" in source.unblock_peer("Tunnel1")
    assert "swanctl --initiate --ike Tunnel2 --child Tunnel2" in source.initiate("Tunnel2")
    assert "swanctl --terminate --ike Tunnel2" in source.terminate("Tunnel2")
    assert list(tmp_path.iterdir()) == []  # not even the simulated kernel's file


def test_root_keys_change_only_the_simulated_kernel(tmp_path: Path) -> None:
    """Under --root the keys act on the root's simulated daemon, and the snapshot shows it."""
    from wizard.commands.apply import run_apply

    answers = tmp_path / "answers.toml"
    from wizard.answers import save_answers

    setup = lab_setup()
    # The simulated box has lo and eth0 only: no LAN interface to forward from.
    save_answers(answers, replace(setup, choices=replace(setup.choices, lan_interfaces=())),
                 include_secrets=True)
    root = tmp_path / "root"
    root.mkdir()
    code = run_apply(argparse.Namespace(root=str(root), answers=str(answers), import_path=None,
                                        no_confirm=True, confirm_timeout=120))
    assert code == 0
    source = open_status(lab_expected(), Root(root), dry_run=False)
    first = source.snapshot()
    assert first.source == "simulated" and first.daemon_running
    assert first.target.root == str(root) and not first.target.dry_run
    assert [t.link is not None and t.link.up for t in first.tunnels] == [True, True]
    assert all(r.present for t in first.tunnels for r in t.routes)
    assert all(r.present for t in first.tunnels for r in t.rules)
    assert [t.ike_state for t in first.tunnels] == ["down", "down"]
    said = source.initiate("Tunnel1")
    assert said.startswith("asked strongSwan to bring Tunnel1 up in the simulated kernel")
    assert source.snapshot().tunnels[0].ike_state == "CONNECTING"
    source.terminate("Tunnel1")
    assert source.snapshot().tunnels[0].ike_state == "down"
    text = format_text(source.snapshot())
    assert text.startswith(f"--root {root}: the kernel and strongSwan shown are simulated")


def test_dry_run_diagnosis_says_nothing_was_applied() -> None:
    """After a dry run the panel does not tell the operator to start strongSwan."""
    snapshot = replace(not_running_snapshot(), target=Target(dry_run=True))
    findings = diagnose(snapshot)
    assert findings == [DRY_RUN_FINDING]
    assert "ipsec start" not in format_text(snapshot)
    assert format_text(snapshot).startswith("Dry run: nothing was applied to this box.")
    assert snapshot_json(snapshot)["target"] == {"dry_run": True, "root": None, "live": False}


# --------------------------------------------------------------------------- expectations


def _applied(root: Path, setup: Setup) -> Path:
    """The manifest the engine writes on confirm (same path, mode 0600), under a --root."""
    path = root / MANIFEST_PATH.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest_text(AppliedManifest(
        setup=setup, transaction="t-1", applied_at="2026-11-29T03:00:00Z",
        heartbeat_command="/usr/local/sbin/vpn-wizard")))
    path.chmod(0o600)
    return path


def _with_the_plan_s_files(root: Path, setup: Setup) -> None:
    """The files the plan renders, as apply leaves them (the manifest must not need them)."""
    for path, change in build_plan(setup).final_files().items():
        local = root / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(change.after)


def test_expected_from_the_applied_manifest(tmp_path: Path) -> None:
    """No arguments: the tunnels come from the applied manifest, as from the setup itself."""
    _applied(tmp_path, lab_setup())
    expected = expected_for(_args(root=str(tmp_path)))
    assert expected.origin == "manifest"
    from_setup = lab_expected()
    assert [t.name for t in expected.tunnels] == ["Tunnel1", "Tunnel2"]
    for got, want in zip(expected.tunnels, from_setup.tunnels, strict=True):
        assert got.aws_outside_ip == want.aws_outside_ip
        assert got.aws_inside_ip == want.aws_inside_ip
        assert got.mark == want.mark
        assert got.routes == ("203.0.113.0/24",)
        assert [(c, iptables_status.normalise(c, r)) for c, r in got.rules] == [
            (c, iptables_status.normalise(c, r)) for c, r in want.rules
        ]
    assert expected.heartbeat is True


def test_expected_from_an_updown_mode_manifest(tmp_path: Path) -> None:
    _applied(tmp_path, lab_setup(mode="updown"))
    expected = expected_for(_args(root=str(tmp_path)))
    t1 = expected.tunnels[0]
    assert t1.mode == "updown"
    assert t1.aws_inside_ip == "169.254.23.5"
    assert t1.routes == ("203.0.113.0/24",)
    assert len(t1.rules) == 2


def test_expected_from_a_swanctl_backend_manifest(tmp_path: Path) -> None:
    setup = lab_setup(mode="updown")
    setup = replace(setup, choices=replace(setup.choices, backend="swanctl",
                                           persistence="netplan"))
    _applied(tmp_path, setup)
    expected = expected_for(_args(root=str(tmp_path)))
    assert expected.origin == "manifest"
    assert [(t.name, t.aws_outside_ip, t.mark, t.mode, t.aws_inside_ip, t.routes)
            for t in expected.tunnels] == [
        ("Tunnel1", "198.51.100.1", 100, "updown", "169.254.23.5", ("203.0.113.0/24",)),
        ("Tunnel2", "198.51.100.2", 200, "updown", "169.254.22.73", ("203.0.113.0/24",)),
    ]


def test_status_with_no_arguments_reads_the_manifest_not_the_rendered_files(
    tmp_path: Path,
) -> None:
    """The rendered files say Tunnel1/Tunnel2 at one peer; the manifest is what counts."""
    _with_the_plan_s_files(tmp_path, lab_setup())
    setup = lab_setup()
    moved = replace(setup.tunnels[0], aws_outside_ip=IPv4Address("192.0.2.77"))
    _applied(tmp_path, replace(setup, connection=replace(
        setup.connection, tunnels=(moved, setup.tunnels[1]))))
    out = io.StringIO()
    code = run_status(_args(root=str(tmp_path)), out=out)
    doc = json.loads(out.getvalue())
    assert doc["expected_from"] == "manifest"
    assert [t["aws_outside_ip"] for t in doc["tunnels"]] == ["192.0.2.77", "198.51.100.2"]
    assert code == EXIT_DOWN  # the simulated kernel under the root has no peer


def test_no_manifest_and_no_arguments_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rendered files alone are not read back: without a manifest there is nothing to check."""
    _with_the_plan_s_files(tmp_path, lab_setup())
    (tmp_path / "etc" / "ipsec.conf").write_text("config setup\n\nconn other\n\tauto=add\n")
    assert expected_for(_args(root=str(tmp_path))) == Expected()
    out = io.StringIO()
    code = run_status(_args(root=str(tmp_path), json=False), out=out)
    assert code == EXIT_NOTHING
    assert "no setup applied by vpn-wizard on this box: give --import or --answers" in (
        out.getvalue())


def test_a_bad_manifest_says_what_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _applied(tmp_path, lab_setup())
    path.write_text('{"format": 1, "answers": 3}\n')
    code = run_status(_args(root=str(tmp_path)), out=io.StringIO())
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert f"error: {path}: unknown key" in err or f"error: {path}: missing key" in err
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.json")
    code = run_status(_args(root=str(tmp_path)), out=io.StringIO())
    err = capsys.readouterr().err
    assert code == EXIT_INVALID and str(path) in err


def test_heartbeat_found_through_the_vti_peer_when_not_configured() -> None:
    expected = Expected((ExpectedTunnel("Tunnel1", "198.51.100.1"),), "swanctl")
    snap = build_snapshot(expected, taken_at=TAKEN_AT, source="vici", daemon_running=True,
                          links=links_up(), routes=ROUTES, heartbeat=heartbeat())
    beat = snap.tunnels[0].heartbeat
    assert beat is not None and beat.address == "169.254.23.5"


# --------------------------------------------------------------------------- diagnosis


def test_all_good_says_nothing() -> None:
    snap = snapshot_from_vici("both_up")
    assert snap.all_up
    assert diagnose(snap) == []


def test_ike_up_without_child_sa() -> None:
    assert diagnose(snapshot_from_vici("tunnel2_no_child")) == [
        "Tunnel 2: IKE up, no CHILD SA — check phase 2 proposals."
    ]


def test_connecting_tunnel_and_its_silent_heartbeat() -> None:
    snap = snapshot_from_vici("tunnel1_connecting", heartbeat=heartbeat(silent_1=40))
    found = diagnose(snap)
    assert found[0].startswith("Tunnel 1: down, IKE still connecting to 198.51.100.1")
    assert "heartbeat: no reply for 40 s (169.254.23.5, Tunnel 1)." in found
    # Manual mode: the metric-100 route still sends the VPC's traffic into the dead tunnel.
    assert found[1] == (
        "Tunnel 1: down, yet traffic to 203.0.113.0/24 is routed through it (dev Tunnel1, "
        "metric 100): in manual mode nothing moves the route, so that traffic is "
        "dropped (blackholed) — bring Tunnel 1 up (u), or move the route to Tunnel 2."
    )
    assert len(found) == 3


def test_vti_down_and_route_missing() -> None:
    links = links_up()
    links["Tunnel1"] = replace(links["Tunnel1"], up=False)
    snap = snapshot_from_vici("both_up", links=links, routes=ROUTES[:1] + ROUTES[2:])
    assert diagnose(snap) == [
        "Tunnel 1: VTI down.",
        "Tunnel 1: route to 203.0.113.0/24 missing (dev Tunnel1 metric 100).",
    ]


def test_route_missing_wording_for_another_cidr() -> None:
    expected = Expected(
        (ExpectedTunnel("Tunnel1", "198.51.100.1", "169.254.23.5", 100, ("192.0.2.0/24",)),),
        "answers",
    )
    snap = build_snapshot(
        expected, taken_at=TAKEN_AT, source="vici", daemon_running=True,
        sas=vici_source.sas_from_events(vici_record("both_up")["sas"]),
        links=links_up(), routes=ROUTES,
    )
    assert diagnose(snap) == ["Tunnel 1: route to 192.0.2.0/24 missing (dev Tunnel1 metric 100)."]


def test_vti_missing_mangle_rule_missing_and_key_mismatch() -> None:
    links = links_up()
    del links["Tunnel2"]
    links["Tunnel1"] = replace(links["Tunnel1"], ikey=101)
    snap = snapshot_from_vici("both_up", links=links, mangle=MANGLE[:5] + MANGLE[6:])
    found = diagnose(snap)
    assert "Tunnel 1: VTI key 101 differs from the conn's mark 100." in found
    assert "Tunnel 2: VTI Tunnel2 is missing." in found
    assert any(f.startswith("Tunnel 1: mangle rule missing: INPUT -p esp") for f in found)


def test_updown_mode_expects_no_vti_while_down() -> None:
    from wizard.status.desired import expected_from_setup

    expected = expected_from_setup(lab_setup(mode="updown"))
    links = links_up()
    del links["Tunnel1"]
    snap = snapshot_from_vici(
        "tunnel1_connecting", expected=expected, links=links, routes=ROUTES[:1] + ROUTES[2:],
        mangle=[line for line in MANGLE if "Tunnel1" not in line and "0x64" not in line],
    )
    found = diagnose(snap)
    assert found == [found[0]] and found[0].startswith("Tunnel 1: down, IKE still connecting")


def test_strongswan_not_running() -> None:
    found = diagnose(not_running_snapshot())
    assert found[0] == "strongSwan is not running — start it with 'ipsec start'."
    assert "heartbeat: no reply for 95 s (169.254.23.5, Tunnel 1)." in found


def test_conn_not_loaded() -> None:
    snap = snapshot_from_vici("both_up", loaded_conns=["Tunnel1"], sas=())
    found = diagnose(snap)
    assert found[0] == "Tunnel 1: down, no IKE SA with 198.51.100.1."
    assert found[1].startswith("Tunnel 2: strongSwan has not loaded conn Tunnel2")


def test_nothing_applied() -> None:
    snap = nothing_applied_snapshot()
    assert not snap.applied and not snap.all_up
    assert diagnose(snap)[0].startswith("No tunnels configured by vpn-wizard")


def test_heartbeat_dead_or_lossy() -> None:
    stale = replace(heartbeat(), updated=TAKEN_AT - 300)
    assert diagnose(snapshot_from_vici("both_up", heartbeat=stale)) == [
        "heartbeat: not running (last round 300 s ago)."
    ]
    lossy = diagnose(snapshot_from_vici("both_up", heartbeat=heartbeat(lost_1=3)))
    assert lossy == ["heartbeat: 3 of 12 pings lost in the last minute (169.254.23.5, Tunnel 1)."]
    missing = diagnose(snapshot_from_vici("both_up", heartbeat=None))
    assert missing[0].startswith("heartbeat: not running (no state in")


def test_best_ike_prefers_the_working_sa() -> None:
    old = IkeSa("Tunnel1", "CONNECTING")
    good = IkeSa("Tunnel1", "ESTABLISHED", established_s=5)
    assert best_ike([old, good], "Tunnel1") is good
    assert best_ike([old], "Tunnel2") is None


def test_human_duration() -> None:
    assert [human_duration(s) for s in (0, 45, 180, 7500, 90000, None)] == [
        "0 s", "45 s", "3 min", "2 h 05 min", "1 d 1 h", "?"]


# --------------------------------------------------------------------------- status --once


def _args(**kw: object) -> argparse.Namespace:
    base = dict(once=True, json=True, root="/", answers=None, import_path=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_status_once_json_shape_and_exit_codes() -> None:
    out = io.StringIO()
    code = run_status(_args(), RecordedSource(snapshot_from_vici("both_up")), out)
    doc = json.loads(out.getvalue())
    assert code == EXIT_UP == doc["exit_code"]
    assert doc["source"] == "vici"
    assert doc["all_up"] is True and doc["diagnosis"] == []
    assert [t["name"] for t in doc["tunnels"]] == ["Tunnel1", "Tunnel2"]
    t1 = doc["tunnels"][0]
    assert t1["ike"]["state"] == "ESTABLISHED"
    assert t1["child"]["state"] == "INSTALLED" and t1["child"]["bytes_in"] == 252
    assert t1["vti"]["up"] is True and t1["vti"]["mtu"] == 1419
    assert t1["routes"] == [{"dst": "203.0.113.0/24", "dev": "Tunnel1", "metric": 100,
                             "present": True}]
    assert all(r["present"] for r in t1["rules"])
    assert t1["heartbeat"]["address"] == "169.254.23.5"

    out = io.StringIO()
    code = run_status(_args(), RecordedSource(snapshot_from_vici("tunnel1_connecting")), out)
    doc = json.loads(out.getvalue())
    assert code == EXIT_DOWN
    assert [t["up"] for t in doc["tunnels"]] == [False, True]
    assert doc["tunnels"][0]["ike"]["state"] == "CONNECTING"
    assert doc["tunnels"][0]["child"] is None

    code = run_status(_args(), RecordedSource(nothing_applied_snapshot()), io.StringIO())
    assert code == EXIT_NOTHING


def test_status_once_text_never_shows_a_psk() -> None:
    out = io.StringIO()
    code = run_status(_args(json=False), RecordedSource(not_running_snapshot()), out)
    text = out.getvalue()
    assert code == EXIT_DOWN
    assert "strongSwan is not running" in text
    assert "Tunnel1: DOWN" in text
    for psk in LAB_PSKS:
        assert psk not in text
    assert psk not in json.dumps(snapshot_json(snapshot_from_vici("both_up")))
    assert "Tunnel1: UP" in format_text(snapshot_from_vici("both_up"))


def test_status_once_with_answers_file_expects_its_tunnels(tmp_path: Path) -> None:
    pytest.importorskip("wizard.answers")
    from wizard.answers import save_answers

    answers = tmp_path / "answers.toml"
    save_answers(answers, lab_setup(), include_secrets=True)

    expected = expected_for(_args(answers=str(answers), root=str(tmp_path)))
    assert [t.name for t in expected.tunnels] == ["Tunnel1", "Tunnel2"]
    assert expected.tunnels[0].routes == ("203.0.113.0/24",)


def test_core_does_not_import_textual() -> None:
    code = (
        "import sys, wizard.status, wizard.commands.status, wizard.heartbeat, "
        "wizard.commands.heartbeat, wizard.system.vici_source, wizard.system.statusall, "
        "wizard.system.netlink_status, wizard.system.iptables_status; "
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- the package's shape


STATUS_PACKAGE = Path(__file__).resolve().parent.parent / "wizard" / "status"
READERS = ("vici_source", "statusall", "netlink_status", "iptables_status", "simulated")
LAZY_THIRD_PARTY = {"vici", "pyroute2"}
"""Imported where first needed because they are slow to import, not to dodge a cycle."""


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, inside a function?) for every import in a file."""
    import ast

    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def test_no_import_inside_a_function_in_status_or_its_readers() -> None:
    files = [*sorted(STATUS_PACKAGE.glob("*.py")),
             *(STATUS_PACKAGE.parent / "system" / f"{name}.py" for name in READERS[:4])]
    nested = [(f.name, module) for f in files for module, inner in _imports(f)
              if inner and module.split(".")[0] not in LAZY_THIRD_PARTY]
    assert nested == []


def test_the_model_is_a_leaf_and_the_readers_import_only_the_model() -> None:
    model = [m for m, _ in _imports(STATUS_PACKAGE / "model.py")
             if m.split(".")[0] in ("wizard", "screens")]
    assert model == []
    for name in READERS:
        status = {m for m, _ in _imports(STATUS_PACKAGE.parent / "system" / f"{name}.py")
                  if m.startswith("wizard.status")}
        assert status <= {"wizard.status.model"}, name


@pytest.mark.parametrize("first", [
    "wizard.system.simulated", "wizard.system.vici_source", "wizard.system.netlink_status",
    "wizard.status.model", "wizard.status", "wizard.status.live", "wizard.commands.status",
])
def test_every_module_imports_first_in_a_fresh_interpreter(first: str) -> None:
    """No order of imports meets a half-initialised module: there is no cycle to meet."""
    subprocess.run([sys.executable, "-c", f"import {first}; import wizard.status.live"],
                   check=True, cwd=Path(__file__).resolve().parent.parent)
