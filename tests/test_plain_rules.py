"""The booted lab's plain-prompt rules still answer every question plain mode asks.

tests/lab/plain_rules.py is what pty_driver.py answers `sudo vpn-wizard
--plain` with on the Debian 13 box, each question found by its text. A
question added to the wizard without a rule used to surface only as a stuck
driver, minutes into the boot lab. Here the same rules answer `run_plain`
(a dry run under a temporary root, no terminal, nothing booted) on a box
shaped like the lab's, and any question they do not answer fails at once.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

import pytest
from applykit import set_kernel
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent / "lab"))

import bootimage
import wizard_lab
from peer import seed_tunnels
from plain_rules import plain_spec

from wizard.commands.plain import Prompter, run_plain
from wizard.questions import Option
from wizard.system.host import HostFacts
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

DEBIAN13 = HostFacts(
    is_root=True, strongswan_version="6.0.1", swanctl=True, charon_systemd=True,
    tools={"ip": "/usr/sbin/ip", "iptables": "/usr/sbin/iptables", "sysctl": "/usr/sbin/sysctl"},
    vti="module", distribution="Debian GNU/Linux 13 (trixie)",
    distribution_id=("debian",), os_release=True, systemd=True, netplan=True, networkd=True,
)
BOX_INTERFACES = (
    HostInterface(bootimage.BOX_WAN_IF, (IPv4Interface(f"{wizard_lab.CGW_WAN_IP}/24"),), "up",
                  True),
    HostInterface(bootimage.BOX_LAN_IF, (IPv4Interface(f"{bootimage.BOX_LAN_IP}/24"),), "up",
                  False),
)


class RulesPrompter(Prompter):
    """Answers as pty_driver.py does: the first rule whose text the question contains."""

    def __init__(self, rules: Sequence[dict[str, Any]], aws_file: str) -> None:
        self.rules = rules
        self.aws_file = aws_file
        self.asked: list[str] = []

    def _action(self, message: str) -> dict[str, Any]:
        self.asked.append(message)
        for rule in self.rules:
            if rule["question"] in message:
                return dict(rule["action"])
        raise AssertionError(f"no rule of tests/lab/plain_rules.py answers: {message!r}")

    def path(self, message: str, validate: Callable[[str], bool | str]) -> str:
        assert "type" in self._action(message)
        # The box's path is the rule's; here the same document at the repository's.
        assert validate(self.aws_file) is True, validate(self.aws_file)
        return self.aws_file

    def text(self, question_id: str, message: str, default: str,
             validate: Callable[[str], bool | str], *, secret: bool = False) -> str:
        action = self._action(message)
        value = default if action.get("enter") else action["type"]
        assert validate(value) is True, (message, value, validate(value))
        return value

    def confirm(self, question_id: str, message: str, default: bool) -> bool:
        action = self._action(message)
        return default if action.get("enter") else action["key"] == "y"

    def select(self, question_id: str, message: str, options: Sequence[Option],
               default: str) -> str:
        action = self._action(message)
        if action.get("enter"):
            return default
        found = [o.value for o in options if action["select"] in o.label]
        assert found, f"{message!r}: no option labelled {action['select']!r} in {options}"
        return found[0]

    def multi(self, question_id: str, message: str, options: Sequence[Option],
              default: Sequence[str], validate: Callable[[list[str]], bool | str]) -> list[str]:
        action = self._action(message)
        return [o.value for o in options if any(c in o.label for c in action["check"])]


@pytest.mark.parametrize("persistence", ["networkd"])
def test_the_rules_answer_every_question_of_plain_mode(tmp_path: Path, persistence: str) -> None:
    spec = plain_spec(bootimage.DEBIAN13, persistence, aws_file="/root/vpn-lab.txt",
                      vpc_cidr="203.0.113.0/24", go_ahead="/run/go")
    aws_file = tmp_path / "vpn-lab.txt"  # the document the box gets, at the lab's addresses
    aws_file.write_text(wizard_lab.lab_aws_file(seed_tunnels()))
    prompter = RulesPrompter(spec["rules"], str(aws_file))
    out = io.StringIO()
    root = tmp_path / "root"
    # The simulated kernel under the root has the box's LAN interface too.
    set_kernel(Root(root), links={bootimage.BOX_LAN_IF: {
        "kind": None, "up": True, "mtu": 1500, "vti": None, "addrs": []}})
    args = argparse.Namespace(import_path=None, answers=None, root=str(root), dry_run=True)
    code = run_plain(args, prompter=prompter, console=Console(file=out, width=120),
                     host=lambda: DEBIAN13, interfaces=lambda: list(BOX_INTERFACES))
    assert code == 0, out.getvalue()
    # The answers reached the plan the lab expects: the persona's backend and persistence.
    text = out.getvalue()
    assert "swanctl" in text and "60-vpn-wizard-Tunnel1.netdev" in text, text
    assert any("steps now?" in m for m in prompter.asked), prompter.asked
