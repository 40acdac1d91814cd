"""Detection: file probes under a root, version queries through an injected runner."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.system.detect import (
    HostFacts,
    choose_backend,
    choose_persistence,
    defaults_for,
    describe,
    detect,
    strongswan_version,
)
from wizard.system.paths import Root


def _box(base: Path, *files: str, links: dict[str, str] | None = None) -> Root:
    for rel in files:
        path = base / rel.lstrip("/")
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    for rel, target in (links or {}).items():
        path = base / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    return Root(base)


UBUNTU_1604 = ("/usr/sbin/ipsec", "/sbin/ifup", "/run/systemd/system/")
UBUNTU_2404 = ("/usr/sbin/ipsec", "/usr/sbin/swanctl", "/usr/sbin/netplan",
               "/etc/netplan/50-cloud-init.yaml", "/run/systemd/system/",
               "/usr/sbin/charon-systemd")
UBUNTU_2604 = ("/usr/sbin/swanctl", "/usr/sbin/charon-systemd", "/usr/sbin/netplan",
               "/etc/netplan/50-cloud-init.yaml", "/run/systemd/system/")
NETWORKD_ONLY = ("/usr/sbin/swanctl", "/etc/systemd/network/10-eth0.network",
                 "/run/systemd/system/", "/usr/sbin/netfilter-persistent")


@pytest.mark.parametrize(("files", "expected"), [
    (UBUNTU_1604, ("stroke", "seed")),
    (UBUNTU_2404, ("stroke", "netplan")),
    (UBUNTU_2604, ("swanctl", "netplan")),
    (NETWORKD_ONLY, ("swanctl", "networkd")),
    ((), ("stroke", "none")),
])
def test_defaults_for_each_kind_of_box(tmp_path: Path, files: tuple[str, ...],
                                       expected: tuple[str, str]) -> None:
    calls: list[Sequence[str]] = []
    facts = detect(_box(tmp_path, *files), run=lambda argv: calls.append(argv) or "")
    assert defaults_for(facts) == expected
    assert calls == []  # a root that is not the host is never asked to run anything


def test_netplan_binary_without_configuration_is_not_netplan(tmp_path: Path) -> None:
    facts = detect(_box(tmp_path, "/usr/sbin/netplan", "/etc/netplan/", "/sbin/ifup"))
    assert not facts.netplan and choose_persistence(facts) == "seed"


def test_facts_from_files(tmp_path: Path) -> None:
    root = _box(tmp_path, *NETWORKD_ONLY,
                links={"/etc/alternatives/iptables": "/usr/sbin/iptables-legacy"})
    facts = detect(root)
    assert facts == HostFacts(swanctl=True, networkd=True, systemd=True, iptables="legacy",
                              netfilter_persistent=True)


def test_versions_and_iptables_come_from_the_runner_on_the_host() -> None:
    answers = {
        ("ipsec", "--version"): "Linux strongSwan U5.9.13/K6.8.0-31-generic\n",
        ("swanctl", "--help"): "strongSwan 6.0.1 swanctl\nusage:\n",
        ("iptables", "--version"): "iptables v1.8.10 (nf_tables)\n",
    }
    asked: list[tuple[str, ...]] = []

    def run(argv: Sequence[str]) -> str | None:
        asked.append(tuple(argv))
        return answers.get(tuple(argv))

    facts = detect(Root("/"), run=run)
    # Whatever this machine has installed, only read-only queries were made.
    assert set(asked) <= set(answers)
    if facts.starter:
        assert facts.strongswan_version == "5.9.13"


def test_version_parsing() -> None:
    assert strongswan_version("Linux strongSwan U5.9.13/K6.8.0-31-generic") == "5.9.13"
    assert strongswan_version("strongSwan 6.0.1 swanctl") == "6.0.1"
    assert strongswan_version("command not found") is None
    assert HostFacts(strongswan_version="6.0.1").major_version == 6


def test_strongswan_6_without_any_binary_still_points_at_swanctl() -> None:
    assert choose_backend(HostFacts(strongswan_version="6.0.0")) == "swanctl"
    assert choose_backend(HostFacts(starter=True, swanctl=True)) == "stroke"
    assert choose_persistence(HostFacts(networkd=True, systemd=False)) == "none"


def test_describe_names_the_facts_and_the_defaults() -> None:
    line = describe(HostFacts(swanctl=True, charon_systemd=True, strongswan_version="6.0.1",
                              netplan=True, systemd=True, iptables="nf_tables"))
    assert line == ("strongSwan 6.0.1 (swanctl, charon-systemd); network by netplan; systemd; "
                    "iptables nf_tables -> backend swanctl, persistence netplan")


def test_detected_choices_replace_only_untouched_defaults(tmp_path: Path) -> None:
    from wizard import inputs
    from wizard.system.detect import SOURCE_DETECTED, detected_choices

    assert detected_choices(HostFacts(swanctl=True, netplan=True)) == {
        "backend": "swanctl", "persistence": "netplan"}
    assert detected_choices(HostFacts(starter=True, swanctl=True, ifupdown=True)) == {}
    assert detected_choices(HostFacts()) == {}

    root = _box(tmp_path / "box", *UBUNTU_2604)
    seed = Path(__file__).resolve().parents[1] / "examples" / "aws-strongswan-seed.txt"
    answers = tmp_path / "answers.toml"
    answers.write_text('[choices]\nvpc_cidrs = ["203.0.113.0/24"]\n')
    loaded = inputs.load(seed, answers, root)
    assert (loaded.setup.choices.backend, loaded.setup.choices.persistence) == (
        "swanctl", "netplan")
    assert loaded.sources["choices.backend"] == SOURCE_DETECTED

    answers.write_text('[choices]\nbackend = "stroke"\npersistence = "none"\n')
    kept = inputs.load(seed, answers, root)
    assert (kept.setup.choices.backend, kept.setup.choices.persistence) == ("stroke", "none")
    assert kept.sources["choices.backend"] == "answers"
