"""The EC2 API's CustomerGatewayConfiguration XML -> Connection."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import aws
from wizard.aws import AwsFileError
from wizard.aws import xml as xml_reader
from wizard.model import Connection, Crypto, Tunnel, errors, validate_tunnel
from wizard.secret import Secret

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PATH = ROOT / "examples" / "aws-config.xml"
EXAMPLE = EXAMPLE_PATH.read_text(encoding="utf-8")
EXAMPLE_PSKS = ("XmlKey.Charlie_1", "XmlKey.Delta_2")


def tunnel_xml(
    *, aws_ip: str, cgw_in: str, vgw_in: str, psk: str, extra_ike: str = "",
    dpd: str = "<dead_peer_detection><interval>10</interval><retries>3</retries>"
               "</dead_peer_detection>",
) -> str:
    return f"""
  <ipsec_tunnel>
    <customer_gateway>
      <tunnel_outside_address><ip_address>198.51.100.40</ip_address></tunnel_outside_address>
      <tunnel_inside_address><ip_address>{cgw_in}</ip_address>
        <network_mask>255.255.255.252</network_mask><network_cidr>30</network_cidr>
      </tunnel_inside_address>
    </customer_gateway>
    <vpn_gateway>
      <tunnel_outside_address><ip_address>{aws_ip}</ip_address></tunnel_outside_address>
      <tunnel_inside_address><ip_address>{vgw_in}</ip_address>
        <network_mask>255.255.255.252</network_mask><network_cidr>30</network_cidr>
      </tunnel_inside_address>
    </vpn_gateway>
    <ike>
      <authentication_protocol>sha1</authentication_protocol>
      <encryption_protocol>aes-128-cbc</encryption_protocol>
      <lifetime>28800</lifetime>
      <perfect_forward_secrecy>group2</perfect_forward_secrecy>
      <mode>main</mode>{extra_ike}
      <pre_shared_key>{psk}</pre_shared_key>
    </ike>
    <ipsec>
      <protocol>esp</protocol>
      <authentication_protocol>hmac-sha1-96</authentication_protocol>
      <encryption_protocol>aes-128-cbc</encryption_protocol>
      <lifetime>3600</lifetime>
      <perfect_forward_secrecy>group2</perfect_forward_secrecy>
      {dpd}
    </ipsec>
  </ipsec_tunnel>"""


def document(*tunnels: str, vgw: str = "vgw-0abc") -> str:
    return (
        '<vpn_connection id="vpn-0123">\n'
        "  <customer_gateway_id>cgw-0def</customer_gateway_id>\n"
        f"  <vpn_gateway_id>{vgw}</vpn_gateway_id>\n"
        + "".join(tunnels)
        + "\n</vpn_connection>\n"
    )


LOW = dict(aws_ip="203.0.113.9", cgw_in="169.254.60.2", vgw_in="169.254.60.1", psk="Xml.Low_Key1")
# 203.0.113.10 sorts after .9 numerically but before it as text: the order must be numeric.
HIGH = dict(aws_ip="203.0.113.10", cgw_in="169.254.61.2", vgw_in="169.254.61.1",
            psk="Xml.High_Key2")
PSKS = (*EXAMPLE_PSKS, "Xml.Low_Key1", "Xml.High_Key2")


def import_error(text: str, path: str = "config.xml") -> AwsFileError:
    with pytest.raises(AwsFileError) as caught:
        aws.parse(text, path)
    return caught.value


# --------------------------------------------------------------------------- reading


def test_the_example_imports_with_tunnel1_the_lower_aws_address() -> None:
    imported = aws.load(EXAMPLE_PATH)
    crypto = Crypto(1, "aes256-sha384-ecp384", "aes128gcm16-modp2048", 14400, 1800, 15, 45,
                    "restart")
    assert imported.format == "xml"
    assert imported.connection == Connection(
        tunnels=(
            Tunnel("Tunnel1", IPv4Address("203.0.113.50"), IPv4Address("192.0.2.201"),
                   IPv4Interface("169.254.44.42/30"), IPv4Interface("169.254.44.41/30"),
                   Secret("XmlKey.Charlie_1"), 100, crypto),
            Tunnel("Tunnel2", IPv4Address("203.0.113.50"), IPv4Address("192.0.2.202"),
                   IPv4Interface("169.254.45.102/30"), IPv4Interface("169.254.45.101/30"),
                   Secret("XmlKey.Delta_2"), 200, crypto),
        ),
        vpn_connection_id="vpn-0d4e5f60718293a4b",
        vpn_gateway_id="vgw-0f60718293a4b5c6d",
        customer_gateway_id="cgw-0e5f60718293a4b5c",
    )
    assert [t.psk.reveal() for t in imported.connection.tunnels] == list(EXAMPLE_PSKS)
    assert imported.notes[0] == (
        "the XML lists its tunnels in no fixed order; they are named by AWS outside address: "
        "Tunnel1 = 192.0.2.201 (ipsec_tunnel[2] in the file), "
        "Tunnel2 = 192.0.2.202 (ipsec_tunnel[1] in the file)"
    )
    assert "no IKE version element in ipsec_tunnel[1] or ipsec_tunnel[2]; assuming IKEv1" in (
        imported.notes)
    for index, tunnel in enumerate(imported.connection.tunnels):
        assert errors(validate_tunnel(tunnel, index)) == []


def test_tunnel_order_in_the_file_does_not_matter_and_is_numeric() -> None:
    forward = aws.parse(document(tunnel_xml(**LOW), tunnel_xml(**HIGH)))
    backward = aws.parse(document(tunnel_xml(**HIGH), tunnel_xml(**LOW)))
    assert forward.connection == backward.connection
    one, two = forward.connection.tunnels
    assert (one.name, one.aws_outside_ip, one.psk.reveal(), one.mark) == (
        "Tunnel1", IPv4Address("203.0.113.9"), "Xml.Low_Key1", 100)
    assert (two.name, two.aws_outside_ip, two.psk.reveal(), two.mark) == (
        "Tunnel2", IPv4Address("203.0.113.10"), "Xml.High_Key2", 200)
    assert one.crypto == Crypto()  # AWS's defaults are the seed's
    assert "(ipsec_tunnel[2] in the file)" in backward.notes[0].split(", ")[0]


def test_elements_are_read_by_name_not_position() -> None:
    root = ET.fromstring(EXAMPLE)
    shuffler = random.Random(4)
    for element in root.iter():
        children = list(element)
        shuffler.shuffle(children)
        element[:] = children
    shuffled = ET.tostring(root, encoding="unicode")
    assert shuffled != EXAMPLE
    assert aws.parse(shuffled).connection == aws.parse(EXAMPLE).connection


def test_an_ike_version_element_is_honoured() -> None:
    text = document(
        tunnel_xml(**LOW, extra_ike="<ike_version>ikev2</ike_version>"),
        tunnel_xml(**HIGH, extra_ike="<version>IKEv2</version>"),
    )
    imported = aws.parse(text)
    assert [t.crypto.ike_version for t in imported.connection.tunnels] == [2, 2]
    assert not any("IKE version" in note for note in imported.notes)


def test_network_mask_alone_gives_the_prefix() -> None:
    text = EXAMPLE.replace("<network_cidr>30</network_cidr>", "")
    tunnel = aws.parse(text).connection.tunnels[0]
    assert tunnel.customer_inside_cidr == IPv4Interface("169.254.44.42/30")


def test_dpd_below_the_minimum_is_raised_to_30_seconds_with_a_note() -> None:
    dpd = "<dead_peer_detection><interval>5</interval><retries>2</retries></dead_peer_detection>"
    imported = aws.parse(document(tunnel_xml(**LOW, dpd=dpd), tunnel_xml(**HIGH, dpd="")))
    one, two = imported.connection.tunnels
    assert (one.crypto.dpd_delay, one.crypto.dpd_timeout) == (5, 30)
    assert (two.crypto.dpd_delay, two.crypto.dpd_timeout) == (10, 30)
    assert any("5 s x 2 retries = 10 s is below AWS's 30 s minimum" in n for n in imported.notes)
    assert any("ipsec_tunnel[2] has no ipsec/dead_peer_detection" in n for n in imported.notes)


def test_a_transit_gateway_connection_has_no_vgw_id() -> None:
    imported = aws.parse(document(tunnel_xml(**LOW), tunnel_xml(**HIGH), vgw=" "))
    assert imported.connection.vpn_gateway_id == ""
    assert imported.connection.customer_gateway_id == "cgw-0def"
    assert imported.connection.vpn_connection_id == "vpn-0123"


def test_a_namespaced_document_is_read() -> None:
    text = EXAMPLE.replace('<vpn_connection id=', '<vpn_connection xmlns="urn:example" id=')
    assert aws.parse(text).connection == aws.parse(EXAMPLE).connection


# --------------------------------------------------------------------------- refusals

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<vpn_connection id="&lol3;"/>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE vpn_connection SYSTEM "http://192.0.2.1/evil.dtd">
<vpn_connection/>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL], ids=["entities", "external-dtd"])
def test_a_dtd_is_refused_before_anything_expands(text: str) -> None:
    error = import_error(text)
    assert error.where == "line 2"
    assert "the XML declares a DTD (<!DOCTYPE ...>)" in error.message


SECOND = EXAMPLE.index("  <ipsec_tunnel>", EXAMPLE.index("</ipsec_tunnel>"))
END = EXAMPLE.index("</vpn_connection>")

MALFORMED = [
    pytest.param(EXAMPLE[:SECOND] + EXAMPLE[END:], "vpn_connection",
                 "tunnel 2 is missing: the file describes only one tunnel", id="one-tunnel"),
    pytest.param(EXAMPLE[:1500], "line 35, column 7", "not well-formed XML: unclosed token",
                 id="truncated"),
    pytest.param(EXAMPLE[:END], "line 101, column 1",
                 "not well-formed XML: no element found", id="truncated-before-root-end"),
    pytest.param(EXAMPLE.replace("<ip_address>192.0.2.201</ip_address>",
                                 "<ip_address>192.0.2</ip_address>"),
                 "vpn_connection/ipsec_tunnel[2]/vpn_gateway/tunnel_outside_address/ip_address",
                 "the outside address is not an IPv4 address: '192.0.2'", id="bad-address"),
    pytest.param(EXAMPLE.replace("<lifetime>14400</lifetime>", "<lifetime>4h</lifetime>", 1),
                 "vpn_connection/ipsec_tunnel[1]/ike/lifetime",
                 "the IKE lifetime is not a whole number: '4h'", id="bad-number"),
    pytest.param(EXAMPLE.replace("<network_cidr>30</network_cidr>",
                                 "<network_cidr>x</network_cidr>", 1),
                 "vpn_connection/ipsec_tunnel[1]/customer_gateway/tunnel_inside_address/"
                 "network_cidr", "the inside prefix length is not a whole number: 'x'",
                 id="bad-prefix"),
    pytest.param(EXAMPLE.replace("<encryption_protocol>aes-256-cbc", "<encryption_protocol>des",
                                 1),
                 "vpn_connection/ipsec_tunnel[1]/ike/encryption_protocol",
                 "unsupported encryption algorithm 'des'", id="unknown-encryption"),
    pytest.param(EXAMPLE.replace("group20", "group1", 1),
                 "vpn_connection/ipsec_tunnel[1]/ike/perfect_forward_secrecy",
                 "unknown DH group 1", id="unknown-group"),
    pytest.param(EXAMPLE.replace("<pre_shared_key>XmlKey.Delta_2</pre_shared_key>", ""),
                 "vpn_connection/ipsec_tunnel[1]/ike/pre_shared_key",
                 "<pre_shared_key> is missing from <ike>", id="missing-psk"),
    pytest.param(EXAMPLE.replace("XmlKey.Delta_2", " "),
                 "vpn_connection/ipsec_tunnel[1]/ike/pre_shared_key",
                 "<pre_shared_key> is empty", id="empty-psk"),
    pytest.param(EXAMPLE.replace("<mode>main</mode>", "<mode>main</mode><lifetime>1</lifetime>",
                                 1),
                 "vpn_connection/ipsec_tunnel[1]/ike/lifetime",
                 "<lifetime> appears 2 times in <ike>",
                 id="duplicate-element"),
    pytest.param(EXAMPLE.replace("<ike_version>", "").replace(
        "<mode>main</mode>", "<mode>main</mode><ike_version>3</ike_version>", 1),
                 "vpn_connection/ipsec_tunnel[1]/ike/ike_version",
                 "the IKE version must be ikev1 or ikev2, not '3'", id="bad-version"),
    pytest.param("<CreateVpnConnectionResponse/>", "CreateVpnConnectionResponse",
                 "expected <vpn_connection> as the root element", id="wrong-root"),
    pytest.param("<vpn_connection><ipsec_tunnel></vpn_connection>", "line 1, column 33",
                 "not well-formed XML: mismatched tag", id="mismatched"),
]


@pytest.mark.parametrize(("text", "where", "message"), MALFORMED)
def test_malformed_documents_are_refused_with_the_element_and_the_reason(
    text: str, where: str, message: str
) -> None:
    error = import_error(text)
    assert error.path == "config.xml"
    assert error.where == where
    assert message in error.message
    for psk in PSKS:
        assert psk not in str(error)


def test_a_psk_in_a_quoted_field_is_masked() -> None:
    text = EXAMPLE.replace("<lifetime>14400</lifetime>", "<lifetime>XmlKey.Charlie_1</lifetime>",
                           1)
    error = import_error(text)
    assert error.where == "vpn_connection/ipsec_tunnel[1]/ike/lifetime"
    assert "'********'" in error.message
    for psk in PSKS:
        assert psk not in str(error)


def test_every_prefix_is_refused_and_never_leaks_a_key() -> None:
    for cut in range(0, len(EXAMPLE) - len("</vpn_connection>\n"), 7):
        error = import_error(EXAMPLE[:cut])
        for psk in PSKS:
            assert psk not in str(error)


# --------------------------------------------------------------------------- fuzz

_ELEMENT = re.compile(r"<(\w+)>[^<]*</\1>")


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """An XML document cut, spliced, stripped of elements or given odd values."""
    text = draw(st.sampled_from([EXAMPLE, document(tunnel_xml(**LOW), tunnel_xml(**HIGH))]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(
            ["truncate", "delete", "insert", "splice", "drop-leaf", "repeat-leaf", "retext-leaf"]
        ))
        leaves = list(_ELEMENT.finditer(text))
        leaf = leaves[draw(st.integers(0, len(leaves) - 1))] if leaves else None
        if op == "truncate":
            text = text[:at]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 200)):]
        elif op == "insert":
            text = text[:at] + draw(st.text(max_size=30)) + text[at:]
        elif op == "splice":
            start = draw(st.integers(0, len(EXAMPLE)))
            text = text[:at] + EXAMPLE[start:start + draw(st.integers(1, 400))] + text[at:]
        elif leaf is None:
            continue
        elif op == "drop-leaf":
            text = text[:leaf.start()] + text[leaf.end():]
        elif op == "repeat-leaf":
            text = text[:leaf.end()] + leaf.group(0) + text[leaf.end():]
        else:
            value = draw(st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=20))
            name = leaf.group(1)
            text = text[:leaf.start()] + f"<{name}>{value}</{name}>" + text[leaf.end():]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(damaged(), st.text(max_size=400), st.text(max_size=400).map(lambda t: "<" + t)))
def test_fuzz_the_xml_reader_raises_nothing_but_aws_file_error(text: str) -> None:
    for read in (xml_reader.parse, aws.parse):
        try:
            imported = read(text, "fuzz.xml")
        except AwsFileError as error:
            assert error.path == "fuzz.xml"
            assert error.message
        else:
            assert len(imported.connection.tunnels) == 2
