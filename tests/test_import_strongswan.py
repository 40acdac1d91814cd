"""The strongSwan download (the seed's own format) -> Connection."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import aws
from wizard.aws import AwsFileError, strongswan
from wizard.model import Connection, Crypto, Tunnel, errors, validate_tunnel
from wizard.secret import Secret

ROOT = Path(__file__).resolve().parents[1]
SEED_PATH = ROOT.parent / "shared" / "seed" / "aws-vpn-strongswan-generic.txt"
SEED = SEED_PATH.read_text(encoding="utf-8")
EXAMPLE = (ROOT / "examples" / "aws-strongswan-seed.txt").read_text(encoding="utf-8")
SEED_PSKS = ("aM6ktTm3pv5etv9eC", "aM6ktTm3pv5etv9eC2")
SEED_CRYPTO = Crypto(
    ike_version=1,
    ike="aes128-sha1-modp1024",
    esp="aes128-sha1-modp1024",
    ike_lifetime=28800,
    esp_lifetime=3600,
    dpd_delay=10,
    dpd_timeout=30,
    dpd_action="restart",
)


def seed_connection() -> Connection:
    """The seed's values, typed out by hand from the document."""
    return Connection(
        tunnels=(
            Tunnel(
                name="Tunnel1",
                customer_outside_ip=IPv4Address("62.81.252.34"),
                aws_outside_ip=IPv4Address("52.50.67.155"),
                customer_inside_cidr=IPv4Interface("169.254.23.6/30"),
                aws_inside_cidr=IPv4Interface("169.254.23.5/30"),
                psk=Secret("aM6ktTm3pv5etv9eC"),
                mark=100,
                crypto=SEED_CRYPTO,
            ),
            Tunnel(
                name="Tunnel2",
                customer_outside_ip=IPv4Address("62.81.252.34"),
                aws_outside_ip=IPv4Address("54.77.23.12"),
                customer_inside_cidr=IPv4Interface("169.254.22.74/30"),
                aws_inside_cidr=IPv4Interface("169.254.22.73/30"),
                psk=Secret("aM6ktTm3pv5etv9eC2"),
                mark=200,
                crypto=SEED_CRYPTO,
            ),
        ),
        vpn_connection_id="vpn-f6fb86bd",
        vpn_gateway_id="vgw-5d241a29",
        customer_gateway_id="cgw-e2ead396",
    )


def import_error(text: str, path: str = "aws.txt") -> AwsFileError:
    with pytest.raises(AwsFileError) as caught:
        aws.parse(text, path)
    return caught.value


# --------------------------------------------------------------------------- the seed


def test_the_seed_imports_to_exactly_its_own_values() -> None:
    imported = aws.load(SEED_PATH)
    assert imported.format == "strongswan"
    assert imported.connection == seed_connection()
    # Secret compares by value, but say it plainly: the keys are the document's.
    assert [t.psk.reveal() for t in imported.connection.tunnels] == list(SEED_PSKS)
    assert imported.notes == ()


def test_the_seed_passes_the_tunnel_validation() -> None:
    tunnels = aws.load(SEED_PATH).connection.tunnels
    for index, tunnel in enumerate(tunnels):
        assert errors(validate_tunnel(tunnel, index)) == []


def test_the_example_is_the_seed_with_documentation_addresses_and_fake_keys() -> None:
    back = EXAMPLE
    for example, seed in (
        ("ExampleKey.Two_2", "aM6ktTm3pv5etv9eC2"),
        ("ExampleKey.One_1", "aM6ktTm3pv5etv9eC"),
        ("198.51.100.10", "62.81.252.34"),
        ("203.0.113.1", "52.50.67.155"),
        ("203.0.113.2", "54.77.23.12"),
        ("vpn-0e1a2b3c", "vpn-f6fb86bd"),
        ("vgw-0d4e5f6a", "vgw-5d241a29"),
        ("cgw-0c7b8a9d", "cgw-e2ead396"),
    ):
        back = back.replace(example, seed)
    assert back == SEED
    for psk in SEED_PSKS:
        assert psk not in EXAMPLE


def test_the_example_imports_with_its_documentation_values() -> None:
    imported = aws.load(ROOT / "examples" / "aws-strongswan-seed.txt")
    one, two = imported.connection.tunnels
    assert imported.format == "strongswan"
    assert (one.customer_outside_ip, one.aws_outside_ip) == (
        IPv4Address("198.51.100.10"), IPv4Address("203.0.113.1"))
    assert (two.customer_outside_ip, two.aws_outside_ip) == (
        IPv4Address("198.51.100.10"), IPv4Address("203.0.113.2"))
    assert (one.customer_inside_cidr, one.aws_inside_cidr) == (
        IPv4Interface("169.254.23.6/30"), IPv4Interface("169.254.23.5/30"))
    assert (two.customer_inside_cidr, two.aws_inside_cidr) == (
        IPv4Interface("169.254.22.74/30"), IPv4Interface("169.254.22.73/30"))
    assert (one.psk.reveal(), two.psk.reveal()) == ("ExampleKey.One_1", "ExampleKey.Two_2")
    assert (one.mark, two.mark) == (100, 200)
    for index, tunnel in enumerate((one, two)):
        assert errors(validate_tunnel(tunnel, index)) == []


# --------------------------------------------------------------------------- other values

OTHER = """\
Your VPN Connection ID                  : vpn-00aa11bb
conn aws-a
\tauto=start
\tleft=%defaultroute
\tleftid=192.0.2.10
\tright=203.0.113.77
\tkeyexchange=ikev2
\tike=aes256-sha256-modp2048
\tikelifetime=4h
\tesp=aes256gcm16-modp3072
\tlifetime=45m
\tdpddelay=15s
\tdpdtimeout=60s
\tdpdaction=clear
\tmark=7

conn aws-b
\tleftid=192.0.2.10
\tright=203.0.113.78
\tkeyexchange=ikev2
\tike=aes256-sha256-modp2048
\tikelifetime=14400
\tesp=aes256gcm16-modp3072
\tkeylife=2700s
\tdpddelay=15
\tdpdtimeout=1m
\tdpdaction=hold
\tmark=0x8

192.0.2.10 203.0.113.77 : PSK "Other.Key_Alpha9"
192.0.2.10 203.0.113.78 : PSK "Other.Key_Bravo9"

ip link add aws-a type vti local 192.0.2.10 remote 203.0.113.77 key 7
ip addr add 169.254.100.2/30 remote 169.254.100.1/30 dev aws-a
ip addr add 169.254.101.2/30 remote 169.254.101.1/30 dev aws-b
"""


def test_a_file_with_other_addresses_keys_ikev2_and_proposals() -> None:
    imported = aws.parse(OTHER, "other.txt")
    one, two = imported.connection.tunnels
    crypto = Crypto(2, "aes256-sha256-modp2048", "aes256gcm16-modp3072", 14400, 2700, 15, 60,
                    "clear")
    assert one == Tunnel(
        "aws-a", IPv4Address("192.0.2.10"), IPv4Address("203.0.113.77"),
        IPv4Interface("169.254.100.2/30"), IPv4Interface("169.254.100.1/30"),
        Secret("Other.Key_Alpha9"), 7, crypto,
    )
    assert two == Tunnel(
        "aws-b", IPv4Address("192.0.2.10"), IPv4Address("203.0.113.78"),
        IPv4Interface("169.254.101.2/30"), IPv4Interface("169.254.101.1/30"),
        Secret("Other.Key_Bravo9"), 8, Crypto(**{**crypto.__dict__, "dpd_action": "hold"}),
    )
    assert imported.connection.vpn_connection_id == "vpn-00aa11bb"
    assert imported.connection.vpn_gateway_id == ""
    assert imported.notes == ()


def test_missing_crypto_keys_take_the_seeds_values_and_say_so() -> None:
    crypto_lines = "\tkeyexchange=ikev2\n\tike=aes256-sha256-modp2048\n\tikelifetime=4h\n"
    text = OTHER.replace(crypto_lines, "")
    imported = aws.parse(text)
    one, two = imported.connection.tunnels
    assert (one.crypto.ike_version, one.crypto.ike, one.crypto.ike_lifetime) == (
        1, "aes128-sha1-modp1024", 28800)
    assert two.crypto.ike_version == 2
    assert imported.notes == (
        "conn aws-a has no keyexchange=, ike=, ikelifetime=; using the seed's values for them",
    )


def test_a_conn_without_mark_takes_the_seeds_mark_and_says_so() -> None:
    text = OTHER.replace("\tmark=0x8\n", "")
    imported = aws.parse(text)
    assert [t.mark for t in imported.connection.tunnels] == [7, 200]
    assert "conn aws-b gives no mark; using the seed's 200" in imported.notes


def test_keyexchange_ike_is_read_as_ikev2_with_a_note() -> None:
    imported = aws.parse(OTHER.replace("keyexchange=ikev2", "keyexchange=ike", 1))
    assert imported.connection.tunnels[0].crypto.ike_version == 2
    assert any("keyexchange=ike means IKEv2" in note for note in imported.notes)


def test_aws_rule_violations_are_left_to_validation() -> None:
    text = SEED.replace("169.254.23.6/30", "169.254.1.2/30").replace(
        "169.254.23.5/30", "169.254.1.1/30")
    tunnel = aws.parse(text).connection.tunnels[0]
    assert tunnel.customer_inside_cidr == IPv4Interface("169.254.1.2/30")
    problems = errors(validate_tunnel(tunnel, 0))
    assert [p.where for p in problems] == ["tunnels[0].customer_inside_cidr",
                                           "tunnels[0].aws_inside_cidr"]


# --------------------------------------------------------------------------- malformed

TUNNEL2_AT = SEED.index("IPSEC Tunnel #2")


def cut_after(text: str, marker: str) -> str:
    return text[: text.index(marker) + len(marker)]


MALFORMED = [
    pytest.param(SEED[:TUNNEL2_AT], "",
                 "tunnel 2 is missing: the file describes only one tunnel", id="one-tunnel"),
    pytest.param(cut_after(SEED, "\tmark=200\n"), "",
                 'conn Tunnel2: no ipsec.secrets line "62.81.252.34 54.77.23.12 : PSK ..."',
                 id="truncated-in-conn-2"),
    pytest.param(cut_after(SEED, '54.77.23.12 : PSK "aM6kt'), "line 172",
                 "the file ends in the middle of this line", id="truncated-in-psk"),
    pytest.param(SEED.replace('PSK "aM6ktTm3pv5etv9eC2"', 'PSK "aM6ktTm3pv5etv9eC2'), "line 172",
                 'the ipsec.secrets line is malformed; expected LEFT RIGHT : PSK "key"',
                 id="psk-unquoted"),
    pytest.param(cut_after(SEED, "remote 169.254.22.73/30 dev Tunnel2"), "line 184",
                 "the file ends in the middle of this line", id="truncated-after-address"),
    pytest.param(SEED[:300], "", "no tunnel found", id="truncated-in-header"),
    pytest.param(SEED.replace("right=52.50.67.155", "right=52.50.67"), "line 41",
                 "'right=' is not an IPv4 address: '52.50.67'", id="bad-address"),
    pytest.param(SEED.replace("leftid=62.81.252.34", "leftid=62.81.252.349", 1), "line 40",
                 "'leftid=' is not an IPv4 address: '62.81.252.349'", id="bad-leftid"),
    pytest.param(SEED.replace("ikelifetime=8h", "ikelifetime=8x", 1), "line 47",
                 "'ikelifetime=' is not a duration such as 30s, 8h or 3600: '8x'",
                 id="bad-duration"),
    pytest.param(SEED.replace("mark=100", "mark=1o0"), "line 57",
                 "'mark=' is not a whole number: '1o0'", id="bad-mark"),
    pytest.param(SEED.replace("mark=200", "mark=300"), "line 169",
                 "the leftupdown '-m 200' for Tunnel2 differs from mark=300 (line 166)",
                 id="mark-disagrees"),
    pytest.param(SEED.replace("sudo ip addr add 169.254.23.6/30",
                              "sudo ip addr add 169.254.23.10/30"),
                 "line 75", "inside addresses 169.254.23.10/30 / 169.254.23.5/30 for Tunnel1 "
                 "differ from 169.254.23.6/30 / 169.254.23.5/30 on the leftupdown line (line 60)",
                 id="inside-disagrees"),
    pytest.param(SEED.replace("keyexchange=ikev1", "keyexchange=ikev3", 1), "line 45",
                 "'keyexchange=' must be ikev1 or ikev2, not 'ikev3'", id="bad-keyexchange"),
    pytest.param(SEED.replace("\tesp=aes128-sha1-modp1024\n",
                              "\tesp=aes128-sha1-modp1024\n\tesp=x\n", 1),
                 "line 49", "'esp=' appears twice in conn Tunnel1 (first on line 48)",
                 id="duplicate-key"),
    pytest.param(SEED.replace("\tauto=start\n", "\tauto start\n", 1), "line 38",
                 "expected key=value inside conn Tunnel1", id="not-key-value"),
    pytest.param(SEED.replace('52.50.67.155 : PSK "aM6ktTm3pv5etv9eC"\n', "", 1), "",
                 'conn Tunnel1: no ipsec.secrets line "62.81.252.34 52.50.67.155 : PSK ..."',
                 id="no-psk-line"),
]


@pytest.mark.parametrize(("text", "where", "message"), MALFORMED)
def test_malformed_files_are_refused_with_the_line_and_the_reason(
    text: str, where: str, message: str
) -> None:
    error = import_error(text, "aws.txt")
    assert error.path == "aws.txt"
    assert error.where == where
    assert message in error.message
    assert str(error).startswith(f"aws.txt, {where}: " if where else "aws.txt: ")
    for psk in SEED_PSKS:
        assert psk not in str(error)


def test_a_psk_quoted_where_an_address_belongs_is_masked() -> None:
    text = SEED.replace("right=52.50.67.155", "right=aM6ktTm3pv5etv9eC2", 1)
    error = import_error(text)
    assert error.where == "line 41"
    assert "'right=' is not an IPv4 address: '********'" in error.message
    for psk in SEED_PSKS:
        assert psk not in str(error)


def test_a_long_psk_is_masked_before_the_quoted_value_is_cut_short() -> None:
    long_psk = "Long.Key_" + "x" * 50
    text = SEED.replace("aM6ktTm3pv5etv9eC2", long_psk).replace(
        "right=52.50.67.155", "right=10." + long_psk, 1)
    error = import_error(text)
    assert error.message == "'right=' is not an IPv4 address: '10.********'"
    assert long_psk[:12] not in str(error)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n\t\n", "the file is empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00conn Tunnel1", "the file is binary"),
        (SEED.encode()[:2000] + b"\xff\xfe\n", "not UTF-8 text (byte 0xff"),
        (b"just some notes\nabout a VPN\n", "this is not an AWS VPN configuration"),
    ],
    ids=["empty", "blank", "binary", "latin1", "garbage"],
)
def test_files_that_are_no_configuration_at_all(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "download.txt"
    path.write_bytes(data)
    with pytest.raises(AwsFileError) as caught:
        aws.load(path)
    assert caught.value.path == str(path)
    assert message in caught.value.message


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_bytes(SEED.encode() * (aws.MAX_BYTES // len(SEED) + 1))
    with pytest.raises(AwsFileError) as caught:
        aws.load(path)
    assert "the file is larger than 1 MiB" in caught.value.message


def test_an_unreadable_file_is_an_aws_file_error_not_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(AwsFileError) as caught:
        aws.load(tmp_path / "missing.txt")
    assert "cannot read the file" in caught.value.message
    with pytest.raises(AwsFileError):
        aws.load(tmp_path)  # a directory


def test_every_line_prefix_of_the_seed_imports_the_seed_or_is_refused() -> None:
    """A truncated download never imports as a different, wrong connection."""
    lines = SEED.split("\n")
    full = seed_connection()
    accepted = 0
    for count in range(len(lines) + 1):
        prefix = "\n".join(lines[:count])
        for text in (prefix, prefix + "\n", prefix[:-1]):
            try:
                imported = aws.parse(text, "seed")
            except AwsFileError as error:
                for psk in SEED_PSKS:
                    assert psk not in str(error)
                continue
            accepted += 1
            assert imported.connection == full
    assert accepted > 0


# --------------------------------------------------------------------------- fuzz


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """A strongSwan document cut, spliced, shuffled or sprinkled with junk."""
    text = draw(st.sampled_from([SEED, EXAMPLE, OTHER]))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        at = draw(st.integers(0, len(text)))
        line = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.sampled_from(
            ["truncate", "delete", "insert", "splice", "drop-line", "repeat-line", "swap-lines"]
        ))
        if op == "truncate":
            text = text[:at]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 300)):]
        elif op == "insert":
            text = text[:at] + draw(st.text(max_size=30)) + text[at:]
        elif op == "splice":
            other = draw(st.sampled_from([SEED, OTHER]))
            start = draw(st.integers(0, len(other)))
            text = text[:at] + other[start:start + draw(st.integers(1, 400))] + text[at:]
        elif op == "drop-line":
            text = "\n".join(lines[:line] + lines[line + 1:])
        elif op == "repeat-line":
            text = "\n".join(lines[:line + 1] + lines[line:])
        else:
            other = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines[line], lines[other] = lines[other], lines[line]
            text = "\n".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(damaged(), st.text(max_size=400)))
def test_fuzz_the_strongswan_reader_raises_nothing_but_aws_file_error(text: str) -> None:
    for read in (strongswan.parse, aws.parse):
        try:
            imported = read(text, "fuzz.txt")
        except AwsFileError as error:
            assert error.path == "fuzz.txt"
            assert error.message
        else:
            assert len(imported.connection.tunnels) == 2
