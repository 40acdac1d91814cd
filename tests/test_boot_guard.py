"""The boot guard: an apply left unconfirmed by a power loss is rolled back at the next boot.

The revert timer is a process and dies with the power; the guard is a unit
that runs early at boot (`vpn-wizard boot-guard`). Here the "power loss" is
the timer stopped before it could act, and "the next boot" is the guard run
with a boot time after the transaction began; the booted proof is
tests/lab/test_boot_lab.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from applykit import answers_text, seeded_root, tree

from wizard import boot_guard
from wizard.apply import apply_plan, confirm
from wizard.engine.journal import Journal, unfinished
from wizard.inputs import load
from wizard.plan import build_plan
from wizard.render import boot_guard as render
from wizard.system import System, boot
from wizard.system.paths import Root
from wizard.system.revert_process import stop


def _pending(base: Path) -> tuple[Root, Journal, dict[str, object]]:
    """A root with an apply waiting for confirmation, its revert timer gone (power lost)."""
    root = seeded_root(base)
    before = tree(base)
    answers = base.parent / f"{base.name}-answers.toml"
    answers.write_text(answers_text())
    setup = load(None, answers, root).setup
    system = System.real(root)
    try:
        result = apply_plan(build_plan(setup, root.read), system, confirm_timeout=600)
    finally:
        system.close()
    assert result.ok and result.changed, result.error
    journal = Journal(root, result.transaction or "")
    assert journal.state == "pending-confirm"
    timer = next(r for r in journal.records() if r.get("type") == "timer")
    stop(int(timer["pid"]), journal.id)
    return root, journal, before


def test_an_unconfirmed_apply_from_an_earlier_boot_is_rolled_back(tmp_path: Path) -> None:
    base = tmp_path / "box"
    base.mkdir()
    root, journal, before = _pending(base)
    assert tree(base) != before
    status, message = boot_guard.run(root, now_boot=time.time() + 1)
    assert status == 0, message
    assert "rolled back" in message
    assert journal.state == "rolled-back"
    assert tree(base) == before
    assert unfinished(root) is None


def test_a_transaction_of_this_boot_is_left_to_its_wizard(tmp_path: Path) -> None:
    """Started by hand while a wizard waits for `confirm`, the guard changes nothing."""
    base = tmp_path / "box"
    base.mkdir()
    root, journal, _ = _pending(base)
    applied = tree(base)
    began = float(journal.begin_record()["time"])
    status, message = boot_guard.run(root, now_boot=began - 60)
    assert status == 0
    assert "left to its revert timer" in message
    assert journal.state == "pending-confirm"
    assert tree(base) == applied
    kept, _ = confirm(System.real(root), journal.id)
    assert kept


def test_nothing_pending_means_the_guard_removes_itself(tmp_path: Path) -> None:
    root = Root(tmp_path)
    boot.arm(root, render.UNIT, render.WANTS_LINK, render.unit("/usr/local/sbin/vpn-wizard"))
    assert boot.armed(root, render.UNIT, render.WANTS_LINK)
    link = tmp_path / render.WANTS_LINK.lstrip("/")
    assert link.is_symlink() and str(link.readlink()) == render.UNIT
    unit = root.path(render.UNIT).read_text()
    assert "ExecStart=/usr/local/sbin/vpn-wizard boot-guard\n" in unit
    status, _ = boot_guard.run(root, now_boot=time.time())
    assert status == 0
    assert not boot.armed(root, render.UNIT, render.WANTS_LINK)
    assert not root.path(render.UNIT).exists() and not link.is_symlink()
    assert not root.path("/etc/systemd/system/sysinit.target.wants").exists()


def test_the_unit_runs_before_everything_that_reads_the_applied_files() -> None:
    text = render.unit("/usr/local/sbin/vpn-wizard")
    before = next(line for line in text.splitlines() if line.startswith("Before="))
    for unit in ("network-pre.target", "networking.service", "systemd-networkd.service",
                 "strongswan.service", "strongswan-starter.service", "rc-local.service",
                 "vpn-wizard-heartbeat.service", "vpn-wizard-iptables.service"):
        assert unit in before.split("=", 1)[1].split()
    assert "DefaultDependencies=no" in text
    assert "After=local-fs.target systemd-sysctl.service" in text


def test_arming_is_only_for_a_real_box_under_systemd(tmp_path: Path) -> None:
    """A --root tree, a dry run or a box without systemd gets no guard unit."""
    system = System.real(Root(tmp_path))
    assert not boot.can_arm(system)
    assert not boot.can_arm(System.recording(Root(tmp_path)))


def test_units_unpack_the_zipapp_on_tmpfs() -> None:
    """A power loss soon after the first run left truncated modules in /root/.shiv (boot lab)."""
    from seed_setup import seed_setup

    from wizard.render import heartbeat

    for text in (render.unit("/usr/local/sbin/vpn-wizard"),
                 heartbeat.unit(seed_setup(), "/usr/local/sbin/vpn-wizard")):
        assert f"Environment=SHIV_ROOT={render.ZIPAPP_CACHE}\n" in text
    assert render.ZIPAPP_CACHE.startswith("/run/")
