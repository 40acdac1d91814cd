"""Uninstall as a plan: from the applied manifest, previewed, asked, and the preview is what it does.

A box the wizard configured (applied with `--no-confirm`, so the manifest is
kept) is uninstalled with no arguments; what the preview lists (every file it
changes, every command) is compared with what the recording system logs when
the same plan runs, line for line.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from applykit import answers_text, cli, kernel, seeded_root, set_kernel, tree
from seed_setup import SEED_PSKS, seed_setup

from wizard.apply import apply_plan
from wizard.manifest import MANIFEST_PATH, load_manifest
from wizard.operations import RemoveDir
from wizard.plan import build_plan
from wizard.plan_types import FileRemoval, Plan
from wizard.system import System
from wizard.system.paths import Root
from wizard.uninstall import target_from, uninstall_plan_for


def _configured(base: Path, mode: str = "manual", **choices: object) -> tuple[Root, Path, object]:
    """A seeded root the wizard configured through the CLI, and its before-state."""
    root = seeded_root(base / "root")
    set_kernel(root, strongswan={"running": True, "conns": ["office"]})
    before = (tree(root.root), kernel(root))
    answers = base / "answers.toml"
    answers.write_text(answers_text(mode, **choices))
    done = cli("apply", "--no-confirm", "--answers", str(answers), "--root", str(root.root))
    assert done.returncode == 0, done.stderr
    assert root.path(MANIFEST_PATH).exists()
    return root, answers, before


def previewed(plan: Plan) -> list[str]:
    """What the preview shows will change, as the lines a recording system logs.

    Files: a diff that ends in an empty, removed file is "rm", any other diff a
    write with the mode the preview shows. Commands: the preview's own lines.
    """
    lines: list[str] = []
    for step in plan:
        for change in step.files:
            assert isinstance(change, FileRemoval)
            if not change.changed:
                continue
            lines.append(f"rm {change.path}" if change.removed
                         else f"write {change.path} ({change.mode:04o})")
        lines += [shlex.join(op.argv) for op in step.commands]
    return lines


@pytest.mark.parametrize(("mode", "choices"), [
    ("manual", {}),
    ("updown", {}),
    ("manual", {"persistence": "networkd"}),
])
def test_the_preview_is_what_the_uninstall_does(
    tmp_path: Path, mode: str, choices: dict[str, object]
) -> None:
    root, _, _ = _configured(tmp_path, mode, **choices)
    setup, command, manifest = target_from(root.read)
    assert manifest is not None and manifest.setup.choices.mode == mode
    system = System.recording(root)
    plan = uninstall_plan_for(system, setup, command)
    assert plan.kind == "uninstall"
    lines = previewed(plan)
    assert f"rm {MANIFEST_PATH}" in lines and "ipsec restart" in lines
    # In updown mode the tunnels' interfaces and rules come and go with the tunnels (the
    # updown script; never run on this simulated kernel): there is none to remove, and the
    # preview does not pretend there is.
    made = mode == "manual"
    assert ("ip link del Tunnel1" in lines) is made
    assert any(line.startswith("iptables -t mangle -D") for line in lines) is made
    result = apply_plan(plan, system)
    assert result.ok, result.error
    assert system.log == lines
    assert not any(isinstance(op, RemoveDir) for s in plan for op in s.commands) or any(
        line.startswith("rmdir ") for line in system.log)


def test_uninstall_with_no_arguments_removes_everything_and_the_manifest(tmp_path: Path) -> None:
    root, _, (files_before, kernel_before) = _configured(tmp_path, "updown")
    done = cli("uninstall", "--yes", "--root", str(root.root))
    assert done.returncode == 0, done.stderr
    assert "Removed what the wizard had added." in done.stdout
    assert "Nothing has been removed yet: this is a preview." in done.stdout
    assert "rm /var/lib/vpn-wizard/applied.json" not in done.stdout  # the preview is diffs
    for psk in SEED_PSKS:
        assert psk not in done.stdout + done.stderr
    assert not root.path(MANIFEST_PATH).exists()
    assert tree(root.root) == files_before  # the operator's lines byte for byte, nothing left
    after = kernel(root)
    for part in ("links", "routes", "iptables", "sysctl", "systemd", "strongswan"):
        assert after[part] == kernel_before[part], part
    again = cli("uninstall", "--yes", "--root", str(root.root))
    assert again.returncode == 2 and "no applied manifest" in again.stderr
    assert "--import FILE and/or --answers FILE" in again.stderr


def test_without_a_terminal_and_without_yes_it_refuses_and_changes_nothing(
    tmp_path: Path
) -> None:
    root, _, _ = _configured(tmp_path)
    configured = (tree(root.root, all_files=True), kernel(root))
    done = cli("uninstall", "--root", str(root.root))
    assert done.returncode == 2
    assert "uninstall asks before it removes anything" in done.stderr
    assert "pass --yes" in done.stderr and "Nothing was changed." in done.stderr
    assert "ipsec.conf" in done.stdout  # it showed what it would remove first
    assert (tree(root.root, all_files=True), kernel(root)) == configured


def test_the_answers_still_name_the_setup_when_the_manifest_is_gone(tmp_path: Path) -> None:
    root, answers, (files_before, _) = _configured(tmp_path)
    root.path(MANIFEST_PATH).unlink()
    done = cli("uninstall", "--yes", "--answers", str(answers), "--root", str(root.root))
    assert done.returncode == 0, done.stderr
    assert tree(root.root) == files_before


def test_a_manifest_that_is_not_the_wizards_is_refused_with_its_path(tmp_path: Path) -> None:
    root, _, _ = _configured(tmp_path)
    root.path(MANIFEST_PATH).write_text('{"format": 9}\n')
    configured = tree(root.root, all_files=True)
    done = cli("uninstall", "--yes", "--root", str(root.root))
    assert done.returncode == 2
    assert f"{MANIFEST_PATH}: " in done.stderr and "Nothing was changed." in done.stderr
    assert "Traceback" not in done.stderr
    assert tree(root.root, all_files=True) == configured


def test_a_failed_uninstall_is_rolled_back_with_the_manifest(tmp_path: Path) -> None:
    root, _, _ = _configured(tmp_path)
    configured = (tree(root.root, all_files=True), kernel(root))
    manifest = load_manifest(root.read)
    done = cli("uninstall", "--yes", "--root", str(root.root),
               env={"VPN_WIZARD_FAIL_AT": "uninstall.daemons"})
    assert done.returncode == 1 and "The uninstall was rolled back." in done.stderr
    assert load_manifest(root.read) == manifest
    files, kernel_now = tree(root.root, all_files=True), kernel(root)
    # Routes and rules come back (appended again, so in another order); everything else exact.
    for part in ("routes",):
        assert sorted(kernel_now.pop(part)) == sorted(configured[1][part])
    chains, before_chains = kernel_now.pop("iptables"), configured[1]["iptables"]
    assert {t: {c: sorted(r) for c, r in ch.items()} for t, ch in chains.items()} == {
        t: {c: sorted(r) for c, r in ch.items()} for t, ch in before_chains.items()}
    assert kernel_now == {k: v for k, v in configured[1].items()
                          if k not in ("routes", "iptables")}
    def files_only(found: dict[str, object]) -> dict[str, object]:  # the kernel: compared above
        return {k: v for k, v in found.items()
                if "var/lib/vpn-wizard" not in k and "vpn-wizard-sim" not in k}

    assert files_only(files) == files_only(configured[0])


def test_an_apply_plan_of_the_same_setup_names_the_files_the_uninstall_touches(
    tmp_path: Path
) -> None:
    root, _, _ = _configured(tmp_path)
    setup, command, _ = target_from(root.read)
    plan = uninstall_plan_for(System.recording(root), setup, command)
    applied = build_plan(seed_setup(), root.read)
    written = {c.path for s in applied for c in s.files}
    removed = {c.path for s in plan for c in s.files}
    assert written | {MANIFEST_PATH} == removed
