"""The shared question -> model mapping (wizard.questions)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from screens_support import CANNED_INTERFACES
from seed_setup import seed_setup

from wizard.model import Problem, validate
from wizard.questions import (
    BY_ID,
    BY_STEP,
    QUESTIONS,
    Context,
    host_defaults,
    parse_cidr_list,
    parse_seconds,
)


def test_every_question_id_is_a_model_path_validate_uses() -> None:
    """Problems land under the right field: the ids are the `Problem.where` paths."""
    setup = seed_setup()
    broken = BY_ID["tunnels[1].mark"].apply(setup, "100")
    broken = BY_ID["tunnels[0].psk"].apply(broken, "0bad")
    wheres = {p.where for p in validate(broken) if p.severity == "error"}
    assert wheres == {"tunnels[1].mark", "tunnels[0].psk"}
    for where in wheres:
        assert [q.id for q in QUESTIONS if q.covers(where)] == [where]


def test_covers_children_but_not_siblings() -> None:
    lan = BY_ID["choices.lan_interfaces"]
    assert lan.covers("choices.lan_interfaces[1]")
    assert not BY_ID["tunnels[0].crypto.ike"].covers("tunnels[0].crypto.ike_version")
    assert lan.problems([Problem("choices.lan_interfaces[0]", "x")])


def test_durations_and_networks_parse_like_the_document_writes_them() -> None:
    assert parse_seconds("8h") == 28800
    assert parse_seconds("45m") == 2700
    assert parse_seconds("3600") == 3600
    with pytest.raises(ValueError, match="not a duration"):
        parse_seconds("1 day")
    assert parse_cidr_list("10.0.0.0/16, 10.1.0.0/16") == (
        IPv4Network("10.0.0.0/16"), IPv4Network("10.1.0.0/16"))
    with pytest.raises(ValueError, match=r"did you mean 10\.0\.0\.0/16"):
        parse_cidr_list("10.0.0.1/16")


def test_unparsable_answers_leave_the_model_alone() -> None:
    setup = seed_setup()
    with pytest.raises(ValueError, match="not an IPv4 address"):
        BY_ID["tunnels[0].aws_outside_ip"].apply(setup, "52.50.67")
    with pytest.raises(ValueError, match="private address"):
        BY_ID["choices.local_ip"].apply(setup, "")


def test_nat_answer_decides_whether_the_private_address_is_asked() -> None:
    setup = seed_setup()
    local_ip = BY_ID["choices.local_ip"]
    context = Context(CANNED_INTERFACES)
    assert not local_ip.when(setup, {})
    assert local_ip.when(setup, {"choices.behind_nat": True})
    assert local_ip.default(setup, context) == "192.0.2.10"  # eth0's address, suggested
    with_ip = local_ip.apply(setup, "192.0.2.10")
    assert with_ip.choices.local_ip == IPv4Address("192.0.2.10")
    assert BY_ID["choices.behind_nat"].apply(with_ip, False).choices.local_ip is None


def test_the_default_route_interface_is_preselected_unless_answered() -> None:
    setup = seed_setup(physical_interface="ens3")
    context = Context(CANNED_INTERFACES)
    assert host_defaults(setup, context, {}).choices.physical_interface == "eth0"
    kept = host_defaults(setup, context, {"choices.physical_interface": "answers"})
    assert kept.choices.physical_interface == "ens3"


def test_the_wan_interface_is_never_offered_as_a_lan() -> None:
    setup = seed_setup()
    options = BY_ID["choices.lan_interfaces"].options
    assert options is not None
    assert [o.value for o in options(setup, Context(CANNED_INTERFACES))] == ["eth1", "wlan0"]


def test_steps_are_in_the_wizards_order() -> None:
    assert list(BY_STEP) == ["forwarding", "tunnel1", "tunnel2", "mode", "interfaces", "vpc",
                             "persistence", "heartbeat"]
