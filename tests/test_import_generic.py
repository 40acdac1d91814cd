"""AWS's Generic text configuration -> Connection."""

from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import aws
from wizard.aws import AwsFileError, generic
from wizard.model import Connection, Crypto, Tunnel, errors, validate_tunnel
from wizard.secret import Secret

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PATH = ROOT / "examples" / "aws-generic.txt"
EXAMPLE = EXAMPLE_PATH.read_text(encoding="utf-8")
EXAMPLE_PSKS = ("GenericKey.Alpha_1", "GenericKey.Bravo_2")

# The layout of an older AWS download: IKEv1, dashes at column 0, "Customer
# Gateway:" with its stray colon, "Inside IP Addresses" without one, and a BGP
# section after the tunnel interface.
TUNNEL_V1 = """\
IPsec Tunnel #{n}
================================================
#1: Internet Key Exchange Configuration

Configure the IKE SA as follows:
- IKE version              : IKEv1
- Authentication Method    : Pre-Shared Key
- Pre-Shared Key           : {psk}
- Authentication Algorithm : sha1
- Encryption Algorithm     : aes-128-cbc
- Lifetime                 : 28800 seconds
- Phase 1 Negotiation Mode : main
- Diffie-Hellman           : Group 2

#2: IPsec Configuration

Configure the IPsec SA as follows:
- Protocol                 : esp
- Authentication Algorithm : hmac-sha1-96
- Encryption Algorithm     : aes-128-cbc
- Lifetime                 : 3600 seconds
- Mode                     : tunnel
- Perfect Forward Secrecy  : Diffie-Hellman Group 2

We recommend configuring DPD on your endpoint as follows:
- DPD Interval             : 10
- DPD Retries              : 3

- TCP MSS Adjustment       : 1387 bytes
- Clear Don't Fragment Bit : enabled

#3: Tunnel Interface Configuration

Outside IP Addresses:
- Customer Gateway:        : 198.51.100.7
- Virtual Private Gateway  : {aws}

Inside IP Addresses
- Customer Gateway         : {cgw}
- Virtual Private Gateway  : {vgw}

Configure your tunnel to fragment at the optimal size:
- Tunnel interface MTU     : 1436 bytes

#4: Border Gateway Protocol (BGP) Configuration:

BGP Configuration Options:
- Customer Gateway ASN        : 65000
- Virtual Private Gateway ASN : 7224
- Neighbor IP Address         : {hop}
- Neighbor Hold Time          : 30

"""
IKEV1 = (
    "Amazon Web Services\nVirtual Private Cloud\n\n"
    "Your VPN Connection ID           : vpn-44a8938f\n"
    "Your Virtual Private Gateway ID  : vgw-8db04f81\n"
    "Your Customer Gateway ID         : cgw-b4dc3961\n\n"
    + TUNNEL_V1.format(n=1, psk="Legacy.Key_One1", aws="203.0.113.91",
                       cgw="169.254.255.2/30", vgw="169.254.255.1/30", hop="169.254.255.1")
    + TUNNEL_V1.format(n=2, psk="Legacy.Key_Two2", aws="203.0.113.92",
                       cgw="169.254.255.6/30", vgw="169.254.255.5/30", hop="169.254.255.5")
)
IKEV1_PSKS = ("Legacy.Key_One1", "Legacy.Key_Two2")


def import_error(text: str, path: str = "generic.txt") -> AwsFileError:
    with pytest.raises(AwsFileError) as caught:
        aws.parse(text, path)
    return caught.value


def test_the_example_imports_to_its_values() -> None:
    imported = aws.load(EXAMPLE_PATH)
    crypto = Crypto(2, "aes256-sha256-modp2048", "aes256-sha256-modp2048", 28800, 3600, 10, 30,
                    "restart")
    assert imported.format == "generic"
    assert imported.connection == Connection(
        tunnels=(
            Tunnel("Tunnel1", IPv4Address("192.0.2.10"), IPv4Address("198.51.100.21"),
                   IPv4Interface("169.254.10.2/30"), IPv4Interface("169.254.10.1/30"),
                   Secret("GenericKey.Alpha_1"), 100, crypto),
            Tunnel("Tunnel2", IPv4Address("192.0.2.10"), IPv4Address("198.51.100.22"),
                   IPv4Interface("169.254.11.2/30"), IPv4Interface("169.254.11.1/30"),
                   Secret("GenericKey.Bravo_2"), 200, crypto),
        ),
        vpn_connection_id="vpn-0a1b2c3d4e5f60718",
        vpn_gateway_id="vgw-0b2c3d4e5f6071829",
        customer_gateway_id="cgw-0c3d4e5f607182930",
        routing="static",
        advised_mtu=1427,
        advised_mss=1379,
    )
    assert [t.psk.reveal() for t in imported.connection.tunnels] == list(EXAMPLE_PSKS)
    assert imported.notes == (
        "the Generic format names no tunnels, marks or DPD action; using the seed's "
        "Tunnel1/Tunnel2, marks 100/200 and dpdaction=restart",
    )
    for index, tunnel in enumerate(imported.connection.tunnels):
        assert errors(validate_tunnel(tunnel, index)) == []


def test_an_older_ikev1_download_gives_the_seeds_proposals() -> None:
    imported = aws.parse(IKEV1, "legacy.txt")
    one, two = imported.connection.tunnels
    assert imported.format == "generic"
    assert one.crypto == two.crypto == Crypto()  # the seed's defaults are AWS's defaults
    assert (one.customer_outside_ip, one.aws_outside_ip) == (
        IPv4Address("198.51.100.7"), IPv4Address("203.0.113.91"))
    assert (two.customer_inside_cidr, two.aws_inside_cidr) == (
        IPv4Interface("169.254.255.6/30"), IPv4Interface("169.254.255.5/30"))
    assert (one.psk.reveal(), two.psk.reveal()) == IKEV1_PSKS
    assert imported.connection.customer_gateway_id == "cgw-b4dc3961"


def test_ike_group_under_perfect_forward_secrecy_and_tab_indentation() -> None:
    text = EXAMPLE.replace("  - Diffie-Hellman           : Group 14",
                           "\t- Perfect Forward Secrecy  : Diffie-Hellman Group 15")
    one, _ = aws.parse(text).connection.tunnels
    assert one.crypto.ike == "aes256-sha256-modp3072"
    assert one.crypto.esp == "aes256-sha256-modp2048"  # the IPsec section's PFS is separate


def test_gaps_are_filled_with_the_seeds_values_and_noted() -> None:
    text = (
        EXAMPLE.replace("  - IKE version              : IKEv2\n", "")
        .replace("  - Perfect Forward Secrecy  : Diffie-Hellman Group 14\n", "", 1)
        .replace("  - DPD Interval             : 10\n", "  - DPD Interval             : 5\n", 1)
        .replace("  - DPD Interval             : 10\n", "")
    )
    imported = aws.parse(text)
    one, two = imported.connection.tunnels
    assert (one.crypto.ike_version, two.crypto.ike_version) == (1, 1)
    assert one.crypto.esp == "aes256-sha256"  # no PFS group
    assert two.crypto.esp == "aes256-sha256-modp2048"
    assert (one.crypto.dpd_delay, one.crypto.dpd_timeout) == (5, 30)  # 5 x 3 raised to 30
    assert (two.crypto.dpd_delay, two.crypto.dpd_timeout) == (10, 30)  # no interval: seed's
    assert imported.notes[1:] == (
        "IPsec Tunnel #1 names no IKE version; assuming IKEv1",
        "IPsec Tunnel #1 names no Perfect Forward Secrecy group; ESP without PFS",
        "IPsec Tunnel #1: DPD interval 5 s x 3 retries = 15 s is below AWS's 30 s minimum; "
        "using a 30 s timeout",
        "IPsec Tunnel #2 names no IKE version; assuming IKEv1",
        "IPsec Tunnel #2 gives no DPD Interval/Retries; using the seed's 10 s delay and "
        "30 s timeout",
    )


def test_dpd_timeout_is_interval_times_retries() -> None:
    text = EXAMPLE.replace("DPD Interval             : 10", "DPD Interval             : 12")
    text = text.replace("DPD Retries              : 3", "DPD Retries              : 5")
    tunnel = aws.parse(text).connection.tunnels[0]
    assert (tunnel.crypto.dpd_delay, tunnel.crypto.dpd_timeout) == (12, 60)


def test_tunnel_blocks_are_named_by_their_number_not_their_order() -> None:
    one_at = EXAMPLE.index("IPsec Tunnel #1")
    two_at = EXAMPLE.index("IPsec Tunnel #2")
    swapped = EXAMPLE[:one_at] + EXAMPLE[two_at:] + "\n" + EXAMPLE[one_at:two_at]
    assert aws.parse(swapped).connection == aws.parse(EXAMPLE).connection


def test_aws_rule_violations_are_left_to_validation() -> None:
    text = EXAMPLE.replace("169.254.10.2/30", "169.254.169.254/30").replace(
        "169.254.10.1/30", "169.254.169.253/30")
    tunnel = aws.parse(text).connection.tunnels[0]
    assert tunnel.customer_inside_cidr == IPv4Interface("169.254.169.254/30")
    assert "reserved by AWS" in errors(validate_tunnel(tunnel, 0))[0].message


# --------------------------------------------------------------------------- malformed

TWO_AT = EXAMPLE.index("IPsec Tunnel #2")


def cut_after(text: str, marker: str, occurrence: int = 1) -> str:
    at = -1
    for _ in range(occurrence):
        at = text.index(marker, at + 1)
    return text[: at + len(marker)]


MALFORMED = [
    pytest.param(EXAMPLE[:TWO_AT], "",
                 "tunnel 2 is missing: the file describes only one tunnel", id="one-tunnel"),
    pytest.param(cut_after(EXAMPLE, "#2: IPsec Configuration", 2), "line 79",
                 "IPsec Tunnel #2 has no 'Authentication Algorithm' in section #2 (IPsec) "
                 "and 6 more value(s) (the file may be truncated)",
                 id="truncated-in-tunnel-2"),
    pytest.param(cut_after(EXAMPLE, "Virtual Private Gateway  : 169.254.11.1/3"), "line 126",
                 "the file ends in the middle of this line", id="truncated-in-value"),
    pytest.param(EXAMPLE.replace("198.51.100.21", "198.51.100"), "line 64",
                 "IPsec Tunnel #1: the Virtual Private Gateway outside address is not an IPv4 "
                 "address: '198.51.100'", id="bad-address"),
    pytest.param(EXAMPLE.replace("169.254.11.2/30", "169.254.11.2/3O"), "line 125",
                 "the Customer Gateway inside address is not an IPv4 address with a prefix",
                 id="bad-inside"),
    pytest.param(EXAMPLE.replace("28800 seconds", "28,800 seconds", 1), "line 32",
                 "'Lifetime' in section #1 (Internet Key Exchange) is not a number of seconds: "
                 "'28,800 seconds'", id="bad-number"),
    pytest.param(EXAMPLE.replace(": 10\n", ": ten\n", 1), "line 48",
                 "IPsec Tunnel #1: 'DPD Interval' is not a whole number: 'ten'", id="bad-dpd"),
    pytest.param(EXAMPLE.replace("aes-256-cbc", "des", 1), "line 31",
                 "unsupported encryption algorithm 'des'", id="unknown-encryption"),
    pytest.param(EXAMPLE.replace("hmac-sha2-256-128", "hmac-md5-96", 1), "line 40",
                 "unsupported integrity algorithm 'hmac-md5-96'", id="unknown-integrity"),
    pytest.param(EXAMPLE.replace("Group 14", "Group 99", 1), "line 34",
                 "unknown DH group 99", id="unknown-group"),
    pytest.param(EXAMPLE.replace("Group 14", "Group fourteen", 1), "line 34",
                 "the IKE Diffie-Hellman group is not a Diffie-Hellman group", id="bad-group"),
    pytest.param(EXAMPLE.replace("IKEv2", "IKEv3", 1), "line 27",
                 "the IKE version must be IKEv1 or IKEv2, not 'IKEv3'", id="bad-version"),
    pytest.param(EXAMPLE.replace("Customer Gateway         : 192.0.2.10",
                                 "Customer Gateway         : YOUR_UPLINK_ADDRESS", 1),
                 "line 63", "is still AWS's placeholder 'YOUR_UPLINK_ADDRESS'", id="placeholder"),
    pytest.param(EXAMPLE.replace("IPsec Tunnel #2", "IPsec Tunnel #1"), "line 79",
                 "IPsec Tunnel #1 appears twice", id="duplicate-tunnel"),
    pytest.param(EXAMPLE.replace("IPsec Tunnel #2", "IPsec Tunnel #3"), "",
                 "expected IPsec Tunnel #1 and #2, found #1 and #3", id="tunnel-3"),
    pytest.param(EXAMPLE.replace("  - Lifetime                 : 3600 seconds\n",
                                 "  - Lifetime                 : 3600 seconds\n"
                                 "  - Lifetime                 : 1800 seconds\n", 1),
                 "line 43", "gives 'Lifetime' in section #2 (IPsec) twice (first on line 42)",
                 id="duplicate-key"),
    pytest.param(EXAMPLE.replace("GenericKey.Alpha_1", ""), "line 29",
                 "'Pre-Shared Key' in section #1 (Internet Key Exchange) is empty", id="no-psk"),
]


@pytest.mark.parametrize(("text", "where", "message"), MALFORMED)
def test_malformed_files_are_refused_with_the_line_and_the_reason(
    text: str, where: str, message: str
) -> None:
    error = import_error(text)
    assert error.path == "generic.txt"
    assert error.where == where
    assert message in error.message
    for psk in EXAMPLE_PSKS:
        assert psk not in str(error)


def test_a_psk_pasted_into_an_address_is_masked() -> None:
    text = EXAMPLE.replace("198.51.100.21", "GenericKey.Bravo_2")
    error = import_error(text)
    assert error.where == "line 64"
    assert "'********'" in error.message
    for psk in EXAMPLE_PSKS:
        assert psk not in str(error)


def test_every_line_prefix_imports_the_full_file_or_is_refused() -> None:
    for document in (EXAMPLE, IKEV1):
        full = aws.parse(document).connection
        lines = document.split("\n")
        accepted = 0
        for count in range(len(lines) + 1):
            prefix = "\n".join(lines[:count])
            for text in (prefix, prefix[:-1], prefix[:-3]):
                try:
                    imported = aws.parse(text)
                except AwsFileError as error:
                    for psk in EXAMPLE_PSKS + IKEV1_PSKS:
                        assert psk not in str(error)
                    continue
                accepted += 1
                assert imported.connection == full
        assert accepted > 0


@pytest.mark.parametrize(
    "line",
    [
        "- " + " " * 20_000 + "x",
        "  - Pre-Shared Key" + " " * 20_000 + "x",
        "- a" + " " * 20_000 + ":" + " " * 20_000,
        "- " + "a " * 10_000,
        "x" + " " * 20_000 + ': PSK "' + " " * 20_000,
        "- Customer Gateway : <" * 5_000,
    ],
    ids=["dash-spaces", "key-spaces", "colon-spaces", "words", "psk-spaces", "placeholders"],
)
def test_long_damaged_lines_are_read_in_linear_time(line: str) -> None:
    """A pattern that backtracks over runs of spaces takes minutes here; a linear one, ms."""
    for head in ("IPsec Tunnel #1\n#3: Tunnel Interface Configuration\nOutside IP Addresses:\n",
                 "conn Tunnel1\n\tleftid=192.0.2.1\n"):
        started = time.perf_counter()
        with pytest.raises(AwsFileError):
            aws.parse(head + line + "\n")
        assert time.perf_counter() - started < 2


# --------------------------------------------------------------------------- fuzz


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """A Generic document cut, spliced, shuffled or sprinkled with junk."""
    text = draw(st.sampled_from([EXAMPLE, IKEV1]))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        at = draw(st.integers(0, len(text)))
        line = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.sampled_from(
            ["truncate", "delete", "insert", "splice", "drop-line", "repeat-line", "swap-lines",
             "retype-value"]
        ))
        if op == "truncate":
            text = text[:at]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 300)):]
        elif op == "insert":
            text = text[:at] + draw(st.text(max_size=30)) + text[at:]
        elif op == "splice":
            other = draw(st.sampled_from([EXAMPLE, IKEV1]))
            start = draw(st.integers(0, len(other)))
            text = text[:at] + other[start:start + draw(st.integers(1, 400))] + text[at:]
        elif op == "drop-line":
            text = "\n".join(lines[:line] + lines[line + 1:])
        elif op == "repeat-line":
            text = "\n".join(lines[:line + 1] + lines[line:])
        elif op == "swap-lines":
            other = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines[line], lines[other] = lines[other], lines[line]
            text = "\n".join(lines)
        else:  # keep the key, replace what follows its colon
            key, sep, _ = lines[line].partition(":")
            if sep:
                lines[line] = key + ": " + draw(st.text(max_size=20))
            text = "\n".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(damaged(), st.text(max_size=400)))
def test_fuzz_the_generic_reader_raises_nothing_but_aws_file_error(text: str) -> None:
    for read in (generic.parse, aws.parse):
        try:
            imported = read(text, "fuzz.txt")
        except AwsFileError as error:
            assert error.path == "fuzz.txt"
            assert error.message
        else:
            assert len(imported.connection.tunnels) == 2
