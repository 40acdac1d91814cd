"""Answers files: load, resolve with provenance, dump, save."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import fields, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from wizard import answers as answers_mod
from wizard import aws
from wizard.answers import (
    CHOICE_KEYS,
    CONNECTION_KEYS,
    CRYPTO_KEYS,
    FROM_AWS_ONLY,
    ROUTING_KEYS,
    TUNNEL_KEYS,
    AnswersError,
    dump_answers,
    load_answers,
    parse_answers,
    resolve,
    save_answers,
)
from wizard.model import Choices, Connection, Crypto, Setup, Tunnel, validate_choices
from wizard.secret import Secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "aws-strongswan-seed.txt"
EXAMPLE_PSKS = ("ExampleKey.One_1", "ExampleKey.Two_2")


@pytest.fixture(scope="module")
def imported() -> aws.Imported:
    return aws.load(EXAMPLE)


def custom_choices() -> Choices:
    """Every field away from its default, so a field that fails to round-trip shows."""
    return Choices(
        enable_forwarding=False,
        mode="updown",
        physical_interface="ens3",
        local_ip=IPv4Address("192.0.2.5"),
        lan_interfaces=("eth1", "br-lan"),
        vpc_cidrs=(IPv4Network("10.10.0.0/16"), IPv4Network("10.20.0.0/24")),
        mtu=1400,
        persistence="networkd",
        heartbeat=False,
        heartbeat_interval=9,
        backend="swanctl",
    )


def write(tmp_path: Path, text: str, name: str = "answers.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def answers_error(tmp_path: Path, text: str) -> AnswersError:
    path = write(tmp_path, text)
    with pytest.raises(AnswersError) as caught:
        load_answers(path)
    assert caught.value.path == str(path)
    return caught.value


# --------------------------------------------------------------------------- schema


def test_the_schema_covers_every_model_field() -> None:
    assert set(CHOICE_KEYS) == {f.name for f in fields(Choices)}
    assert set(TUNNEL_KEYS) == {f.name for f in fields(Tunnel)} - {"crypto"} - FROM_AWS_ONLY
    assert set(CRYPTO_KEYS) == {f.name for f in fields(Crypto)}
    assert set(CONNECTION_KEYS) == (
        {f.name for f in fields(Connection)} - {"tunnels"} - FROM_AWS_ONLY
    )
    # the routing keys: the type, and the BGP values of a file without a BGP section
    assert set(ROUTING_KEYS) == {"routing"} | {f"bgp_{n}" for n in ("asn", "aws_asn",
                                                                   "hold_time")}


def test_the_documented_example_loads(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "answers.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    answers = load_answers(write(tmp_path, example))
    assert answers.import_path == "aws-vpn.txt"
    assert answers.choices["vpc_cidrs"] == (IPv4Network("10.0.0.0/16"),)
    assert answers.tunnels[0]["psk"] == Secret("ExampleKey.One_1")
    assert answers.tunnels[1] == {"mark": 200}


# --------------------------------------------------------------------------- round trips


def test_dump_load_resolve_gives_the_same_setup_with_secrets(
    tmp_path: Path, imported: aws.Imported
) -> None:
    setup = Setup(imported.connection, custom_choices())
    path = tmp_path / "answers.toml"
    save_answers(path, setup, include_secrets=True)
    text = path.read_text(encoding="utf-8")
    for psk in EXAMPLE_PSKS:
        assert f'psk = "{psk}"' in text
    resolved = resolve(load_answers(path), None)
    assert resolved.setup == setup
    assert set(resolved.sources.values()) == {"answers"}


def test_dump_without_secrets_replays_against_the_aws_file(
    tmp_path: Path, imported: aws.Imported
) -> None:
    second = imported.connection.tunnels[1]
    changed = replace(second, mark=42, crypto=replace(second.crypto, dpd_action="clear"))
    setup = Setup(
        replace(imported.connection, tunnels=(imported.connection.tunnels[0], changed)),
        custom_choices(),
    )
    path = tmp_path / "answers.toml"
    save_answers(path, setup, import_path="aws.txt", imported=imported)
    text = path.read_text(encoding="utf-8")
    for psk in EXAMPLE_PSKS:
        assert psk not in text
    document = tomllib.loads(text)
    assert document["import"] == "aws.txt"
    # Only the operator's own changes are kept; the rest comes from the AWS file on replay.
    assert document["tunnels"] == [{}, {"mark": 42, "dpd_action": "clear"}]
    answers = load_answers(path)
    resolved = resolve(answers, imported)
    assert resolved.setup == setup
    assert resolved.sources["tunnels[1].mark"] == "answers"
    assert resolved.sources["tunnels[1].crypto.dpd_action"] == "answers"
    assert resolved.sources["tunnels[1].psk"] == "import"
    assert resolved.sources["tunnels[0].aws_outside_ip"] == "import"


def test_a_file_without_secrets_and_without_an_aws_file_says_what_is_missing(
    imported: aws.Imported,
) -> None:
    text = dump_answers(Setup(imported.connection))
    assert "psk" not in text.replace("Pre-shared keys are not saved", "")
    with pytest.raises(AnswersError) as caught:
        resolve(parse_answers(text, "saved.toml"), None)
    assert caught.value.key == "tunnels[0].psk"
    assert "an AWS file or full tunnel answers are needed" in caught.value.message


def test_strings_are_escaped_so_odd_values_round_trip(imported: aws.Imported) -> None:
    odd = Choices(physical_interface='we"ird\\name\ttab', lan_interfaces=("a\u00e9", "b\x01"))
    setup = Setup(imported.connection, odd)
    text = dump_answers(setup, include_secrets=True)
    written = tomllib.loads(text)["choices"]
    assert written["physical_interface"] == 'we"ird\\name\ttab'
    assert written["lan_interfaces"] == ["a\u00e9", "b\x01"]
    # Written faithfully, but refused on the way back in: no field may hold a control
    # character or break its grammar (issue 9 item 2), and the refusal names the key.
    with pytest.raises(AnswersError) as caught:
        parse_answers(text)
    assert caught.value.key == "choices.physical_interface"


def test_local_ip_unset_is_left_out_and_stays_unset(imported: aws.Imported) -> None:
    setup = Setup(imported.connection, Choices(local_ip=None))
    text = dump_answers(setup, include_secrets=True)
    assert "local_ip =" not in text
    assert resolve(parse_answers(text), None).setup.choices.local_ip is None


# --------------------------------------------------------------------------- provenance


def test_every_field_reports_where_it_came_from(tmp_path: Path, imported: aws.Imported) -> None:
    path = write(tmp_path, """
[choices]
mode = "updown"
vpc_cidrs = ["10.0.0.0/16"]

[[tunnels]]

[[tunnels]]
ike = "aes256-sha256-modp2048"
""")
    resolved = resolve(load_answers(path), imported)
    sources = resolved.sources
    assert sources["choices.mode"] == "answers"
    assert sources["choices.vpc_cidrs"] == "answers"
    assert sources["choices.mtu"] == "default"
    assert sources["tunnels[0].psk"] == "import"
    assert sources["tunnels[1].crypto.ike"] == "answers"
    assert sources["tunnels[1].crypto.esp"] == "import"
    assert sources["connection.vpn_connection_id"] == "import"
    expected_keys = (
        {f"choices.{k}" for k in CHOICE_KEYS}
        | {f"connection.{k}" for k in (*CONNECTION_KEYS, "routing")}
        | {f"tunnels[{i}].{k}" for i in (0, 1) for k in TUNNEL_KEYS}
        | {f"tunnels[{i}].crypto.{k}" for i in (0, 1) for k in CRYPTO_KEYS}
    )
    assert set(sources) == expected_keys
    setup = resolved.setup
    assert setup.choices.mode == "updown"
    assert setup.choices.mtu == 1419
    assert setup.tunnels[1].crypto.ike == "aes256-sha256-modp2048"
    assert setup.tunnels[1].crypto.esp == imported.connection.tunnels[1].crypto.esp
    assert setup.tunnels[0] == imported.connection.tunnels[0]


def test_without_answers_everything_is_import_or_default(imported: aws.Imported) -> None:
    resolved = resolve(None, imported)
    assert resolved.setup == Setup(imported.connection, Choices())
    assert {v for k, v in resolved.sources.items() if k.startswith("choices.")} == {"default"}
    assert {v for k, v in resolved.sources.items() if k.startswith("tunnels")} == {"import"}


def test_full_tunnel_answers_need_no_aws_file(tmp_path: Path) -> None:
    tunnel = """
[[tunnels]]
customer_outside_ip = "198.51.100.10"
aws_outside_ip = "203.0.113.{n}"
customer_inside_cidr = "169.254.{n}0.2/30"
aws_inside_cidr = "169.254.{n}0.1/30"
psk = "Answer.Key_{n}xyz"
"""
    path = write(tmp_path, tunnel.format(n=1) + tunnel.format(n=2))
    resolved = resolve(load_answers(path), None)
    one, two = resolved.setup.tunnels
    assert (one.name, one.mark, two.name, two.mark) == ("Tunnel1", 100, "Tunnel2", 200)
    assert two.aws_inside_cidr == IPv4Interface("169.254.20.1/30")
    assert one.crypto == Crypto()
    assert resolved.sources["tunnels[0].name"] == "default"
    assert resolved.sources["tunnels[0].crypto.ike"] == "default"
    assert resolved.sources["tunnels[1].psk"] == "answers"
    assert resolved.sources["connection.vpn_connection_id"] == "default"


def test_no_aws_file_and_no_tunnels_is_an_error() -> None:
    with pytest.raises(AnswersError) as caught:
        resolve(parse_answers('[choices]\nmode = "manual"\n', "a.toml"), None)
    assert caught.value.key == "tunnels"
    assert "an AWS file" in caught.value.message
    assert "full [[tunnels]] answers are needed" in caught.value.message
    with pytest.raises(AnswersError):
        resolve(None, None)


def test_more_tunnel_answers_than_the_aws_file_has_is_an_error(imported: aws.Imported) -> None:
    answers = parse_answers("[[tunnels]]\n[[tunnels]]\n[[tunnels]]\nmark = 300\n", "a.toml")
    with pytest.raises(AnswersError) as caught:
        resolve(answers, imported)
    assert caught.value.key == "tunnels[2]"
    assert "3 tunnels but the AWS file has 2" in caught.value.message


def test_allowed_values_are_left_to_validation(imported: aws.Imported) -> None:
    answers = parse_answers('[choices]\nmode = "sometimes"\n', "a.toml")
    setup = resolve(answers, imported).setup
    assert setup.choices.mode == "sometimes"
    assert [p.where for p in validate_choices(setup.choices)] == ["choices.mode"]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("improt = 'aws.txt'\n", "improt", "unknown key; expected one of choices, connection"),
        ("[choices]\nmtuu = 1400\n", "choices.mtuu", "unknown key"),
        ("[[tunnels]]\npks = 'x'\n", "tunnels[0].pks", "unknown key"),
        ("[choices]\nmtu = '1419'\n", "choices.mtu", "must be an integer, not a string"),
        ("[choices]\nheartbeat = 1\n", "choices.heartbeat",
         "must be true or false, not an integer"),
        ("[choices]\nmtu = true\n", "choices.mtu", "must be an integer, not a boolean"),
        ("[choices]\nmtu = 1419.5\n", "choices.mtu", "must be an integer, not a float"),
        ("[choices]\nvpc_cidrs = '10.0.0.0/16'\n", "choices.vpc_cidrs",
         "must be an array, not a string"),
        ("[choices]\nvpc_cidrs = ['10.0.0.1/16']\n", "choices.vpc_cidrs",
         "item 1 '10.0.0.1/16' is not a network such as 10.0.0.0/16 (10.0.0.1/16 has host bits "
         "set; did you mean 10.0.0.0/16?)"),
        ("[choices]\nlan_interfaces = ['eth1', 2]\n", "choices.lan_interfaces",
         "item 2 must be a string, not an integer"),
        ("[choices]\nlocal_ip = '192.0.2.300'\n", "choices.local_ip",
         "'192.0.2.300' is not an IPv4 address"),
        ("[[tunnels]]\ncustomer_inside_cidr = '169.254.10.2'\n", "tunnels[0].customer_inside_cidr",
         "needs a prefix length"),
        ("[[tunnels]]\nmark = '100'\n", "tunnels[0].mark", "must be an integer, not a string"),
        ("[[tunnels]]\nike_lifetime = 2021-01-01\n", "tunnels[0].ike_lifetime",
         "must be an integer, not a date or time"),
        ("choices = 3\n", "choices", "must be a table ([choices]), not an integer"),
        ("[tunnels]\nmark = 1\n", "tunnels", "must be an array of tables"),
        ("import = ''\n", "import", "is empty"),
        ("[choices\nmode = 'x'\n", "", "not valid TOML"),
    ],
)
def test_unknown_keys_and_wrong_types_name_the_key_and_the_file(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    error = answers_error(tmp_path, text)
    assert error.key == key
    assert message in error.message
    assert str(error).startswith(str(tmp_path / "answers.toml"))


def test_a_psk_of_the_wrong_type_is_not_quoted(tmp_path: Path) -> None:
    error = answers_error(tmp_path, "[[tunnels]]\npsk = 12345678901\n")
    assert error.key == "tunnels[0].psk"
    assert error.message == "must be a string, not an integer"
    assert "12345678901" not in str(error)


def test_a_missing_or_binary_file_is_an_answers_error(tmp_path: Path) -> None:
    with pytest.raises(AnswersError, match="cannot read the file"):
        load_answers(tmp_path / "nope.toml")
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AnswersError, match="not UTF-8"):
        load_answers(path)


# --------------------------------------------------------------------------- saving


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("include_secrets", [False, True])
def test_the_saved_file_is_0600_with_or_without_secrets(
    tmp_path: Path, imported: aws.Imported, include_secrets: bool
) -> None:
    path = tmp_path / "answers.toml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    save_answers(path, Setup(imported.connection), include_secrets=include_secrets)
    assert mode_of(path) == 0o600
    assert path.read_text(encoding="utf-8") != "old"
    assert [p.name for p in tmp_path.iterdir()] == ["answers.toml"]  # no temp file left


def test_no_psk_in_the_dump_unless_asked(imported: aws.Imported) -> None:
    setup = Setup(imported.connection)
    without = dump_answers(setup)
    with_secrets = dump_answers(setup, include_secrets=True)
    for psk in EXAMPLE_PSKS:
        assert psk not in without
        assert psk in with_secrets


def test_a_failed_write_keeps_the_old_file(
    tmp_path: Path, imported: aws.Imported, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "answers.toml"
    path.write_text("previous answers\n", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(answers_mod.os, "replace", broken_replace)
    with pytest.raises(AnswersError) as caught:
        save_answers(path, Setup(imported.connection))
    assert "No space left on device" in caught.value.message
    assert path.read_text(encoding="utf-8") == "previous answers\n"
    assert [p.name for p in tmp_path.iterdir()] == ["answers.toml"]


def test_saving_into_a_missing_directory_is_an_answers_error(
    tmp_path: Path, imported: aws.Imported
) -> None:
    with pytest.raises(AnswersError, match="cannot write"):
        save_answers(tmp_path / "no" / "such" / "answers.toml", Setup(imported.connection))
    assert not os.path.exists(tmp_path / "no")
