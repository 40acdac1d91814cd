"""Today's targets: swanctl, sysctl.d, netplan, systemd-networkd and the iptables unit.

Golden files under tests/golden/modern/ hold what the renderers make of the
seed's own values (tests/seed_setup.py), keys masked. After a deliberate
change, regenerate them with

    VPN_WIZARD_UPDATE_GOLDEN=1 pytest tests/test_render_modern.py

and read the diff before committing it. Beyond the goldens: the swanctl
backend is proved equivalent to the document's ipsec.conf conn by conn, and
netplan's own `netplan generate` reads the netplan file when it is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from seed_setup import SEED_PSKS, seed_setup

from wizard.model import Crypto, Setup
from wizard.render import ipsec, modern, swanctl
from wizard.secret import redact

GOLDEN = Path(__file__).resolve().parent / "golden" / "modern"
UPDATE = os.environ.get("VPN_WIZARD_UPDATE_GOLDEN") == "1"


def _masked(setup: Setup, text: str) -> str:
    return redact(text, setup.secrets())


def _renders() -> dict[str, tuple[Setup, str]]:
    """Golden file name -> (setup, rendered text)."""
    manual = seed_setup()
    updown = seed_setup(mode="updown")
    lan = seed_setup(lan_interfaces=("lan0",))
    nat = seed_setup(local_ip=IPv4Address("192.0.2.20"))
    ikev2 = _with_crypto(seed_setup(), Crypto(ike_version=2, ike="aes256-sha256-modp2048",
                                              esp="aes256-sha256-modp2048"))
    out: dict[str, tuple[Setup, str]] = {
        "swanctl-manual.conf": (manual, swanctl.conf(manual)),
        "swanctl-updown.conf": (updown, swanctl.conf(updown)),
        "swanctl-nat.conf": (nat, swanctl.conf(nat)),
        "swanctl-ikev2.conf": (ikev2, swanctl.conf(ikev2)),
        "swanctl-secrets.conf": (manual, swanctl.secrets(manual)),
        "sysctl-manual.conf": (manual, modern.sysctl_d(manual)),
        "sysctl-updown-lan.conf": (lan, modern.sysctl_d(seed_setup(mode="updown",
                                                                   lan_interfaces=("lan0",)))),
        "netplan.yaml": (manual, modern.netplan(manual)),
        "netplan-nat.yaml": (nat, modern.netplan(nat)),
        "vpn-wizard-iptables.service": (manual, modern.iptables_unit(manual)),
    }
    for tunnel in manual.tunnels:
        netdev, network = modern.networkd_paths(tunnel)
        out[Path(netdev).name] = (manual, modern.netdev(manual, tunnel))
        out[Path(network).name] = (manual, modern.network(manual, tunnel))
    return out


def _with_crypto(setup: Setup, crypto: Crypto) -> Setup:
    from dataclasses import replace

    tunnels = tuple(replace(t, crypto=crypto) for t in setup.tunnels)
    return replace(setup, connection=replace(setup.connection, tunnels=tunnels))


RENDERS = _renders()


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_golden(name: str) -> None:
    setup, text = RENDERS[name]
    masked = _masked(setup, text)
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(masked)
    assert path.exists(), f"{path} missing: run with VPN_WIZARD_UPDATE_GOLDEN=1"
    assert masked == path.read_text()


def test_golden_files_hold_no_fixture_key() -> None:
    for path in GOLDEN.iterdir():
        text = path.read_text()
        assert not any(psk in text for psk in SEED_PSKS), path
    assert 'secret = "********"' in (GOLDEN / "swanctl-secrets.conf").read_text()


def test_no_golden_file_is_left_over() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(RENDERS)


# --------------------------------------------------------------------------- lifetimes


def test_lifetimes_follow_strokes_arithmetic() -> None:
    """ikelifetime=8h, lifetime=1h, margintime=9m, rekeyfuzz=100%, reauth=yes."""
    times = swanctl.lifetimes(Crypto())
    assert times == swanctl.Lifetimes(
        rekey_time=0,
        reauth_time=8 * 3600 - 9 * 60,  # 28260
        over_time=9 * 60,
        rand_time=9 * 60 * 100 // 100,
        child_rekey_time=3600 - 9 * 60,  # 3060
        child_life_time=3600,
        child_rand_time=540,
    )
    # The hard end of the IKE SA is where ikelifetime put it.
    assert times.reauth_time + times.over_time == 28800
    short = swanctl.lifetimes(Crypto(ike_lifetime=900, esp_lifetime=900), fuzz=50)
    assert (short.reauth_time, short.child_rekey_time, short.rand_time) == (360, 360, 270)


# --------------------------------------------------------------------------- equivalence

STROKE_DEFAULTS = {"margintime": 540, "rekeyfuzz": 100, "reauth": "yes"}
"""ipsec.conf defaults the document's conn relies on without writing them."""


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd]?)", value)
    assert match, value
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _stroke_conn(lines: list[str]) -> tuple[str, dict[str, str]]:
    name = lines[0].split()[1]
    keys = {}
    for line in lines[1:]:
        key, _, value = line.strip().partition("=")
        keys[key] = value.strip('"')
    return name, keys


def _stroke_as_swanctl(keys: dict[str, str], setup: Setup) -> dict[str, Any]:
    """What a stroke conn means, in swanctl's terms, by stroke's own rules (stroke_config.c)."""
    margin = STROKE_DEFAULTS["margintime"]
    jitter = margin * STROKE_DEFAULTS["rekeyfuzz"] // 100
    ike_life = _seconds(keys["ikelifetime"])
    life = _seconds(keys["lifetime"])
    dpd_action = keys["dpdaction"]
    assert keys["left"] == "%defaultroute" and keys["type"] == "tunnel"
    assert keys["leftauth"] == keys["rightauth"] == "psk"
    assert keys["keyingtries"] == "%forever" and keys["auto"] == "start"
    mark = keys["mark"].split("/")[0]
    child: dict[str, Any] = {
        "mode": keys["type"],
        "local_ts": keys["leftsubnet"],
        "remote_ts": keys["rightsubnet"],
        "esp_proposals": keys["esp"].rstrip("!"),
        "rekey_time": life - margin,
        "life_time": life,
        "rand_time": jitter,
        "mark_in": mark,
        "mark_out": mark,
        "dpd_action": {"restart": "restart", "hold": "trap"}.get(dpd_action, "clear"),
        "start_action": "start",
    }
    if "leftupdown" in keys:
        child["updown"] = keys["leftupdown"]
    reauth = STROKE_DEFAULTS["reauth"] == "yes"
    return {
        "version": int(keys["keyexchange"].removeprefix("ikev")),
        "local_addrs": str(setup.choices.local_ip) if setup.choices.local_ip else "%any",
        "remote_addrs": keys["right"],
        "proposals": keys["ike"].rstrip("!"),
        "rekey_time": 0 if reauth else ike_life - margin,
        "reauth_time": ike_life - margin if reauth else 0,
        "over_time": margin,
        "rand_time": jitter,
        "keyingtries": 0,
        "unique": "no",  # config setup's uniqueids=no
        "dpd_delay": 0 if dpd_action == "none" else _seconds(keys["dpddelay"]),
        "dpd_timeout": _seconds(keys["dpdtimeout"]),
        "local": {"auth": keys["leftauth"], "id": keys["leftid"]},
        "remote": {"auth": keys["rightauth"], "id": keys.get("rightid", keys["right"])},
        "children": {"CHILD": child},
    }


def _normalised(conn: dict[str, Any]) -> dict[str, Any]:
    """A parsed swanctl connection with times and numbers as ints, the child renamed CHILD."""
    out: dict[str, Any] = {}
    for key, value in conn.items():
        if key == "children":
            (child,) = value.values()
            out[key] = {"CHILD": _normalised(child)}
        elif isinstance(value, dict):
            out[key] = dict(value)
        elif key.endswith("_time") or key in ("dpd_delay", "dpd_timeout"):
            out[key] = _seconds(value)
        elif key in ("version", "keyingtries"):
            out[key] = int(value)
        else:
            out[key] = value
    return out


EQUIVALENCE_SETUPS = {
    "seed-manual": seed_setup(),
    "seed-updown": seed_setup(mode="updown"),
    "nat": seed_setup(local_ip=IPv4Address("192.0.2.20")),
    "ikev2-strict-hold": _with_crypto(seed_setup(), Crypto(
        ike_version=2, ike="aes256-sha256-modp2048!", esp="aes256gcm16-ecp384",
        ike_lifetime=14400, esp_lifetime=1800, dpd_delay=15, dpd_timeout=45, dpd_action="hold")),
    "dpd-none": _with_crypto(seed_setup(), Crypto(dpd_action="none")),
}


@pytest.mark.parametrize("case", sorted(EQUIVALENCE_SETUPS))
def test_swanctl_is_the_stroke_conn_connection_by_connection(case: str) -> None:
    setup = EQUIVALENCE_SETUPS[case]
    parsed = swanctl.parse(swanctl.conf(setup))["connections"]
    assert list(parsed) == [t.name for t in setup.tunnels]
    for tunnel in setup.tunnels:
        name, keys = _stroke_conn(ipsec.conn_lines(setup, tunnel))
        conn = parsed[name]
        assert list(conn["children"]) == [name]  # stroke names the CHILD_SA after the conn
        expected = _stroke_as_swanctl(keys, setup)
        got = _normalised(conn)
        for field in sorted(set(expected) | set(got)):
            assert got.get(field) == expected.get(field), f"{case} {name}: {field}"


def test_swanctl_secrets_are_the_ipsec_secrets_lines() -> None:
    setup = seed_setup()
    parsed = swanctl.parse(swanctl.secrets(setup))["secrets"]
    for tunnel in setup.tunnels:
        line = ipsec.secrets_line(setup, tunnel)
        ids, _, psk = line.partition(" : PSK ")
        local_id, remote_id = ids.split()
        entry = parsed[f"ike-{tunnel.name}"]
        assert (entry["id-local"], entry["id-remote"]) == (local_id, remote_id)
        assert entry["secret"] == psk.strip('"') == tunnel.psk.reveal()


def test_parse_reads_what_an_operator_may_write() -> None:
    text = (
        "connections {\n  a { # comment\n    proposals = x-y  # trailing\n"
        '    updown = "/bin/x -a \\"q\\" #no"\n  }\n}\n'
        "include conf.d/*.conf\nconnections { b { version = 2 } }\n"
    )
    parsed = swanctl.parse(text)
    assert parsed["connections"]["a"]["proposals"] == "x-y"
    assert parsed["connections"]["a"]["updown"] == '/bin/x -a "q" #no'
    assert swanctl.defined_connections(text) == ["a", "b"]
    with pytest.raises(swanctl.ParseError):
        swanctl.parse("connections {\n")


# --------------------------------------------------------------------------- netplan / networkd


def _netplan() -> str | None:
    return shutil.which("netplan")


@pytest.mark.parametrize("case", ["manual", "nat", "no-vpc"])
def test_netplan_generate_accepts_the_file(tmp_path: Path, case: str) -> None:
    """netplan's own parser reads the file and renders the networkd files we expect.

    Runs `netplan generate --root-dir` on a temporary root: it reads only
    TMP/etc/netplan and writes only TMP/run, never the host's configuration.
    """
    if _netplan() is None:
        pytest.skip("netplan is not installed (apt-get install netplan.io); "
                    "test_netplan_schema covers the file's shape instead")
    setup = {"manual": seed_setup(), "nat": seed_setup(local_ip=IPv4Address("192.0.2.20")),
             "no-vpc": seed_setup(vpc_cidrs=())}[case]
    conf = tmp_path / "etc" / "netplan" / "60-vpn-wizard.yaml"
    conf.parent.mkdir(parents=True)
    conf.write_text(modern.netplan(setup))
    conf.chmod(0o600)
    proc = subprocess.run(["netplan", "generate", "--root-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "permissions" not in proc.stderr.lower(), proc.stderr  # 0600 satisfies netplan
    out = tmp_path / "run" / "systemd" / "network"
    for tunnel in setup.tunnels:
        netdev = (out / f"10-netplan-{tunnel.name}.netdev").read_text()
        network = (out / f"10-netplan-{tunnel.name}.network").read_text()
        local = setup.local_address(tunnel)
        for line in ("Kind=vti", f"Local={local}", f"Remote={tunnel.aws_outside_ip}",
                     f"InputKey={tunnel.mark}", f"OutputKey={tunnel.mark}", "Independent=true",
                     f"MTUBytes={setup.choices.mtu}"):
            assert f"{line}\n" in netdev, (line, netdev)
        assert f"Address={tunnel.customer_inside_cidr}\n" in network
        assert "RequiredForOnline=no\n" in network  # optional: true
        routes = re.findall(r"Destination=(\S+)\nScope=link\nMetric=(\d+)", network)
        assert routes == [(str(n), str(tunnel.mark)) for n in setup.choices.vpc_cidrs]
        # What our own networkd renderer writes agrees with netplan on every shared key.
        ours = modern.netdev(setup, tunnel) + modern.network(setup, tunnel)
        for line in (f"Local={local}", f"Remote={tunnel.aws_outside_ip}",
                     f"Key={tunnel.mark}", "Independent=yes", f"MTUBytes={setup.choices.mtu}",
                     f"Address={tunnel.customer_inside_cidr}"):
            assert f"{line}\n" in ours
    # Nothing but the tunnels: no other interface was described.
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"10-netplan-{t.name}.{ext}" for t in setup.tunnels for ext in ("netdev", "network"))


def test_netplan_schema() -> None:
    """The file's shape without netplan: the keys netplan documents for a vti tunnel."""
    setup = seed_setup()
    text = modern.netplan(setup)
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body[:3] == ["network:", "  version: 2", "  tunnels:"]
    assert "renderer" not in "\n".join(body[:3])  # never file-wide
    for tunnel in setup.tunnels:
        start = body.index(f"    {tunnel.name}:")
        block = body[start + 1 : start + 18]
        for line in ("      renderer: networkd", "      mode: vti",
                     f"      local: {tunnel.customer_outside_ip}",
                     f"      remote: {tunnel.aws_outside_ip}",
                     f"        input: {tunnel.mark}", f"        output: {tunnel.mark}",
                     f"        - {tunnel.customer_inside_cidr}", "      mtu: 1419",
                     "      optional: true", "        - to: 203.0.113.0/24",
                     "          scope: link", f"          metric: {tunnel.mark}"):
            assert line in block, (line, block)
    assert "peer" not in text  # netplan has no peer for tunnel addresses (netplan-no-peer)


def test_yaml_keys_are_quoted_when_yaml_would_misread_them() -> None:
    assert modern._yaml_key("Tunnel1") == "Tunnel1"
    assert modern._yaml_key("on") == '"on"'
    assert modern._yaml_key("1e5") == '"1e5"'


def test_networkd_network_keeps_the_peer_and_routes() -> None:
    setup = seed_setup()
    tunnel = setup.tunnels[1]
    text = modern.network(setup, tunnel)
    assert "[Address]\nAddress=169.254.22.74/30\nPeer=169.254.22.73/30\n" in text
    assert "[Route]\nDestination=203.0.113.0/24\nScope=link\nMetric=200\n" in text
    assert modern.networkd_paths(tunnel) == (
        "/etc/systemd/network/60-vpn-wizard-Tunnel2.netdev",
        "/etc/systemd/network/60-vpn-wizard-Tunnel2.network",
    )


# --------------------------------------------------------------------------- sysctl.d, iptables


def test_sysctl_d_has_forwarding_host_and_tunnel_lines_without_trailing_comments() -> None:
    text = modern.sysctl_d(seed_setup(lan_interfaces=("lan0",)))
    keys = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert keys == [
        "net.ipv4.ip_forward=1",
        "net.ipv4.conf.eth0.disable_xfrm=1", "net.ipv4.conf.eth0.disable_policy=1",
        "net.ipv4.conf.lan0.disable_xfrm=1", "net.ipv4.conf.lan0.disable_policy=1",
        "net.ipv4.conf.Tunnel1.rp_filter=2", "net.ipv4.conf.Tunnel1.disable_policy=1",
        "net.ipv4.conf.Tunnel2.rp_filter=2", "net.ipv4.conf.Tunnel2.disable_policy=1",
    ]
    updown = modern.sysctl_d(seed_setup(mode="updown", enable_forwarding=False))
    assert "Tunnel1" not in updown and "ip_forward" not in updown


def test_iptables_unit_deletes_before_it_appends_each_rule() -> None:
    setup = seed_setup()
    text = modern.iptables_unit(setup)
    starts = [line.removeprefix("ExecStart=") for line in text.splitlines()
              if line.startswith("ExecStart=")]
    assert len(starts) == 8
    for delete, append in zip(starts[::2], starts[1::2], strict=True):
        assert delete.startswith("-/usr/sbin/iptables -t mangle -D ")
        assert append == delete[1:].replace(" -D ", " -A ", 1)
    assert ("ExecStart=/usr/sbin/iptables -t mangle -A INPUT -p esp -s 52.50.67.155 "
            "-d 62.81.252.34 -j MARK --set-xmark 100\n") in text
    assert "After=systemd-modules-load.service local-fs.target netfilter-persistent.service\n" in (
        text)
    assert text.count("ExecStop=-/usr/sbin/iptables -t mangle -D ") == 4
