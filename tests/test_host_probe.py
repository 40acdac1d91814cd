"""The one host probe (wizard.system.host) on a fake root, the preflight's checks, and a leaf system/.

Nothing here reads this machine except `test_read_interfaces_reads_netlink`,
which only lists links (as the tests did before the probe was one): the probe
is driven on a directory laid out like a box's /, /proc and /sys, with the
outputs of its version queries recorded.
"""

from __future__ import annotations

import ast
import gzip
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from screens_support import BROKEN_HOST, CANNED_HOST, REPO

from wizard import preflight
from wizard.system import host, interfaces, netlink
from wizard.system.host import HostFacts, probe
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

UBUNTU_OS_RELEASE = ('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nID=ubuntu\n'
                     "ID_LIKE=debian\n")
RELEASE = "6.8.0-31-generic"
ETH0 = HostInterface("eth0", (IPv4Interface("192.0.2.10/24"),), "up", True)


def layout(base: Path, *files: str, text: dict[str, str] | None = None,
           links: dict[str, str] | None = None) -> Root:
    """A fake box under `base`: empty files, directories (trailing /), files with text, links."""
    for rel in files:
        path = base / rel.lstrip("/")
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    for rel, body in (text or {}).items():
        path = base / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    for rel, target in (links or {}).items():
        path = base / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    return Root(base)


class Recorded:
    """Answers version queries from recorded outputs and remembers what was asked."""

    def __init__(self, outputs: dict[tuple[str, ...], str]) -> None:
        self.outputs = outputs
        self.asked: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> str | None:
        self.asked.append(tuple(argv))
        return self.outputs.get(tuple(argv))


def by_id(checks: list[preflight.Check]) -> dict[str, preflight.Check]:
    return {c.id: c for c in checks}


# --------------------------------------------------------------------------- the probe


def test_probe_reads_a_whole_box_from_files_and_recorded_commands(tmp_path: Path) -> None:
    root = layout(
        tmp_path, "/usr/sbin/ipsec", "/usr/sbin/swanctl", "/usr/sbin/netplan",
        "/etc/netplan/50-cloud-init.yaml", "/run/systemd/system/", "/sbin/ifup",
        "/etc/rc.local", "/usr/sbin/ip", "/usr/sbin/sysctl", "/usr/sbin/iptables",
        "/usr/sbin/netfilter-persistent", "/sys/module/ip_vti/",
        text={"/etc/os-release": UBUNTU_OS_RELEASE, "/proc/sys/kernel/osrelease": RELEASE},
        links={"/etc/alternatives/iptables": "/usr/sbin/iptables-nft"},
    )
    run = Recorded({("ipsec", "--version"): "Linux strongSwan U5.9.13/K6.8.0-31-generic\n"})
    facts = probe(root, run=run, interfaces=lambda: [ETH0])
    assert facts == HostFacts(
        is_root=os.geteuid() == 0,
        strongswan_version="5.9.13",
        starter=True,
        swanctl=True,
        tools={"ip": "/usr/sbin/ip", "iptables": "/usr/sbin/iptables",
               "sysctl": "/usr/sbin/sysctl"},
        vti="loaded",
        distribution="Ubuntu 24.04.1 LTS",
        distribution_id=("ubuntu", "debian"),
        os_release=True,
        systemd=True,
        ifupdown=True,
        netplan=True,
        rc_local=True,
        iptables="nf_tables",
        netfilter_persistent=True,
        interfaces=(ETH0,),
        is_host=False,
    )
    assert run.asked == [("ipsec", "--version")]


def test_a_swanctl_only_box_asks_swanctl_for_its_version(tmp_path: Path) -> None:
    root = layout(tmp_path, "/usr/sbin/swanctl", "/usr/sbin/charon-systemd",
                  "/etc/systemd/network/10-eth0.network", "/run/systemd/system/")
    run = Recorded({("swanctl", "--version"): "strongSwan swanctl 6.0.1\n",
                    ("iptables", "--version"): "iptables v1.8.10 (legacy)\n"})
    facts = probe(root, run=run)
    assert (facts.starter, facts.swanctl, facts.charon_systemd) == (False, True, True)
    assert facts.strongswan_version == "6.0.1" and facts.major_version == 6
    assert facts.networkd and facts.systemd and not facts.netplan
    assert facts.iptables == "legacy"  # from `iptables --version`: no alternatives link
    assert facts.interfaces is None  # not asked for
    assert run.asked == [("swanctl", "--version"), ("iptables", "--version")]


def test_a_root_that_is_not_this_host_runs_no_command(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(argv: Sequence[str], timeout: float = 10.0) -> str | None:
        raise AssertionError(f"ran {argv} for a directory that is not this host")

    monkeypatch.setattr(host, "read_command", refuse)
    facts = probe(layout(tmp_path, "/usr/sbin/ipsec", "/usr/sbin/swanctl"))
    assert facts.starter and facts.strongswan_version is None
    assert probe(layout(tmp_path), commands=False, run=refuse).strongswan_version is None


def test_an_empty_directory_is_known_to_be_unknown(tmp_path: Path) -> None:
    facts = probe(Root(tmp_path), commands=False)
    assert not facts.os_release and facts.distribution == "" and facts.vti == "unknown"
    assert facts.tools == {"ip": None, "iptables": None, "sysctl": None}


@pytest.mark.parametrize(("config", "dep", "expected"), [
    ("CONFIG_NET_IPVTI=y\n", None, "builtin"),
    ("CONFIG_NET_IPVTI=m\n", "kernel/net/ipv4/ip_vti.ko: kernel/net/ipv4/ip_tunnel.ko\n",
     "module"),
    ("CONFIG_NET_IPVTI=m\n", "kernel/net/ipv4/ip_gre.ko:\n", "missing"),
    ("# CONFIG_NET_IPVTI is not set\n", None, "missing"),
])
def test_vti_support_from_the_kernel_config(tmp_path: Path, config: str, dep: str | None,
                                            expected: str) -> None:
    text = {"/proc/sys/kernel/osrelease": RELEASE + "\n"}
    if dep is not None:
        text[f"/lib/modules/{RELEASE}/modules.dep"] = dep
    root = layout(tmp_path, text=text)
    with gzip.open(tmp_path / "proc" / "config.gz", "wt") as fh:
        fh.write(config)
    assert probe(root, commands=False).vti == expected


def test_vti_from_boot_config_and_module_lists(tmp_path: Path) -> None:
    boot = layout(tmp_path / "a", text={"/proc/sys/kernel/osrelease": RELEASE,
                                        f"/boot/config-{RELEASE}": "CONFIG_NET_IPVTI=y\n"})
    assert probe(boot, commands=False).vti == "builtin"
    lists = layout(tmp_path / "b", text={
        "/proc/sys/kernel/osrelease": RELEASE,
        f"/lib/modules/{RELEASE}/modules.builtin": "kernel/net/ipv4/ip_vti.ko\n",
        f"/lib/modules/{RELEASE}/modules.dep": "",
    })
    assert probe(lists, commands=False).vti == "builtin"


def test_netplan_binary_without_configuration_is_not_netplan(tmp_path: Path) -> None:
    facts = probe(layout(tmp_path, "/usr/sbin/netplan", "/etc/netplan/", "/sbin/ifup"),
                  commands=False)
    assert not facts.netplan and facts.ifupdown


def test_an_interface_reader_that_fails_leaves_the_interfaces_unread(tmp_path: Path) -> None:
    def broken() -> list[HostInterface]:
        raise PermissionError("netlink refused")

    assert probe(Root(tmp_path), commands=False, interfaces=broken).interfaces is None
    later = probe(Root(tmp_path), commands=False).with_interfaces([ETH0])
    assert later.interface("eth0") is ETH0 and later.interface("eth9") is None


def test_strongswan_versions_are_read_from_every_output_shape() -> None:
    assert host.strongswan_version("Linux strongSwan U5.9.8/K6.1.0-18-amd64\n") == "5.9.8"
    assert host.strongswan_version("strongSwan swanctl 5.5.1\n") == "5.5.1"
    assert host.strongswan_version("strongSwan 6.0.1 swanctl") == "6.0.1"
    assert host.strongswan_version("command not found") is None
    assert HostFacts(strongswan_version="6.0.1").major_version == 6


def test_describe_names_what_was_found() -> None:
    line = host.describe(HostFacts(swanctl=True, charon_systemd=True,
                                   strongswan_version="6.0.1", netplan=True, systemd=True,
                                   iptables="nf_tables"))
    assert line == ("strongSwan 6.0.1 (swanctl, charon-systemd); network by netplan; systemd; "
                    "iptables nf_tables")


# --------------------------------------------------------------------------- host checks


def test_a_ready_host_passes_and_blocks_nothing() -> None:
    checks = preflight.host_checks(CANNED_HOST, dry_run=False)
    assert {c.status for c in checks} == {"pass"}
    assert preflight.blocking(checks) == []


def test_each_failure_says_how_to_fix_it_and_blocks_apply() -> None:
    checks = by_id(preflight.host_checks(BROKEN_HOST, dry_run=False))
    assert checks["root"].status == "fail" and "sudo" in checks["root"].fix
    assert checks["strongswan"].status == "warn"  # 5.3.5 < 5.5.1, as the seed warns
    assert "5.5.1" in checks["strongswan"].detail
    assert checks["tool.iptables"].fix == "sudo apt install iptables"
    assert checks["vti"].status == "fail" and "linux-modules-extra" in checks["vti"].fix
    assert {c.id for c in preflight.blocking(list(checks.values()))} == {
        "root", "tool.iptables", "vti"}


def test_a_dry_run_blocks_nothing() -> None:
    checks = preflight.host_checks(BROKEN_HOST, dry_run=True)
    assert preflight.blocking(checks) == []
    assert by_id(checks)["root"].status == "pass"  # root is not needed to record


def test_missing_strongswan_names_the_package_of_the_distribution() -> None:
    debian = replace(CANNED_HOST, strongswan_version=None, starter=False)
    fedora = replace(debian, distribution="Fedora Linux 40", distribution_id=("fedora",))
    assert by_id(preflight.host_checks(debian, dry_run=False))["strongswan"].fix == (
        "sudo apt install strongswan-starter")
    assert by_id(preflight.host_checks(fedora, dry_run=False))["strongswan"].fix == (
        "sudo dnf install strongswan")


def test_an_installed_strongswan_that_hides_its_version_is_a_warning_not_a_block() -> None:
    quiet = replace(CANNED_HOST, strongswan_version=None)
    check = by_id(preflight.host_checks(quiet, dry_run=False))["strongswan"]
    assert (check.status, check.blocks_apply) == ("warn", False)


def test_a_root_directory_asks_nothing_of_this_machines_kernel(tmp_path: Path) -> None:
    """Under --root the engine simulates the kernel and strongSwan: no tool, VTI or strongSwan
    of this machine's (or of the directory's) can block applying there."""
    facts = replace(probe(Root(tmp_path), commands=False), is_root=True)
    checks = preflight.host_checks(facts, dry_run=False)
    assert preflight.blocking(checks) == []
    assert "simulated kernel" in by_id(checks)["tool.iptables"].detail
    assert by_id(checks)["distribution"].status == "warn"  # the directory's own files still count


def test_no_ifup_on_a_netplan_box_is_not_a_warning() -> None:
    netplan = replace(CANNED_HOST, ifupdown=False, netplan=True)
    assert by_id(preflight.host_checks(netplan, dry_run=False))["ifupdown"].status == "pass"
    bare = replace(CANNED_HOST, ifupdown=False)
    assert by_id(preflight.host_checks(bare, dry_run=False))["ifupdown"].status == "warn"


# --------------------------------------------------------------------------- interfaces


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


def test_read_interfaces_reads_netlink() -> None:
    """On this machine: no loopback, and at most one default-route interface listed first."""
    found = netlink.read_interfaces()
    assert all(not i.loopback and i.name != "lo" for i in found)
    defaults = [i for i in found if i.has_default_route]
    if defaults:
        assert found[0].has_default_route


# --------------------------------------------------------------------------- layers


def test_the_core_does_not_import_textual() -> None:
    code = ("import sys, wizard.questions, wizard.commands.plain, wizard.system.host, "
            "wizard.host_defaults, wizard.preflight, wizard.system.interfaces; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


#: system/ modules that still import product logic, each awaiting its owner's rework:
#: the status readers (value types from wizard.status), the simulated kernel (the same
#: types, and swanctl's parser), the boot guard (its unit text from wizard.render).
NOT_YET_LEAF = {"boot", "simulated", "netlink_status", "statusall", "vici_source"}


@pytest.mark.parametrize("name", sorted(
    p.stem for p in (REPO / "wizard" / "system").glob("*.py") if p.stem not in NOT_YET_LEAF))
def test_system_modules_import_no_product_logic(name: str) -> None:
    """system/ does what it is told: no model, answers, render, status or plan in it."""
    found = _imports(REPO / "wizard" / "system" / f"{name}.py")
    product = {m for m in found if m.startswith("wizard") and not m.startswith("wizard.system")}
    assert product == set(), f"wizard/system/{name}.py imports {sorted(product)}"


def _modules_importing(module: str) -> set[str]:
    return {
        str(path.relative_to(REPO))
        for path in sorted((REPO / "wizard").rglob("*.py"))
        if any(m == module or m.startswith(module + ".") for m in _imports(path))
    }


def test_one_subprocess_helper() -> None:
    """Commands start in wizard/system/base.py only. The exceptions are named: the detached
    revert timer (a process that must outlive the wizard) and the status readers owned by
    the status package's rework."""
    assert _modules_importing("subprocess") <= {
        "wizard/system/base.py",
        "wizard/system/revert_process.py",
        "wizard/system/iptables_status.py",
        "wizard/system/statusall.py",
    }


def test_one_netlink_owner() -> None:
    """pyroute2 is opened in wizard/system/netlink.py (and the status package's live reader)."""
    assert _modules_importing("pyroute2") <= {
        "wizard/system/netlink.py",
        "wizard/system/netlink_status.py",
    }
