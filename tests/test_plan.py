"""The plan as data: order, modes, diffs against a root, the JSON contract, masking."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from seed_setup import SEED_PSKS, seed_setup

from wizard.plan import build_plan, commands
from wizard.plan_json import plan_document
from wizard.system.paths import Root

ROOT_DIR = Path(__file__).resolve().parents[1]


def test_manual_plan_follows_the_documents_order() -> None:
    ids = [step.id for step in build_plan(seed_setup())]
    assert ids == [
        "forwarding", "ipsec.config-setup",
        "tunnel1.conn", "tunnel1.secrets", "tunnel1.interface", "tunnel1.route",
        "tunnel1.iptables", "tunnel1.sysctl",
        "tunnel2.conn", "tunnel2.secrets", "tunnel2.interface", "tunnel2.route",
        "tunnel2.iptables", "tunnel2.sysctl",
        "interfaces.sysctl", "strongswan.install-routes", "persistence",
        "strongswan.restart", "heartbeat",
    ]


def test_updown_plan_replaces_steps_2_to_5_with_the_script() -> None:
    plan = build_plan(seed_setup(mode="updown"))
    ids = [step.id for step in plan]
    assert "updown.script" in ids
    assert not any(i.endswith((".interface", ".route", ".iptables", ".sysctl")) and
                   i.startswith("tunnel") for i in ids)
    assert "persistence" not in ids
    script = plan.step("updown.script").files[0]
    assert (script.path, script.mode) == ("/etc/ipsec.d/aws-updown.sh", 0o744)
    conf = plan.final_files()["/etc/ipsec.conf"].after
    assert 'leftupdown="/etc/ipsec.d/aws-updown.sh -ln Tunnel2 ' in conf


def test_optional_steps_follow_the_choices() -> None:
    ids = [s.id for s in build_plan(seed_setup(heartbeat=False, enable_forwarding=False,
                                               persistence="none", vpc_cidrs=()))]
    for absent in ("heartbeat", "forwarding", "persistence", "tunnel1.route"):
        assert absent not in ids


def test_secrets_file_is_0600_and_holds_both_keys() -> None:
    plan = build_plan(seed_setup())
    secrets = plan.final_files()["/etc/ipsec.secrets"]
    assert secrets.mode == 0o600
    assert all(psk in secrets.after for psk in SEED_PSKS)


def test_plan_diffs_against_the_files_under_root(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "sysctl.conf").write_text("#net.ipv4.ip_forward=1\nvm.swappiness=10\n")
    plan = build_plan(seed_setup(), Root(tmp_path).read)
    change = plan.step("forwarding").files[0]
    assert change.before == "#net.ipv4.ip_forward=1\nvm.swappiness=10\n"
    assert change.after.startswith("#net.ipv4.ip_forward=1\nvm.swappiness=10\n")
    diff = change.diff()
    assert "+net.ipv4.ip_forward = 1" in diff and "-vm.swappiness" not in diff


def test_rebuilding_over_its_own_output_changes_nothing(tmp_path: Path) -> None:
    root = Root(tmp_path)
    for path, change in build_plan(seed_setup()).final_files().items():
        target = root.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(change.after)
    again = build_plan(seed_setup(), root.read)
    assert not any(c.changed for c in again.final_files().values())


def test_diffs_mask_the_keys() -> None:
    plan = build_plan(seed_setup())
    diff = plan.step("tunnel1.secrets").files[0].diff(plan.secrets)
    assert 'PSK "********"' in diff and SEED_PSKS[0] not in diff


def test_json_contract() -> None:
    setup = seed_setup()
    doc = json.loads(json.dumps(plan_document(setup, build_plan(setup))))
    tunnel = doc["tunnels"][0]
    assert tunnel == tunnel | {
        "name": "Tunnel1", "customer_outside_ip": "62.81.252.34",
        "aws_outside_ip": "52.50.67.155", "customer_inside_cidr": "169.254.23.6/30",
        "aws_inside_cidr": "169.254.23.5/30", "mark": 100, "psk": "********",
    }
    step = next(s for s in doc["steps"] if s["id"] == "tunnel1.interface")
    assert step["commands"][0] == ["ip", "link", "add", "Tunnel1", "type", "vti", "local",
                                   "62.81.252.34", "remote", "52.50.67.155", "key", "100"]
    files = next(s for s in doc["steps"] if s["id"] == "tunnel1.secrets")["files"]
    assert files[0]["path"] == "/etc/ipsec.secrets" and files[0]["mode"] == "0600"
    assert not any(psk in json.dumps(doc) for psk in SEED_PSKS)
    revealed = json.dumps(plan_document(setup, build_plan(setup), show_secrets=True))
    assert SEED_PSKS[0] in revealed


def test_commands_are_argv_lists_without_secrets() -> None:
    for op in commands(build_plan(seed_setup(mode="manual"))):
        assert all(isinstance(a, str) for a in op.argv)
        assert not any(psk in " ".join(op.argv) for psk in SEED_PSKS)


def test_core_imports_without_textual() -> None:
    code = (
        "import sys, wizard.cli, wizard.plan, wizard.preview, wizard.plan_json, wizard.inputs\n"
        "import wizard.model, wizard.operations, wizard.render.updown\n"
        "assert 'textual' not in sys.modules, sorted(m for m in sys.modules if 'textual' in m)\n"
        "print('clean')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT_DIR, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"


def test_core_never_imports_textual_in_source() -> None:
    offenders = [
        str(p) for p in (ROOT_DIR / "wizard").rglob("*.py")
        if any(line.lstrip().startswith(("import textual", "from textual"))
               for line in p.read_text().splitlines())
    ]
    assert offenders == []
