"""Preflight facts and checks (wizard.system.host) and the interface list (wizard.system.interfaces)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface

from screens_support import BROKEN_HOST, CANNED_HOST

from wizard.system import host, interfaces
from wizard.system.interfaces import HostInterface


def by_id(checks: list[host.Check]) -> dict[str, host.Check]:
    return {c.id: c for c in checks}


def test_strongswan_versions_are_read_from_both_commands() -> None:
    assert host.parse_strongswan_version("Linux strongSwan U5.9.8/K6.1.0-18-amd64\n") == "5.9.8"
    assert host.parse_strongswan_version("strongSwan swanctl 5.5.1\n") == "5.5.1"
    assert host.parse_strongswan_version("command not found") is None


def test_a_ready_host_passes_and_blocks_nothing() -> None:
    checks = host.preflight(CANNED_HOST, dry_run=False)
    assert {c.status for c in checks} == {"pass"}
    assert host.blocking(checks) == []


def test_each_failure_says_how_to_fix_it_and_blocks_apply() -> None:
    checks = by_id(host.preflight(BROKEN_HOST, dry_run=False))
    assert checks["root"].status == "fail" and "sudo" in checks["root"].fix
    assert checks["strongswan"].status == "warn"  # 5.3.5 < 5.5.1, as the seed warns
    assert "5.5.1" in checks["strongswan"].detail
    assert checks["tool.iptables"].fix == "sudo apt install iptables"
    assert checks["vti"].status == "fail" and "linux-modules-extra" in checks["vti"].fix
    assert {c.id for c in host.blocking(list(checks.values()))} == {
        "root", "tool.iptables", "vti"}


def test_a_dry_run_blocks_nothing() -> None:
    checks = host.preflight(BROKEN_HOST, dry_run=True)
    assert host.blocking(checks) == []
    assert by_id(checks)["root"].status == "pass"  # root is not needed to record


def test_missing_strongswan_names_the_package_of_the_distribution() -> None:
    debian = replace(CANNED_HOST, strongswan_version=None)
    fedora = replace(debian, distribution="Fedora Linux 40", distribution_id=("fedora",))
    assert by_id(host.preflight(debian, dry_run=False))["strongswan"].fix == (
        "sudo apt install strongswan-starter")
    assert by_id(host.preflight(fedora, dry_run=False))["strongswan"].fix == (
        "sudo dnf install strongswan")


def test_probe_only_reads(monkeypatch) -> None:
    """The probe runs nothing but version queries."""
    ran: list[list[str]] = []

    def fake_run(argv: list[str]) -> str:
        ran.append(argv)
        return "Linux strongSwan U5.9.8/K6.1.0"

    facts = host.probe(run=fake_run)
    assert all(argv[1] == "--version" for argv in ran)
    assert isinstance(facts.is_root, bool)


def test_interfaces_list_default_route_first() -> None:
    found = interfaces.ordered([
        HostInterface("wlan0"),
        HostInterface("eth1", (IPv4Interface("10.0.0.1/24"),)),
        HostInterface("ens5", (IPv4Interface("192.0.2.7/24"),), "up", True),
    ])
    assert [i.name for i in found] == ["ens5", "eth1", "wlan0"]
    assert interfaces.default_interface(found) is found[0]
    assert interfaces.holding(found, IPv4Address("10.0.0.1")) is found[1]
    assert interfaces.holding(found, IPv4Address("198.51.100.1")) is None


def test_list_interfaces_reads_netlink() -> None:
    """On this machine: no loopback, and at most one default-route interface listed first."""
    found = interfaces.list_interfaces()
    assert all(not i.loopback and i.name != "lo" for i in found)
    defaults = [i for i in found if i.has_default_route]
    if defaults:
        assert found[0].has_default_route


def test_the_core_does_not_import_textual() -> None:
    code = ("import sys, wizard.questions, wizard.commands.plain, wizard.system.host, "
            "wizard.system.interfaces; print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
