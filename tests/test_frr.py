"""Dynamic routing (BGP) through FRR: the configuration, the plan, apply, rollback, uninstall.

Golden files under tests/golden/frr/ hold the frr.conf block for active/active
and active/passive and the daemons file after the wizard's block (Debian's
own daemons file as the starting point). Regenerate after a deliberate change
with `VPN_WIZARD_UPDATE_GOLDEN=1 pytest tests/test_frr.py` and read the diff.
Where FRR is installed, its own parser (`vtysh --dryrun`) reads the rendered
frr.conf, so a line FRR 8 would refuse fails here, not on a box.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from applykit import kernel, seeded_root, set_kernel, tree
from bgp_setup import AWS_ASN, CUSTOMER_ASN, LAN, bgp_setup
from seed_setup import seed_setup

from wizard.apply import apply_plan
from wizard.blocks import insert_block
from wizard.engine.journal import baseline
from wizard.model import Problem, errors, validate
from wizard.operations import AddRoute, ReloadFrr, RestartFrr
from wizard.plan import build_plan
from wizard.preflight import preflight
from wizard.render import frr, ipsec
from wizard.system import System
from wizard.system.paths import Root
from wizard.uninstall import build_uninstall_plan

GOLDEN = Path(__file__).resolve().parent / "golden" / "frr"
DATA = Path(__file__).resolve().parent / "data"
UPDATE = os.environ.get("VPN_WIZARD_UPDATE_GOLDEN") == "1"
#: Debian 12's /etc/frr/daemons and frr.conf as the `frr` package installs them.
DEBIAN_DAEMONS = (DATA / "frr-daemons.debian").read_text()
DEBIAN_FRR_CONF = (DATA / "frr-conf.debian").read_text()
OPERATOR_FRR_CONF = DEBIAN_FRR_CONF + "ip route 198.51.100.128/25 192.0.2.254\n"


def _renders() -> dict[str, str]:
    passive = bgp_setup(bgp_mode="active-passive",
                        advertise=(LAN, IPv4Network("198.51.100.0/25")))
    return {
        "frr-active-active.conf": frr.bgpd_config(bgp_setup()),
        "frr-active-passive.conf": frr.bgpd_config(passive),
        "daemons": insert_block(DEBIAN_DAEMONS, frr.daemons_block()),
    }


RENDERS = _renders()


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_golden(name: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(RENDERS[name])
    assert path.exists(), f"{path} missing: run with VPN_WIZARD_UPDATE_GOLDEN=1"
    assert RENDERS[name] == path.read_text()


def test_no_golden_file_is_left_over() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(RENDERS)


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR (vtysh) is not installed")
@pytest.mark.parametrize("mode", ["active-active", "active-passive"])
def test_frr_itself_accepts_the_configuration(tmp_path: Path, mode: str) -> None:
    conf = tmp_path / "frr.conf"
    conf.write_text(insert_block(OPERATOR_FRR_CONF, frr.frr_conf_block(bgp_setup(bgp_mode=mode))))
    done = subprocess.run(["vtysh", "--dryrun", "-f", str(conf)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text(conf.read_text().replace(" bgp log-neighbor-changes", " bgp no-such-thing"))
    refused = subprocess.run(["vtysh", "--dryrun", "-f", str(bad)], capture_output=True,
                             text=True, timeout=60, check=False)
    assert refused.returncode != 0  # the check above can fail: it is FRR's parser at work


# --------------------------------------------------------------------------- the configuration


def test_policies_in_and_out_for_every_neighbor_with_awss_timers() -> None:
    text = frr.bgpd_config(bgp_setup())
    lines = text.splitlines()
    assert f"router bgp {CUSTOMER_ASN}" in lines
    for tunnel, index in zip(bgp_setup().tunnels, (1, 2), strict=True):
        peer = str(tunnel.aws_inside_cidr.ip)
        assert f" neighbor {peer} remote-as {AWS_ASN}" in lines
        assert f" neighbor {peer} timers 10 30" in lines
        assert f"  neighbor {peer} route-map VPNW-IN-T{index} in" in lines
        assert f"  neighbor {peer} route-map VPNW-OUT-T{index} out" in lines
    # eBGP's policy requirement is met, never switched off
    assert "ebgp-requires-policy" not in text
    assert "ip prefix-list VPNW-ANNOUNCE seq 5 permit 192.0.2.0/24" in lines
    assert "  network 192.0.2.0/24" in lines
    # what this box announces never comes back in, nor the tunnels' own link-local block
    assert "ip prefix-list VPNW-LEARN seq 5 deny 192.0.2.0/24 le 32" in lines
    assert "ip prefix-list VPNW-LEARN seq 10 deny 169.254.0.0/16 le 32" in lines
    # active/active: no preference, no prepend
    assert "local-preference" not in text and "prepend" not in text


def test_active_passive_prefers_tunnel_1_both_ways() -> None:
    text = frr.bgpd_config(bgp_setup(bgp_mode="active-passive"))
    in_t1 = text.split("route-map VPNW-IN-T1 permit 10\n", 1)[1].split("exit", 1)[0]
    out_t2 = text.split("route-map VPNW-OUT-T2 permit 10\n", 1)[1].split("exit", 1)[0]
    out_t1 = text.split("route-map VPNW-OUT-T1 permit 10\n", 1)[1].split("exit", 1)[0]
    assert " set local-preference 200" in in_t1
    assert f" set as-path prepend {CUSTOMER_ASN} {CUSTOMER_ASN}" in out_t2
    assert "prepend" not in out_t1


def test_the_hold_time_from_aws_sets_both_timers() -> None:
    setup = bgp_setup()
    tunnels = tuple(replace(t, bgp=replace(t.bgp, hold_time=90))  # type: ignore[type-var]
                    for t in setup.tunnels)
    setup = replace(setup, connection=replace(setup.connection, tunnels=tunnels))
    assert " timers 30 90" in frr.bgpd_config(setup)


def test_the_daemons_block_enables_bgpd_and_keeps_the_operators_line() -> None:
    after = insert_block(DEBIAN_DAEMONS, frr.daemons_block())
    assert "\nbgpd=yes\n" in after and "#vpn-wizard-disabled: bgpd=no" in after
    assert after.replace("#vpn-wizard-disabled: bgpd=no", "bgpd=no").count("ospfd=no") == 1


# --------------------------------------------------------------------------- the plan


def _plan_files(setup: object, files: dict[str, str] | None = None):
    return build_plan(setup, (files or {}).get)  # type: ignore[arg-type]


def test_a_bgp_plan_runs_frr_after_strongswan_and_routes_nothing_itself() -> None:
    plan = _plan_files(bgp_setup(), {frr.FRR_CONF: OPERATOR_FRR_CONF,
                                      frr.DAEMONS: DEBIAN_DAEMONS})
    ids = [s.id for s in plan]
    assert ids.index("frr.bgp") == ids.index("strongswan.restart") + 1
    step = next(s for s in plan if s.id == "frr.bgp")
    assert [f.path for f in step.files] == [frr.FRR_CONF, frr.DAEMONS]
    assert step.commands == (RestartFrr(),)
    conf = step.files[0].after
    assert conf.startswith(OPERATOR_FRR_CONF)  # the operator's lines stay, byte for byte
    assert "# BEGIN vpn-wizard bgp" in conf
    assert not [op for s in plan for op in s.commands if isinstance(op, AddRoute)]


def test_a_static_plan_has_no_frr_step_and_keeps_its_routes() -> None:
    plan = _plan_files(seed_setup())
    assert "frr.bgp" not in [s.id for s in plan]
    assert [op for s in plan for op in s.commands if isinstance(op, AddRoute)]


def test_updown_with_bgp_passes_no_static_route_to_the_script() -> None:
    setup = bgp_setup(mode="updown")
    argument = ipsec.updown_argument(setup, setup.tunnels[0])
    assert " -r " not in argument and "<VPC CIDR>" not in argument
    assert not [p for p in errors(validate(setup)) if p.where == "choices.vpc_cidrs"]
    static = seed_setup(mode="updown")
    assert " -r 203.0.113.0/24" in ipsec.updown_argument(static, static.tunnels[0])


# --------------------------------------------------------------------------- validation


def _wheres(problems: list[Problem]) -> dict[str, str]:
    return {p.where: p.message for p in errors(problems)}


def test_a_valid_bgp_setup_has_no_problem() -> None:
    assert _wheres(validate(bgp_setup())) == {}


@pytest.mark.parametrize(("choices", "where", "words"), [
    ({"advertise": ()}, "choices.advertise", "at least one network"),
    ({"advertise": tuple(IPv4Network(f"10.{i // 256}.{i % 256}.0/24") for i in range(101))},
     "choices.advertise", "at most 100"),
    ({"advertise": (IPv4Network("203.0.113.0/25"),),
      "vpc_cidrs": (IPv4Network("203.0.113.0/24"),)}, "choices.advertise[0]", "VPC's"),
    ({"advertise": (IPv4Network("169.254.0.0/16"),)}, "choices.advertise[0]", "link-local"),
    ({"advertise": (IPv4Network("0.0.0.0/0"),)}, "choices.advertise[0]", "whole Internet"),
    ({"advertise": (LAN, LAN)}, "choices.advertise", "twice"),
])
def test_announced_networks_are_checked(choices: dict[str, object], where: str,
                                        words: str) -> None:
    assert words in _wheres(validate(bgp_setup(**choices)))[where]


def test_asns_and_hold_time_are_checked() -> None:
    def with_bgp(**changes: object):
        setup = bgp_setup()
        tunnels = tuple(replace(t, bgp=replace(t.bgp, **changes))  # type: ignore[type-var]
                        for t in setup.tunnels)
        return replace(setup, connection=replace(setup.connection, tunnels=tunnels))

    assert "different ASNs" in _wheres(validate(with_bgp(aws_asn=CUSTOMER_ASN)))[
        "connection.bgp_asn"]
    assert "3-65535" in _wheres(validate(with_bgp(hold_time=1)))["connection.bgp_hold_time"]
    assert "enter this box's ASN" in _wheres(validate(with_bgp(customer_asn=None)))[
        "connection.bgp_asn"]
    setup = bgp_setup()
    wrong = replace(setup.tunnels[1], bgp=replace(setup.tunnels[1].bgp,  # type: ignore[type-var]
                                                  neighbor_ip=setup.tunnels[0].aws_inside_cidr.ip))
    moved = replace(setup, connection=replace(setup.connection,
                                              tunnels=(setup.tunnels[0], wrong)))
    assert "is not AWS's inside address" in _wheres(validate(moved))["tunnels[1].bgp.neighbor_ip"]


# --------------------------------------------------------------------------- apply and undo


def _frr_root(tmp_path: Path, *, running: bool = False, installed: bool = True) -> Root:
    """A root with Debian's FRR files and the operator's static route; FRR as asked.

    `running`: FRR runs, and frr.service is enabled, before the wizard (as the Debian
    package leaves it); otherwise it is stopped and disabled.
    """
    root = seeded_root(tmp_path)
    for path, text in ((frr.FRR_CONF, OPERATOR_FRR_CONF), (frr.DAEMONS, DEBIAN_DAEMONS)):
        local = root.path(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text)
        local.chmod(0o640)
    set_kernel(root, frr={"installed": installed, "running": running})
    if running:
        set_kernel(root, systemd={"pid1": True, "units": {
            "frr.service": {"enabled": True, "active": True}}})
    return root


def test_apply_starts_and_enables_frr_and_rollback_leaves_it_as_found(tmp_path: Path) -> None:
    root = _frr_root(tmp_path)
    files_before, kernel_before = tree(tmp_path), kernel(root)
    setup = bgp_setup()
    result = apply_plan(build_plan(setup, root.read), System.real(root), fail_at="heartbeat")
    assert not result.ok
    assert tree(tmp_path) == files_before
    assert kernel(root) == kernel_before
    done = apply_plan(build_plan(setup, root.read), System.real(root))
    assert done.ok, done.error
    state = kernel(root)
    assert state["systemd"]["units"]["frr.service"] == {"enabled": True, "active": True}
    conf = root.read(frr.FRR_CONF) or ""
    assert conf.startswith(OPERATOR_FRR_CONF) and f"router bgp {CUSTOMER_ASN}" in conf
    assert (root.path(frr.FRR_CONF).stat().st_mode & 0o777) == 0o640
    again = apply_plan(build_plan(setup, root.read), System.real(root))
    assert again.ok and not again.changed


def test_without_systemd_frr_runs_through_its_init_script_and_is_stopped_again(
    tmp_path: Path,
) -> None:
    root = _frr_root(tmp_path)
    set_kernel(root, systemd={"pid1": False, "units": {}})
    kernel_before = kernel(root)
    system = System.real(root)
    result = apply_plan(build_plan(bgp_setup(), root.read), system, fail_at="heartbeat")
    assert not result.ok
    assert "/usr/lib/frr/frrinit.sh restart" in system.log
    assert "/usr/lib/frr/frrinit.sh stop" in system.log
    assert kernel(root)["frr"] == kernel_before["frr"]


def test_frr_missing_is_said_with_the_install_command(tmp_path: Path) -> None:
    root = _frr_root(tmp_path, installed=False)
    problems = preflight(bgp_setup(), System.real(root))
    assert any("FRR is not installed" in p and "apt-get install frr" in p for p in problems)
    assert not [p for p in preflight(seed_setup(), System.real(root)) if "FRR" in p]
    before = tree(tmp_path)
    result = apply_plan(build_plan(bgp_setup(), root.read), System.real(root))
    assert not result.ok and result.failed_step == "frr.bgp"
    assert "apt-get install frr" in (result.error or "")
    assert tree(tmp_path) == before


def test_an_operators_own_bgp_router_stops_the_preflight(tmp_path: Path) -> None:
    root = _frr_root(tmp_path)
    root.path(frr.FRR_CONF).write_text(OPERATOR_FRR_CONF + "router bgp 65100\n neighbor "
                                       "192.0.2.9 remote-as 65200\nexit\n")
    problems = preflight(bgp_setup(), System.real(root))
    assert any("'router bgp 65100'" in p and "one BGP router per VRF" in p for p in problems)


@pytest.mark.parametrize("running", [True, False], ids=["frr-was-running", "frr-was-stopped"])
def test_uninstall_takes_out_both_blocks_and_leaves_frr_as_found(
    tmp_path: Path, running: bool,
) -> None:
    root = _frr_root(tmp_path, running=running)
    files_before, kernel_before = tree(tmp_path), kernel(root)
    setup = bgp_setup()
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    assert kernel(root)["systemd"]["units"]["frr.service"] == {"enabled": True,
                                                              "active": True}
    system = System.real(root)
    plan = build_uninstall_plan(setup, system.files.state, baseline(root), root)
    daemons = next(s for s in plan if s.id == "uninstall.daemons")
    assert ReloadFrr(stop=not running, disable=not running) in daemons.commands
    assert apply_plan(plan, system).ok
    assert root.read(frr.FRR_CONF) == OPERATOR_FRR_CONF
    assert root.read(frr.DAEMONS) == DEBIAN_DAEMONS
    assert kernel(root)["systemd"] == kernel_before["systemd"]

    def etc(files: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in files.items() if k.startswith("etc/")}

    assert etc(tree(tmp_path)) == etc(files_before)  # every /etc file byte for byte, mode too
    expected = ("systemctl restart frr.service" if running
                else "systemctl disable --now frr.service")
    assert expected in system.log


def test_uninstall_says_so_when_write_memory_took_the_markers(tmp_path: Path) -> None:
    root = _frr_root(tmp_path, running=True)
    setup = bgp_setup()
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    text = root.read(frr.FRR_CONF) or ""
    root.path(frr.FRR_CONF).write_text(
        "\n".join(line for line in text.splitlines() if "vpn-wizard" not in line
                  or "description" in line) + "\n")
    system = System.real(root)
    plan = build_uninstall_plan(setup, system.files.state, baseline(root), root)
    daemons = next(s for s in plan if s.id == "uninstall.daemons")
    assert "'write memory'" in daemons.why and f"router bgp {CUSTOMER_ASN}" in daemons.why


def test_the_plan_document_says_bgp_and_a_static_ones_is_unchanged() -> None:
    from wizard.plan_json import plan_document

    setup = bgp_setup(bgp_mode="active-passive")
    document = plan_document(setup, build_plan(setup))
    assert document["connection"]["routing"] == "dynamic"
    assert document["connection"]["bgp"] == {
        "customer_asn": CUSTOMER_ASN, "aws_asn": AWS_ASN, "hold_time": 30,
        "neighbors": [str(t.aws_inside_cidr.ip) for t in setup.tunnels]}
    assert document["choices"]["advertise"] == [str(LAN)]
    assert document["choices"]["bgp_mode"] == "active-passive"
    static = plan_document(seed_setup(), build_plan(seed_setup()))
    assert "routing" not in static["connection"] and "advertise" not in static["choices"]


def test_after_a_reboot_bgp_comes_back_with_frr_service() -> None:
    from wizard.steps import after_reboot

    rows = {r.what: r for r in after_reboot(bgp_setup())}
    bgp = rows["BGP (FRR's bgpd, the VPC's routes)"]
    assert bgp.kept and "frr.service is enabled" in bgp.fate
    assert not any("BGP" in r.what for r in after_reboot(seed_setup()))


def test_cli_flags_choose_bgp_for_a_file_without_a_bgp_section(tmp_path: Path) -> None:
    """`--routing dynamic --bgp-asn ... --advertise ...`: the strongSwan download, planned for BGP."""
    from applykit import REPO, cli

    root = tmp_path / "root"
    root.mkdir()
    done = cli("plan", "--import", str(REPO / "examples" / "aws-strongswan-seed.txt"),
               "--routing", "dynamic", "--bgp-asn", "65010", "--advertise", "192.0.2.0/24",
               "--bgp-mode", "active-passive", "--root", str(root), "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["connection"]["bgp"]["customer_asn"] == 65010
    assert document["connection"]["bgp"]["aws_asn"] == 64512  # AWS's default, offered
    step = next(s for s in document["steps"] if s["id"] == "frr.bgp")
    assert "router bgp 65010" in step["files"][0]["content"]
    refused = cli("plan", "--import", str(REPO / "examples" / "aws-strongswan-seed.txt"),
                  "--routing", "dynamic", "--root", str(root))
    assert refused.returncode == 2
    said = " ".join((refused.stdout + refused.stderr).split())
    assert "enter this box's ASN (AWS's 'Customer Gateway ASN') (BGP ASN)" in said
    assert "name at least one network to announce to AWS" in said
