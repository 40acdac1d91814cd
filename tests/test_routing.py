"""The routing arithmetic: rp_filter's max rule and the tunnel MTU against AWS's table."""

from __future__ import annotations

import pytest

from wizard import crypto
from wizard.model import DEFAULT_MTU, Choices, Crypto, validate_crypto
from wizard.routing import effective_rp_filter, recommended_mtu, rp_filter_problem

# AWS's published maxima (best practices for the customer gateway device):
# (phase 2 proposal, NAT-T) -> (MTU, MSS).
AWS_TABLE = {
    ("aes128gcm16", False): (1446, 1406),
    ("aes256gcm16", True): (1438, 1398),
    ("aes128-sha1", False): (1438, 1398),
    ("aes256-sha256", False): (1438, 1398),
    ("aes128-sha1", True): (1422, 1382),
    ("aes256-sha256", True): (1422, 1382),
    ("aes256-sha384", False): (1422, 1382),
    ("aes256-sha384", True): (1422, 1382),
    ("aes256-sha512", False): (1422, 1382),
    ("aes256-sha512", True): (1406, 1366),
}


@pytest.mark.parametrize(("esp", "nat_t"), sorted(AWS_TABLE))
def test_recommended_mtu_reproduces_aws_table(esp: str, nat_t: bool) -> None:
    mtu, mss, why = recommended_mtu(Crypto(esp=esp), nat_t)
    assert (mtu, mss) == AWS_TABLE[(esp, nat_t)]
    assert str(mtu) in why and str(mss) in why
    assert ("NAT-T" in why) is nat_t


def test_seed_proposal_without_nat_explained() -> None:
    mtu, mss, why = recommended_mtu(Crypto(), nat_t=False)
    assert (mtu, mss) == (1438, 1398)
    assert why == (
        "ESP aes128 with sha1: 1500 - 20 (outer IP) - 8 (ESP header) - 16 (IV) - 12 (ICV) "
        "= 1444; padded to 16-byte blocks with 2 trailer bytes, the inner packet can be 1438 "
        "bytes; MSS 1438 - 40 = 1398"
    )


def test_worst_algorithm_of_a_list_decides() -> None:
    assert recommended_mtu(Crypto(esp="aes256gcm16-ecp384,aes256-sha512-modp2048"), True)[:2] \
        == (1406, 1366)
    assert recommended_mtu(Crypto(esp="aes256-sha256"), False, link_mtu=1492)[0] == 1422


def test_the_documents_1419_stays_the_default_and_fits_all_but_sha512_behind_nat() -> None:
    assert Choices().mtu == DEFAULT_MTU == 1419
    too_big = [key for key in AWS_TABLE if recommended_mtu(Crypto(esp=key[0]), key[1])[0] < 1419]
    assert too_big == [("aes256-sha512", True)]


def test_rp_filter_is_the_larger_of_all_and_the_interface() -> None:
    assert effective_rp_filter(1, 2) == 2  # the document's loose mode survives a strict `all`
    assert effective_rp_filter(2, 0) == 2
    assert effective_rp_filter(1, 0) == 1  # strict `all` cannot be undone by writing 0
    for all_value in (0, 1, 2):
        assert rp_filter_problem(all_value, 2) is None
    assert "all.rp_filter=1" in (rp_filter_problem(1, 0, wanted=0) or "")
    assert "interface's rp_filter=1" in (rp_filter_problem(0, 1, wanted=0) or "")


def test_recommended_preset_is_accepted_by_aws_and_not_weak() -> None:
    preset = crypto.RECOMMENDED
    assert preset is crypto.PRESETS[0] and preset.ike_version == 2
    settings = Crypto(ike_version=preset.ike_version, ike=preset.ike, esp=preset.esp)
    assert validate_crypto(settings, "crypto") == []
    assert "aes256gcm16-prfsha384-ecp384" in preset.ike and "aes256-sha256-modp2048" in preset.ike
    assert "IKEv2" in preset.reason
    document = crypto.DOCUMENT
    warnings = validate_crypto(Crypto(ike=document.ike, esp=document.esp), "c")
    assert warnings and all(p.severity == "warning" for p in warnings)
