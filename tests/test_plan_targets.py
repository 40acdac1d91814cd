"""The plan for today's targets (swanctl, netplan, networkd), applied on the simulated kernel.

tests/test_plan.py fixes the document's own plan (stroke + seed); these fix
what `backend` and `persistence` change, and prove the engine can apply, re-run,
roll back at every action and uninstall the new steps as it does the old ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from applykit import kernel, seeded_root, set_kernel, tree
from seed_setup import SEED_PSKS, seed_setup

from wizard.apply import apply_plan, fault_points
from wizard.model import Setup
from wizard.operations import (
    AddIptablesRule,
    AddPeerAddress,
    AddRoute,
    AddVtiLink,
    LoadSwanctl,
    SetLinkUp,
    SetSysctl,
)
from wizard.plan import build_plan, commands
from wizard.render import ipsec, modern, swanctl
from wizard.system import System
from wizard.system.paths import Root
from wizard.uninstall import uninstall


def _ids(setup: Setup) -> list[str]:
    return [step.id for step in build_plan(setup)]


def test_stroke_seed_plan_is_the_documents() -> None:
    """The default choices still give the document's step list (test_plan has the order)."""
    ids = _ids(seed_setup())
    assert "strongswan.restart" in ids and "persistence" in ids
    assert not any(i.startswith(("swanctl.", "persistence.")) for i in ids)


def test_swanctl_netplan_manual_plan() -> None:
    assert _ids(seed_setup(backend="swanctl", persistence="netplan")) == [
        "forwarding", "swanctl.conf", "swanctl.secrets",
        "tunnel1.interface", "tunnel1.route", "tunnel1.iptables", "tunnel1.sysctl",
        "tunnel2.interface", "tunnel2.route", "tunnel2.iptables", "tunnel2.sysctl",
        "interfaces.sysctl", "strongswan.install-routes",
        "persistence.sysctl", "persistence.netplan", "persistence.iptables",
        "swanctl.load", "heartbeat",
    ]


def test_stroke_networkd_keeps_the_documents_conn_steps() -> None:
    ids = _ids(seed_setup(persistence="networkd"))
    assert ids[:4] == ["forwarding", "ipsec.config-setup", "tunnel1.conn", "tunnel1.secrets"]
    assert ids[-5:] == ["persistence.sysctl", "persistence.networkd", "persistence.iptables",
                        "strongswan.restart", "heartbeat"]
    assert "persistence" not in ids


def test_updown_with_modern_persistence_writes_only_sysctl_d() -> None:
    plan = build_plan(seed_setup(mode="updown", backend="swanctl", persistence="netplan"))
    ids = [s.id for s in plan]
    assert [i for i in ids if i.startswith("persistence")] == ["persistence.sysctl"]
    conf = plan.final_files()[swanctl.SWANCTL_CONF].after
    assert 'updown = "/etc/ipsec.d/aws-updown.sh -ln Tunnel2 ' in conf
    assert "updown-persistence" in {n.id for n in plan.step("persistence.sysctl").notes}


def test_runtime_commands_do_not_depend_on_persistence() -> None:
    """Persistence files only take effect at boot: what runs now is manual mode's."""
    kernel_ops = (AddIptablesRule, AddPeerAddress, AddRoute, AddVtiLink, SetLinkUp, SetSysctl)

    def runtime(setup: Setup) -> list[Any]:
        return [op for op in commands(build_plan(setup)) if isinstance(op, kernel_ops)]

    seed = runtime(seed_setup())
    assert len(seed) == 1 + 2 * (3 + 1 + 2 + 2) + 2  # forwarding, 2 x #2-#4, WAN switches
    for backend in ("stroke", "swanctl"):
        for persistence in ("netplan", "networkd", "none"):
            assert runtime(seed_setup(backend=backend, persistence=persistence)) == seed
    for persistence in ("netplan", "networkd"):
        argvs = [" ".join(op.argv) for op in commands(build_plan(
            seed_setup(persistence=persistence)))]
        assert not any(word in a for a in argvs for word in ("netplan", "networkctl"))


def test_modern_persistence_leaves_sysctl_conf_and_ifupdown_alone() -> None:
    files = build_plan(seed_setup(persistence="netplan")).final_files()
    assert "/etc/sysctl.conf" not in files and "/etc/network/interfaces" not in files
    assert "/etc/rc.local" not in files
    assert files[modern.NETPLAN].mode == 0o600
    assert files[modern.SYSCTL_D].mode == 0o644
    networkd = build_plan(seed_setup(persistence="networkd")).final_files()
    assert "/etc/systemd/network/60-vpn-wizard-Tunnel1.netdev" in networkd
    assert not any(path.startswith("/etc/netplan") for path in networkd)


def test_swanctl_secrets_are_0600_and_masked_in_diffs() -> None:
    plan = build_plan(seed_setup(backend="swanctl"))
    secrets = plan.final_files()[swanctl.SWANCTL_SECRETS]
    assert secrets.mode == 0o600 and all(psk in secrets.after for psk in SEED_PSKS)
    conf = plan.final_files()[swanctl.SWANCTL_CONF]
    assert conf.mode == 0o644 and not any(psk in conf.after for psk in SEED_PSKS)
    diff = plan.step("swanctl.secrets").files[0].diff(plan.secrets)
    assert 'secret = "********"' in diff and not any(psk in diff for psk in SEED_PSKS)
    assert "ipsec.conf" not in " ".join(plan.final_files())


def test_charon_block_turns_off_routes_and_table_220_for_both_backends() -> None:
    for backend in ("stroke", "swanctl"):
        text = build_plan(seed_setup(backend=backend)).final_files()[ipsec.CHARON_CONF].after
        assert "    install_routes = no\n    routing_table = 0\n" in text
    operator = "charon {\n    routing_table = 220\n    install_routes = yes\n}\n"
    plan = build_plan(seed_setup(), lambda p: operator if p == ipsec.CHARON_CONF else None)
    after = plan.final_files()[ipsec.CHARON_CONF].after
    assert "#vpn-wizard-disabled: routing_table = 220" in after
    assert "#vpn-wizard-disabled: install_routes = yes" in after


def test_load_step_waits_for_both_connections() -> None:
    step = build_plan(seed_setup(backend="swanctl")).step("swanctl.load")
    (op,) = step.commands
    assert op == LoadSwanctl(("Tunnel1", "Tunnel2"))
    assert op.argv == ("swanctl", "--load-all", "--noprompt")


# --------------------------------------------------------------------------- apply (simulated)

TARGETS = {
    "swanctl-netplan": {"backend": "swanctl", "persistence": "netplan"},
    "swanctl-networkd-updown": {"backend": "swanctl", "persistence": "networkd",
                                "mode": "updown"},
    "stroke-networkd": {"backend": "stroke", "persistence": "networkd"},
}


def _apply(root: Root, choices: dict[str, Any], **kwargs: Any):
    setup = seed_setup(**choices)
    system = System.real(root)
    return apply_plan(build_plan(setup, root.read), system, **kwargs), system


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_apply_then_reapply_changes_nothing(tmp_path: Path, target: str) -> None:
    root = seeded_root(tmp_path)
    first, _ = _apply(root, TARGETS[target])
    assert first.ok and first.changed, first.error
    files, state = tree(tmp_path), kernel(root)
    if TARGETS[target]["backend"] == "swanctl":
        assert state["strongswan"]["vici_conns"] == ["Tunnel1", "Tunnel2"]
        assert (tmp_path / "etc/swanctl/conf.d/vpn-wizard-secrets.conf").stat().st_mode \
            & 0o777 == 0o600
        # The operator's ipsec.conf is not touched by the swanctl backend.
        assert "uniqueids=yes" in (tmp_path / "etc/ipsec.conf").read_text()
    second, system = _apply(root, TARGETS[target])
    assert second.ok and not second.changed and system.log == []
    assert tree(tmp_path) == files and kernel(root) == state


def _points(choices: dict[str, Any]) -> int:
    return len(fault_points(build_plan(seed_setup(**choices))))


FAULTS = [(target, index) for target in sorted(TARGETS)
          for index in range(_points(TARGETS[target]))]


@pytest.mark.parametrize(("target", "index"), FAULTS)
def test_failure_at_each_action_rolls_back_exactly(tmp_path: Path, target: str,
                                                   index: int) -> None:
    root = seeded_root(tmp_path)
    # A box whose daemon runs already (the operator's own conn loaded): undo restarts it.
    set_kernel(root, strongswan={"installed": True, "running": True, "conns": ["office"],
                                 "vici_conns": []})
    files_before, kernel_before = tree(tmp_path), kernel(root)
    result, _ = _apply(root, TARGETS[target], fail_at=str(index))
    assert not result.ok and f"injected failure at action {index}" in (result.error or "")
    assert tree(tmp_path) == files_before
    assert kernel(root) == kernel_before


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_uninstall_removes_every_new_file(tmp_path: Path, target: str) -> None:
    root = seeded_root(tmp_path)
    files_before = tree(tmp_path)
    setup = seed_setup(**TARGETS[target])
    assert apply_plan(build_plan(setup, root.read), System.real(root)).ok
    plan = build_plan(setup, root.read)
    result = uninstall(setup, plan, System.real(root))
    assert result.ok, result.error
    assert tree(tmp_path) == files_before
    state = kernel(root)
    assert "Tunnel1" not in state["links"] and state["iptables"] == {}
    if TARGETS[target]["backend"] == "swanctl":
        assert state["strongswan"]["vici_conns"] == []


def test_swanctl_absent_is_a_preflight_problem_and_a_failed_load(tmp_path: Path) -> None:
    from wizard.preflight import preflight

    root = seeded_root(tmp_path)
    set_kernel(root, strongswan={"installed": True, "swanctl": False, "running": False,
                                 "conns": []})
    setup = seed_setup(backend="swanctl")
    problems = preflight(setup, System.real(root))
    assert any("swanctl is not installed" in p for p in problems)
    before = tree(tmp_path)
    result, _ = _apply(root, {"backend": "swanctl"})
    assert not result.ok and result.failed_step == "swanctl.load"
    assert tree(tmp_path) == before


def test_dry_run_shows_the_load_and_writes_nothing(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    before = tree(tmp_path, all_files=True)
    system = System.recording(root)
    result = apply_plan(build_plan(seed_setup(backend="swanctl", persistence="netplan"),
                                   root.read), system)
    assert result.ok
    assert "swanctl --load-all --noprompt" in system.log
    assert "write /etc/netplan/60-vpn-wizard.yaml (0600)" in system.log
    assert not any("netplan apply" in line for line in system.log)
    assert tree(tmp_path, all_files=True) == before


def test_list_conns_output_is_read_by_name() -> None:
    from wizard.system.swanctl import parse_list_conns

    text = (
        "Tunnel1: IKEv1, reauthentication every 28260s\n"
        "  local:  %any\n  remote: 198.51.100.1\n"
        "  Tunnel1: TUNNEL, rekeying every 3060s\n"
        "office: IKEv1/2, no reauthentication, rekeying every 14400s\n"
    )
    assert parse_list_conns(text) == {"Tunnel1", "office"}
