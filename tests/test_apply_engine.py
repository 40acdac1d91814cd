"""The apply engine on a temporary root with the simulated kernel: no root, no host changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from applykit import OPERATOR_FILES, kernel, seeded_root, set_kernel, tree
from seed_setup import SEED_PSKS, seed_setup

from wizard.apply import StepEvent, apply_plan, fault_points
from wizard.engine.journal import Journal, locked, transactions
from wizard.manifest import MANIFEST_PATH
from wizard.plan import build_plan
from wizard.system import System
from wizard.system.paths import Root

MANUAL_POINTS = len(fault_points(build_plan(seed_setup())))
UPDOWN_POINTS = len(fault_points(build_plan(seed_setup(mode="updown"))))


def _apply(root: Root, mode: str = "manual", **kwargs: Any):
    setup = seed_setup(mode=mode)
    system = System.real(root)
    events: list[StepEvent] = []
    result = apply_plan(build_plan(setup, root.read), system, progress=events.append, **kwargs)
    return result, system, events


def test_apply_writes_blocks_and_keeps_operator_lines(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    result, _, _ = _apply(root)
    assert result.ok and result.changed and result.error is None
    conf = root.read("/etc/ipsec.conf") or ""
    assert "conn office\n\tright=192.0.2.77\n\tmark=5" in conf
    assert "#vpn-wizard-disabled: uniqueids=yes" in conf
    assert conf.count("conn Tunnel1") == 1 and conf.count("conn Tunnel2") == 1
    state = kernel(root)
    assert state["links"]["Tunnel1"]["vti"] == {
        "local": "62.81.252.34", "remote": "52.50.67.155",
        "ikey": 100, "okey": 100,
    }
    assert state["links"]["Tunnel1"]["up"] and state["links"]["Tunnel1"]["mtu"] == 1419
    assert ["203.0.113.0/24", "Tunnel2", 200] in state["routes"]
    assert state["sysctl"]["net.ipv4.ip_forward"] == "1"
    assert state["strongswan"]["running"]
    assert {"Tunnel1", "Tunnel2"} <= set(state["strongswan"]["conns"])


def test_second_apply_changes_nothing_and_says_so(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    first, _, _ = _apply(root)
    files_after_first = tree(tmp_path)
    kernel_after_first = kernel(root)
    second, system, events = _apply(root)
    assert first.changed is True
    assert second.ok and second.changed is False
    assert system.log == []
    assert {e.state for e in events} == {"running", "unchanged"}
    assert tree(tmp_path) == files_after_first
    assert kernel(root) == kernel_after_first
    rules = kernel(root)["iptables"]["mangle"]
    assert len(rules["INPUT"]) == 2 and len(rules["FORWARD"]) == 2


def test_block_reinserted_into_file_as_it_is_at_apply_time(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    setup = seed_setup()
    plan = build_plan(setup, root.read)
    # The operator edits the file between preview and apply.
    path = tmp_path / "etc/sysctl.conf"
    path.write_text(path.read_text() + "kernel.panic=10\n")
    assert apply_plan(plan, System.real(root)).ok
    text = path.read_text()
    assert "kernel.panic=10\n" in text and "net.ipv4.ip_forward = 1" in text


@pytest.mark.parametrize("index", range(MANUAL_POINTS))
def test_failure_at_each_action_rolls_back_exactly_manual(tmp_path: Path, index: int) -> None:
    root = seeded_root(tmp_path)
    files_before, kernel_before = tree(tmp_path), kernel(root)
    result, _, events = _apply(root, fail_at=str(index))
    step = fault_points(build_plan(seed_setup()))[index][1]
    assert not result.ok and result.failed_step == step
    assert result.error and f"injected failure at action {index}" in result.error
    assert tree(tmp_path) == files_before
    assert kernel(root) == kernel_before
    assert Journal(root, result.transaction or "").state == "rolled-back"
    assert StepEvent(step, "failed", result.error.split(": ", 1)[1]) in events


@pytest.mark.parametrize("index", range(UPDOWN_POINTS))
def test_failure_at_each_action_rolls_back_exactly_updown(tmp_path: Path, index: int) -> None:
    root = seeded_root(tmp_path)
    files_before, kernel_before = tree(tmp_path), kernel(root)
    result, _, _ = _apply(root, "updown", fail_at=str(index))
    assert not result.ok
    assert tree(tmp_path) == files_before
    assert kernel(root) == kernel_before


def test_failure_on_a_reapply_restores_the_first_apply(tmp_path: Path) -> None:
    """A changed setup fails halfway: the box goes back to the first apply, not to nothing."""
    root = seeded_root(tmp_path)
    assert _apply(root)[0].ok
    files_before, kernel_before = tree(tmp_path), kernel(root)
    setup = seed_setup(mtu=1400)
    plan = build_plan(setup, root.read)
    result = apply_plan(plan, System.real(root), fail_at="tunnel2.interface")
    assert not result.ok
    assert tree(tmp_path) == files_before
    assert kernel(root) == kernel_before


def test_host_failure_rolls_back_and_names_the_step(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    # Something not ours is already called Tunnel2: the real failure mode.
    state = kernel(root)
    state["links"]["Tunnel2"] = {"kind": "veth", "up": True, "mtu": 1500, "vti": None,
                                 "addrs": []}
    set_kernel(root, links=state["links"])
    files_before, kernel_before = tree(tmp_path), kernel(root)
    result, _, events = _apply(root)
    assert not result.ok and result.failed_step == "tunnel2.interface"
    assert "Tunnel2 already exists" in (result.error or "")
    assert tree(tmp_path) == files_before and kernel(root) == kernel_before
    rolled = [e.step_id for e in events if e.state == "rolled-back"]
    assert rolled[0] == "tunnel2.conn" or rolled[0] == "tunnel2.secrets"
    assert "forwarding" in rolled


def test_secrets_file_ends_0600_even_if_it_was_0644(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    (tmp_path / "etc/ipsec.secrets").chmod(0o644)
    assert _apply(root)[0].ok
    assert (tmp_path / "etc/ipsec.secrets").stat().st_mode & 0o777 == 0o600


def test_no_psk_in_log_events_or_journal_records(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    result, system, events = _apply(root, fail_at="strongswan.restart")
    assert not result.ok
    journal = Journal(root, result.transaction or "")
    for text in (
        "\n".join(system.log),
        repr(events),
        repr(result),
        journal.path.read_text(),
    ):
        for psk in SEED_PSKS:
            assert psk not in text
    # The original secrets file is kept for undo, readable by root only.
    for saved in (journal.dir / "orig").iterdir():
        assert saved.stat().st_mode & 0o777 == 0o600
    assert journal.dir.stat().st_mode & 0o777 == 0o700


def test_dry_run_writes_nothing_anywhere(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    everything_before = tree(tmp_path, all_files=True)
    system = System.recording(root)
    result = apply_plan(build_plan(seed_setup(), root.read), system)
    assert result.ok and result.changed and result.transaction is None
    assert tree(tmp_path, all_files=True) == everything_before
    assert "write /etc/ipsec.secrets (0600)" in system.log
    assert "ip link add Tunnel1 type vti local 62.81.252.34 remote 52.50.67.155 key 100" in (
        system.log
    )
    assert "iptables -t mangle -A INPUT -p esp -s 52.50.67.155 -d 62.81.252.34 -j MARK " \
        "--set-xmark 100" in system.log
    # The root's daemon is not running: it would be started (a restart is a stop, 2 s, a start).
    assert "ipsec start" in system.log


def test_dry_run_after_apply_reports_unchanged(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    assert _apply(root)[0].ok
    system = System.recording(root)
    result = apply_plan(build_plan(seed_setup(), root.read), system)
    assert result.ok and not result.changed and system.log == []


def test_journal_intent_is_written_before_each_change(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    system = System.real(root)
    seen: list[str] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self.inner, name)
            if name not in {"write", "remove", "add_vti", "delete", "set_link", "add_address",
                            "add_route", "set", "append", "restart", "start", "enable_now",
                            "daemon_reload"}:
                return attr

            def checked(*args: Any, **kwargs: Any) -> Any:
                journal = transactions(root)[-1]
                last = journal.records()[-1]
                assert last["type"] == "intent", (name, last)
                seen.append(last["what"])
                return attr(*args, **kwargs)

            return checked

    for name in ("files", "links", "sysctl", "iptables", "strongswan", "systemd"):
        setattr(system, name, Spy(getattr(system, name)))
    plan = build_plan(seed_setup(), root.read)
    assert apply_plan(plan, system).ok
    # Every action of the plan, then the applied manifest (kept at once: no confirm timeout).
    assert len(seen) == MANUAL_POINTS + 1
    assert seen == [what for _, _, what in fault_points(plan)] + [
        f"write {MANIFEST_PATH} (0600)"
    ]


def test_apply_refuses_while_another_holds_the_lock(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    before = tree(tmp_path)
    with locked(root):
        result, _, _ = _apply(root)
    assert not result.ok and "another vpn-wizard" in (result.error or "")
    assert tree(tmp_path) == before


def test_apply_refuses_while_a_transaction_is_unfinished(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    journal = Journal.begin(root, "apply")
    journal.record({"type": "intent", "index": 0, "step": "forwarding", "what": "x",
                    "undo": {"kind": "none"}})
    before = tree(tmp_path)
    result, _, _ = _apply(root)
    assert not result.ok and "vpn-wizard rollback" in (result.error or "")
    assert tree(tmp_path) == before


def test_without_systemd_the_unit_is_skipped_with_a_reason(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    set_kernel(root, systemd={"pid1": False, "units": {}})
    result, _, events = _apply(root)
    assert result.ok
    heartbeat = [e for e in events if e.step_id == "heartbeat" and e.state != "running"]
    assert heartbeat[0].state == "done"
    assert "systemd is not running" in heartbeat[0].message
    assert "vpn-wizard-heartbeat.service was not enabled" in heartbeat[0].message
    again, _, _ = _apply(root)
    assert again.ok and not again.changed


def test_strongswan_absent_fails_at_restart_and_rolls_back(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    set_kernel(root, strongswan={"installed": False, "running": False, "conns": []})
    before = tree(tmp_path)
    result, _, _ = _apply(root)
    assert not result.ok and result.failed_step == "strongswan.restart"
    assert "not installed" in (result.error or "")
    assert tree(tmp_path) == before


def test_operator_files_untouched_after_rollback_byte_for_byte(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    result, _, _ = _apply(root, fail_at="heartbeat")
    assert not result.ok
    for rel, (text, mode) in OPERATOR_FILES.items():
        path = tmp_path / rel
        assert path.read_text() == text
        assert path.stat().st_mode & 0o777 == mode


def test_journal_lists_every_change_with_its_undo(tmp_path: Path) -> None:
    root = seeded_root(tmp_path)
    result, _, _ = _apply(root)
    records = Journal(root, result.transaction or "").records()
    intents = [r for r in records if r["type"] == "intent"]
    assert len(intents) == MANUAL_POINTS + 1  # and the applied manifest, kept at once
    assert intents[-1]["undo"] == {"kind": "file", "path": MANIFEST_PATH, "existed": False,
                                   "mode": None, "uid": None, "gid": None, "saved": None,
                                   "dirs": [], "block": False}
    kinds = {r["undo"]["kind"] for r in intents}
    assert {"file", "sysctl", "link-del", "addr-del", "link-set", "route-del", "iptables-del",
            "strongswan", "daemon-reload", "unit"} == kinds
    assert records[-1]["type"] == "state" and records[-1]["state"] == "applied"
    json.dumps(records)  # plain JSON all the way down
