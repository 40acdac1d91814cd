"""Host-derived defaults (wizard.host_defaults) for each kind of box, and the Interfaces
step's mistakes (wizard.preflight.interface_problems), as pure functions of HostFacts."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from seed_setup import seed_setup
from test_host_probe import layout

from wizard import host_defaults, inputs
from wizard.host_defaults import SOURCE_DETECTED, apply_defaults, decide
from wizard.model import Setup
from wizard.preflight import interface_problems
from wizard.system.host import HostFacts, probe
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "aws-strongswan-seed.txt"  # leftid=198.51.100.10
OUTSIDE = IPv4Address("198.51.100.77")

ETH0 = HostInterface("eth0", (IPv4Interface("192.0.2.10/24"),), "up", True)
ETH1 = HostInterface("eth1", (IPv4Interface("203.0.113.5/24"),), "up", False)
WLAN = HostInterface("wlan0", (), "down", False)
PUBLIC = HostInterface("eth0", (IPv4Interface("198.51.100.77/24"),), "up", True)

UBUNTU = dict(os_release=True, distribution="Ubuntu", distribution_id=("ubuntu", "debian"))
UBUNTU_1604 = HostFacts(starter=True, ifupdown=True, systemd=True, rc_local=True, **UBUNTU)
UBUNTU_2404 = HostFacts(starter=True, swanctl=True, charon_systemd=True, netplan=True,
                        systemd=True, **UBUNTU)
UBUNTU_2604 = HostFacts(swanctl=True, charon_systemd=True, netplan=True, systemd=True, **UBUNTU)
NETWORKD_ONLY = HostFacts(swanctl=True, networkd=True, systemd=True, **UBUNTU)
NO_SYSTEMD = HostFacts(starter=True, netplan=True, networkd=True, **UBUNTU)  # e.g. OpenRC
BARE = HostFacts(starter=True, systemd=True, **UBUNTU)  # no ifupdown, netplan nor networkd


def setup_at(outside: IPv4Address = OUTSIDE, **choices: object) -> Setup:
    setup = seed_setup(**choices)
    tunnels = tuple(replace(t, customer_outside_ip=outside) for t in setup.tunnels)
    return replace(setup, connection=replace(setup.connection, tunnels=tunnels))


# --------------------------------------------------------------------------- backend, persistence


@pytest.mark.parametrize(("facts", "backend", "persistence"), [
    (UBUNTU_1604, "stroke", "seed"),
    (UBUNTU_2404, "stroke", "netplan"),
    (UBUNTU_2604, "swanctl", "netplan"),
    (NETWORKD_ONLY, "swanctl", "networkd"),
    (NO_SYSTEMD, "stroke", "none"),
    (BARE, "stroke", "none"),
    (HostFacts(strongswan_version="6.0.0", ifupdown=True, **UBUNTU), "swanctl", "seed"),
    (HostFacts(), "stroke", "seed"),  # an empty --root directory: nothing is known
])
def test_defaults_for_each_kind_of_box(facts: HostFacts, backend: str, persistence: str) -> None:
    decided = decide(facts, None)
    assert (decided.backend.value, decided.persistence.value) == (backend, persistence)
    for reason in (decided.backend.reason, decided.persistence.reason):
        assert reason and "\n" not in reason


def test_no_systemd_based_persistence_is_promised_without_systemd() -> None:
    decided = decide(NO_SYSTEMD, None).persistence
    assert decided.value == "none" and "no systemd" in decided.reason
    assert decide(BARE, None).persistence.reason.startswith(
        "no ifupdown, netplan or systemd-networkd")


@pytest.mark.parametrize(("files", "expected"), [
    (("/usr/sbin/ipsec", "/sbin/ifup", "/run/systemd/system/"), ("stroke", "seed")),
    (("/usr/sbin/ipsec", "/usr/sbin/swanctl", "/usr/sbin/netplan",
      "/etc/netplan/50-cloud-init.yaml", "/run/systemd/system/"), ("stroke", "netplan")),
    (("/usr/sbin/swanctl", "/usr/sbin/charon-systemd", "/usr/sbin/netplan",
      "/etc/netplan/50-cloud-init.yaml", "/run/systemd/system/"), ("swanctl", "netplan")),
    (("/usr/sbin/swanctl", "/etc/systemd/network/10-eth0.network", "/run/systemd/system/"),
     ("swanctl", "networkd")),
    (("/usr/sbin/ipsec", "/run/systemd/system/"), ("stroke", "none")),
])
def test_defaults_from_a_probed_box(tmp_path: Path, files: tuple[str, ...],
                                    expected: tuple[str, str]) -> None:
    root = layout(tmp_path, *files, text={"/etc/os-release": "ID=ubuntu\n"})
    decided = decide(probe(root, commands=False), None)
    assert (decided.backend.value, decided.persistence.value) == expected


def test_inputs_take_backend_and_persistence_from_the_box_unless_answered(
        tmp_path: Path) -> None:
    root = layout(tmp_path / "box", "/usr/sbin/swanctl", "/usr/sbin/charon-systemd",
                  "/usr/sbin/netplan", "/etc/netplan/50-cloud-init.yaml",
                  "/run/systemd/system/", text={"/etc/os-release": "ID=ubuntu\n"})
    answers = tmp_path / "answers.toml"
    answers.write_text('[choices]\nvpc_cidrs = ["203.0.113.0/24"]\n')
    loaded = inputs.load(SEED, answers, root)
    assert (loaded.setup.choices.backend, loaded.setup.choices.persistence) == (
        "swanctl", "netplan")
    assert loaded.sources["choices.backend"] == SOURCE_DETECTED

    answers.write_text('[choices]\nbackend = "stroke"\npersistence = "seed"\n')
    kept = inputs.load(SEED, answers, root)
    assert (kept.setup.choices.backend, kept.setup.choices.persistence) == ("stroke", "seed")
    assert kept.sources["choices.backend"] == "answers"


def test_a_box_without_ifupdown_is_not_given_the_seeds_persistence(tmp_path: Path) -> None:
    root = layout(tmp_path, "/usr/sbin/ipsec", "/run/systemd/system/",
                  text={"/etc/os-release": "ID=ubuntu\n"})
    assert inputs.load(SEED, None, root).setup.choices.persistence == "none"


# --------------------------------------------------------------------------- WAN and NAT


def test_the_wan_is_the_default_route_interface() -> None:
    decided = decide(UBUNTU_1604.with_interfaces([ETH1, ETH0]), setup_at().connection)
    assert decided.wan is not None and decided.wan.value == "eth0"
    assert "default route" in decided.wan.reason
    assert decide(UBUNTU_1604, setup_at().connection).wan is None  # interfaces unread


def test_an_outside_address_on_no_interface_means_behind_nat_with_the_wans_address() -> None:
    decided = decide(UBUNTU_1604.with_interfaces([ETH0, ETH1]), setup_at().connection)
    assert decided.behind_nat is True
    assert decided.local_ip is not None and decided.local_ip.value == IPv4Address("192.0.2.10")
    assert "198.51.100.77 is on no interface" in decided.local_ip.reason
    assert "192.0.2.10" in decided.local_ip.reason


def test_nat_follows_the_operators_wan() -> None:
    decided = decide(UBUNTU_1604.with_interfaces([ETH0, ETH1]), setup_at().connection,
                     wan="eth1")
    assert decided.local_ip is not None and decided.local_ip.value == IPv4Address("203.0.113.5")


def test_an_outside_address_on_the_box_means_no_nat() -> None:
    decided = decide(UBUNTU_1604.with_interfaces([PUBLIC]), setup_at().connection)
    assert decided.behind_nat is False
    assert decided.local_ip is not None and "is on eth0" in decided.local_ip.reason


def test_nat_is_unknown_without_interfaces_or_tunnels() -> None:
    assert decide(UBUNTU_1604, setup_at().connection).behind_nat is None
    assert decide(UBUNTU_1604.with_interfaces([ETH0]), None).behind_nat is None


def test_apply_defaults_sets_what_nobody_chose_and_marks_it_detected() -> None:
    facts = UBUNTU_2604.with_interfaces([ETH1, ETH0])
    setup, sources = host_defaults.host_defaults(facts, setup_at(), {})
    assert setup.choices.backend == "swanctl" and setup.choices.persistence == "netplan"
    assert setup.choices.physical_interface == "eth0"
    assert setup.choices.local_ip == IPv4Address("192.0.2.10")
    assert sources["choices.local_ip"] == SOURCE_DETECTED


def test_apply_defaults_never_overrides_an_answer() -> None:
    facts = UBUNTU_2604.with_interfaces([ETH0, ETH1])
    answered = {f"choices.{k}": "answers" for k in host_defaults.KEYS}
    start = setup_at(physical_interface="eth1", backend="stroke", persistence="seed")
    setup, _ = host_defaults.host_defaults(facts, start, answered)
    assert setup == start
    # The operator's WAN is the one whose address the NAT default takes.
    chosen = {"choices.physical_interface": "answers"}
    setup, _ = host_defaults.host_defaults(facts, start, chosen)
    assert setup.choices.local_ip == IPv4Address("203.0.113.5")


def test_apply_defaults_can_be_narrowed() -> None:
    decided = decide(UBUNTU_2604.with_interfaces([ETH0]), setup_at().connection)
    setup, _ = apply_defaults(setup_at(), {}, decided, ("physical_interface", "local_ip"))
    assert setup.choices.backend == "stroke"  # left alone
    assert setup.choices.local_ip == IPv4Address("192.0.2.10")


# --------------------------------------------------------------------------- interface mistakes


def _problems(facts: HostFacts, **choices: object) -> dict[str, tuple[str, str]]:
    found = interface_problems(facts, setup_at(**choices).choices)
    return {p.where: (p.severity, p.message) for p in found}


BOX = UBUNTU_1604.with_interfaces([ETH0, ETH1, WLAN])


def test_a_good_choice_has_no_problem() -> None:
    assert _problems(BOX, physical_interface="eth0", local_ip=IPv4Address("192.0.2.10"),
                     lan_interfaces=("eth1",)) == {}


def test_a_wan_that_does_not_exist_is_an_error_naming_the_interfaces() -> None:
    severity, message = _problems(BOX, physical_interface="eth9")["choices.physical_interface"]
    assert severity == "error"
    assert "eth9 is not an interface of this box" in message and "eth0, eth1, wlan0" in message


def test_a_wan_without_ipv4_is_an_error_with_the_fix() -> None:
    severity, message = _problems(BOX, physical_interface="wlan0")["choices.physical_interface"]
    assert severity == "error" and "no IPv4 address" in message and "ip addr add" in message


def test_a_wan_that_is_down_is_a_warning_with_the_fix() -> None:
    down = UBUNTU_1604.with_interfaces([replace(ETH0, state="down")])
    severity, message = _problems(down, physical_interface="eth0")["choices.physical_interface"]
    assert severity == "warning" and "ip link set eth0 up" in message


def test_a_private_address_on_no_interface_is_an_error() -> None:
    found = _problems(BOX, physical_interface="eth0", local_ip=IPv4Address("192.0.2.99"))
    severity, message = found["choices.local_ip"]
    assert severity == "error" and "192.0.2.99 is on no interface" in message
    assert "192.0.2.10" in message  # the fix: the WAN's own address


def test_a_private_address_on_another_interface_is_a_warning() -> None:
    found = _problems(BOX, physical_interface="eth0", local_ip=IPv4Address("203.0.113.5"))
    assert found["choices.local_ip"][0] == "warning"


def test_a_lan_interface_that_does_not_exist_is_an_error() -> None:
    found = _problems(BOX, physical_interface="eth0", lan_interfaces=("eth1", "br-lan"))
    assert found == {"choices.lan_interfaces[1]": (
        "error", "LAN interface br-lan is not an interface of this box (it has: eth0, eth1, "
                 "wlan0); choose one it has, or none")}


def test_unread_interfaces_are_no_mistake_of_the_operators() -> None:
    assert _problems(UBUNTU_1604, physical_interface="eth9", lan_interfaces=("x",)) == {}


def test_inputs_without_a_host_root_read_no_interfaces(tmp_path: Path) -> None:
    loaded = inputs.load(SEED, None, Root(tmp_path))
    assert loaded.setup.choices.local_ip is None  # no interfaces known: nothing decided
