"""`surely_absent` against the real `iptables -S`: a rule the wizard adds is never ruled out.

`CommandIptables.surely_absent` spares an apply one `iptables -C` per rule by
listing the table once and comparing the rules the way the status panel does
(`iptables_status.normalise`, issue 13). Were a rule printed in a form the
comparison misses, a rule already on the box would be appended a second time
(and the panel would call it missing). So every rule the plans add is
appended, in a network namespace of its own (nothing on this host's tables
changes), and the real listing must hold it; on the empty table it must not.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence

import pytest
from seed_setup import seed_setup

from wizard.operations import AddIptablesRule
from wizard.plan import build_plan
from wizard.system import iptables
from wizard.system.iptables_status import normalise, parse_rules
from wizard.system.paths import Root

needs_namespace = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("iptables"),
    reason="needs root, unshare and iptables (a private network namespace)",
)


def _rules() -> list[AddIptablesRule]:
    found: dict[AddIptablesRule, None] = {}
    for setup in (seed_setup(), seed_setup(mtu=1400), seed_setup(mode="updown")):
        for step in build_plan(setup, Root("/nonexistent-root").read):
            for op in step.commands:
                if isinstance(op, AddIptablesRule):
                    found[op] = None
    return list(found)


def _listing_after(rules: list[AddIptablesRule]) -> dict[str, list[str]]:
    """Each table's `iptables -S` in a new namespace, after appending `rules` there."""
    script = "set -e\n" + "".join(
        shlex.join(["iptables", "-w", "-t", r.table, "-A", r.chain, *r.rule]) + "\n"
        for r in rules)
    tables = sorted({r.table for r in _rules()})
    script += "".join(f"echo '## {t}'; iptables -w -t {t} -S\n" for t in tables)
    out = subprocess.run(["unshare", "--net", "sh", "-c", script], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    listing: dict[str, list[str]] = {}
    table = ""
    for line in out.splitlines():
        if line.startswith("## "):
            table = line[3:]
            listing[table] = []
        else:
            listing[table].append(line)
    return listing


@needs_namespace
def test_every_rule_the_wizard_adds_is_found_in_the_real_listing() -> None:
    rules = _rules()
    assert rules, "the plans add no iptables rule: nothing would be proven"
    empty = _listing_after([])
    for rule in rules:
        assert normalise(rule.chain, rule.rule) not in parse_rules(empty[rule.table]), rule
    listing = _listing_after(rules)
    for rule in rules:
        assert normalise(rule.chain, rule.rule) in parse_rules(listing[rule.table]), (
            rule, listing[rule.table])


def test_one_listing_per_table_and_the_rules_appended_since_go_to_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[list[str]] = []
    listing = "-P INPUT ACCEPT\n-A INPUT -s 198.51.100.1/32 -p esp -j MARK --set-xmark 0x64/0xffffffff\n"

    def run(argv: Sequence[str], log: list[str], *, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        return subprocess.CompletedProcess(list(argv), 0, listing if "-S" in argv else "", "")

    monkeypatch.setattr(iptables, "run_argv", run)
    ipt = iptables.CommandIptables([])
    first = ["-p", "esp", "-s", "198.51.100.1", "-j", "MARK", "--set-xmark", "100"]
    second = ["-p", "esp", "-s", "198.51.100.2", "-j", "MARK", "--set-xmark", "200"]
    clamp = ["-o", "Tunnel1", "-j", "TCPMSS", "--clamp-mss-to-pmtu"]
    assert not ipt.surely_absent("mangle", "INPUT", first)  # listed: -C decides
    assert ipt.surely_absent("mangle", "INPUT", second)
    assert ipt.surely_absent("mangle", "FORWARD", clamp)
    assert [a for a in ran if "-S" in a] == [["iptables", "-w", "-t", "mangle", "-S"]]
    ipt.append("mangle", "INPUT", second)
    assert not ipt.surely_absent("mangle", "INPUT", second)  # ours now: -C decides again
    assert ipt.surely_absent("mangle", "FORWARD", clamp)
    assert len([a for a in ran if "-S" in a]) == 1


def test_a_listing_that_fails_rules_nothing_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(argv: Sequence[str], log: list[str], *, check: bool = True,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(argv), 3, "", "iptables: permission denied")

    monkeypatch.setattr(iptables, "run_argv", run)
    assert not iptables.CommandIptables([]).surely_absent("mangle", "INPUT", ["-j", "MARK"])
