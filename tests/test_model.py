"""AWS's rules, as the model enforces them: each message says what and where."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Interface, IPv4Network

import pytest
from seed_setup import SEED_PSKS, seed_setup

from wizard import crypto
from wizard.model import (
    Crypto,
    errors,
    parse_network,
    validate,
    validate_inside_cidr,
    validate_psk,
)
from wizard.render.ipsec import existing_marks
from wizard.secret import MASK, Secret, redact


def _with_tunnel(index: int, **changes: object):
    setup = seed_setup()
    tunnels = list(setup.tunnels)
    tunnels[index] = replace(tunnels[index], **changes)  # type: ignore[arg-type]
    return replace(setup, connection=replace(setup.connection, tunnels=tuple(tunnels)))


def test_the_seed_is_valid_with_weakness_warnings_only() -> None:
    problems = validate(seed_setup())
    assert errors(problems) == []
    assert {p.message for p in problems} == {
        "DH group 2 (modp1024) is below today's 2048-bit minimum",
        "SHA1 integrity is deprecated",
    }


@pytest.mark.parametrize(("psk", "reason"), [
    ("short", "must be 8-64 characters long (it has 5)"),
    ("x" * 65, "must be 8-64 characters long (it has 65)"),
    ("0abcdefgh", "must not start with 0"),
    ("abc-defgh", "may contain only letters, digits, '.' and '_' (found '-')"),
])
def test_psk_rule(psk: str, reason: str) -> None:
    assert validate_psk(psk) == reason
    problems = validate(_with_tunnel(1, psk=Secret(psk)))
    assert [str(p) for p in errors(problems)] == [f"tunnels[1].psk: {reason}"]


def test_psk_never_appears_in_problem_messages() -> None:
    problems = validate(_with_tunnel(0, psk=Secret("0" + SEED_PSKS[0])))
    assert problems and not any(SEED_PSKS[0] in str(p) for p in problems)


@pytest.mark.parametrize(("cidr", "reason"), [
    ("169.254.23.6/29", "must be a /30 (got /29)"),
    ("192.0.2.2/30", "must be inside 169.254.0.0/16"),
    ("169.254.3.2/30", "169.254.3.0/30 is reserved by AWS"),
    ("169.254.169.253/30", "169.254.169.252/30 is reserved by AWS"),
    ("169.254.23.4/30", "169.254.23.4 is the network or broadcast address of 169.254.23.4/30"),
])
def test_inside_cidr_rule(cidr: str, reason: str) -> None:
    assert validate_inside_cidr(IPv4Interface(cidr)) == reason


def test_tunnels_must_not_share_a_slash_30_or_a_mark() -> None:
    t0 = seed_setup().tunnels[0]
    setup = _with_tunnel(1, customer_inside_cidr=IPv4Interface("169.254.23.6/30"),
                         aws_inside_cidr=IPv4Interface("169.254.23.5/30"), mark=t0.mark)
    messages = {str(p) for p in errors(validate(setup))}
    assert "tunnels[1].mark: mark 100 is already used by Tunnel1" in messages
    assert "tunnels[1].customer_inside_cidr: 169.254.23.4/30 is already used by Tunnel1" in messages


def test_marks_already_used_by_other_conns_on_the_box() -> None:
    text = "conn office\n\tright=192.0.2.1\n\tmark=200/0xffffffff\n\nconn Tunnel1\n\tmark=100\n"
    marks = existing_marks(text)
    assert marks == {"office": 200, "Tunnel1": 100}
    messages = [str(p) for p in errors(validate(seed_setup(), marks))]
    assert messages == [
        "tunnels[1].mark: mark 200 is already used by conn office in /etc/ipsec.conf"
    ]


def test_wizard_blocks_do_not_count_as_existing_conns() -> None:
    from wizard.plan import build_plan

    text = build_plan(seed_setup()).final_files()["/etc/ipsec.conf"].after
    assert existing_marks(text) == {}


@pytest.mark.parametrize(("changes", "where", "message"), [
    ({"ike_lifetime": 600}, "ike_lifetime", "must be 900-28800 seconds"),
    ({"esp_lifetime": 7200}, "esp_lifetime", "must be 900-3600 seconds"),
    ({"ike_lifetime": 1800, "esp_lifetime": 1800}, "esp_lifetime",
     "phase 2 lifetime must be shorter than phase 1"),
    ({"ike": "aes128-sha1-modp1536"}, "ike", "DH group 5 (modp1536) is not accepted by AWS in phase 1"),
    ({"esp": "3des-sha1"}, "esp", "unknown or unsupported algorithm '3des' in '3des-sha1'"),
    ({"ike": "aes256-sha256"}, "ike", "no DH group in 'aes256-sha256' (IKE needs one)"),
    ({"dpd_timeout": 20}, "dpd_timeout", "AWS needs at least 30 seconds"),
    ({"ike_version": 3}, "ike_version", "must be 1 or 2"),
])
def test_crypto_rules(changes: dict, where: str, message: str) -> None:
    setup = _with_tunnel(0, crypto=replace(Crypto(), **changes))
    assert f"tunnels[0].crypto.{where}: {message}" in {str(p) for p in errors(validate(setup))}


def test_modern_proposals_are_accepted_without_warnings() -> None:
    c = Crypto(ike_version=2, ike="aes256gcm16-prfsha384-ecp384", esp="aes256gcm16-ecp384")
    assert [p for p in validate(_with_tunnel(0, crypto=c)) if p.where.startswith("tunnels[0]")] == []


def test_aws_names_map_to_strongswan_proposals() -> None:
    assert crypto.proposal_from_aws("aes-128-cbc", "sha1", 2, phase=1) == "aes128-sha1-modp1024"
    assert crypto.proposal_from_aws("AES256", "SHA2-256", 14, phase=2) == "aes256-sha256-modp2048"
    assert crypto.proposal_from_aws("AES256-GCM-16", "SHA2-384", 20, phase=1) == \
        "aes256gcm16-prfsha384-ecp384"


def test_choices_rules() -> None:
    setup = seed_setup(mode="updown", vpc_cidrs=(), lan_interfaces=("eth0",))
    messages = {str(p) for p in errors(validate(setup))}
    assert "choices.vpc_cidrs: updown mode needs at least one VPC CIDR to route" in messages
    assert ("choices.lan_interfaces: eth0 is the physical (WAN) interface; "
            "list only the other interfaces") in messages


def test_vpc_cidr_with_host_bits_suggests_the_network() -> None:
    with pytest.raises(ValueError, match=r"203.0.113.7/24 has host bits set; did you mean 203.0.113.0/24\?"):
        parse_network("203.0.113.7/24")
    assert parse_network("203.0.113.0/24") == IPv4Network("203.0.113.0/24")


def test_secret_masks_itself_everywhere() -> None:
    secret = Secret(SEED_PSKS[1])
    assert str(secret) == repr(secret).removeprefix("Secret(").removesuffix(")") == MASK
    assert f"{secret}" == MASK and secret.reveal() == SEED_PSKS[1]
    # The longer key is masked whole even though the shorter one is its prefix.
    text = f'a "{SEED_PSKS[0]}" b "{SEED_PSKS[1]}"'
    assert redact(text, [Secret(k) for k in SEED_PSKS]) == f'a "{MASK}" b "{MASK}"'
