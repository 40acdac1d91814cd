"""Issue 9 items 2, 8, 9 and 12: strict grammars at every input, plans that cannot be bad,
inputs with limits, and dynamic-routing connections recognised and refused."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from seed_setup import seed_connection, seed_setup

from wizard import aws, fields
from wizard.answers import AnswersError, load_answers, parse_answers, resolve
from wizard.aws import AwsFileError
from wizard.inputs import load
from wizard.model import Connection, Setup, errors, validate
from wizard.plan import build_plan
from wizard.preflight import box_conflicts, conflicting_conns, conflicting_secrets
from wizard.questions import BY_ID
from wizard.render.guard import UnsafeRender, checked
from wizard.render.notes import AWS_MTU_ADVICE
from wizard.system.paths import Root
from wizard.system.sysctl import proc_path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
XML = (ROOT / "examples" / "aws-config.xml").read_text(encoding="utf-8")
GENERIC_BGP = DATA / "aws-generic-bgp.txt"
XML_BGP = DATA / "aws-bgp.xml"


def _named(setup: Setup, index: int, name: str) -> Setup:
    tunnels = list(setup.tunnels)
    tunnels[index] = replace(tunnels[index], name=name)
    return replace(setup, connection=replace(setup.connection, tunnels=tuple(tunnels)))


def _where(setup: Setup) -> dict[str, str]:
    return {p.where: p.message for p in errors(validate(setup))}


# --------------------------------------------------------------------------- item 2: grammars


def test_a_line_break_in_the_xml_connection_id_is_refused_naming_the_attribute() -> None:
    text = XML.replace('id="vpn-0d4e5f60718293a4b"',
                       'id="vpn-0e1a2b3c&#10;include /etc/shadow&#10;#"')
    with pytest.raises(AwsFileError) as caught:
        aws.parse(text, "vpn.xml")
    assert caught.value.where == "vpn_connection/@id"
    assert "\n" not in str(caught.value)
    assert "'vpn-0e1a2b3c\\ninclude /etc/shadow\\n#'" in caught.value.message


def test_a_line_break_in_the_answers_connection_id_is_refused_naming_the_key() -> None:
    with pytest.raises(AnswersError) as caught:
        parse_answers('[connection]\nvpn_connection_id = "vpn-0e1a2b3c\\ninclude /etc/shadow"\n')
    assert caught.value.key == "connection.vpn_connection_id"


@pytest.mark.parametrize("value", ["aes128-sha1-modp1024\\n", "aes128-sha1-modp1024 ",
                                   " aes128-sha1-modp1024", "aes128-sha1-modp1024\\n}"])
def test_the_raw_answers_proposal_is_checked_not_a_stripped_copy(value: str) -> None:
    with pytest.raises(AnswersError) as caught:
        parse_answers(f'[[tunnels]]\nike = "{value}"\n')
    assert caught.value.key == "tunnels[0].ike"


def test_a_proposal_question_refuses_a_line_break_inside() -> None:
    question = BY_ID["tunnels[0].crypto.esp"]
    with pytest.raises(ValueError, match="control or invisible character '\\\\n'"):
        question.apply(seed_setup(), "aes128-sha1-modp1024\ninclude /etc/shadow")


def test_an_unchecked_model_is_stopped_by_the_render_guard() -> None:
    """The second wall: a model built around validation still cannot reach a file."""
    connection = replace(seed_connection(), vpn_connection_id="vpn-1\ninclude /etc/shadow")
    setup = Setup(connection, replace(seed_setup().choices, backend="swanctl"))
    with pytest.raises(UnsafeRender, match=r"connection\.vpn_connection_id: the value"):
        build_plan(setup)
    plan = build_plan(seed_setup(backend="swanctl"))
    step = plan.step("swanctl.conf")
    change = step.files[0]
    bad = replace(change, after=change.after.replace("connections {", 'connections { "'))
    with pytest.raises(UnsafeRender, match=r"vpn-wizard\.conf, line 5: .* unbalanced"):
        checked(replace(plan, steps=(replace(step, files=(bad,)),)))
    plan = build_plan(seed_setup())
    assert checked(plan) is plan


# --------------------------------------------------------------------------- item 8


@pytest.mark.parametrize(
    "name", ["config-setup", "%default", "all", "default", "lo", ".", "..", "-x", "ALL",
             "Tunnel.1", "Tunnel 1", "Tunnel1\n", "a" * 16],
)
def test_names_no_tunnel_can_have_are_refused(name: str) -> None:
    message = _where(_named(seed_setup(), 0, name)).get("tunnels[0].name", "")
    assert message.startswith("Tunnel 1's name "), message
    assert "\n" not in message


def test_two_names_differing_only_in_case_are_refused() -> None:
    setup = _named(_named(seed_setup(), 0, "tunnel"), 1, "Tunnel")
    assert "only in case" in _where(setup)["tunnels[1].name"]


@pytest.mark.parametrize(
    ("cidr", "words"),
    [
        ("127.0.0.0/8", "loopback"),
        ("224.0.0.0/4", "multicast"),
        ("0.0.0.0/1", "this network"),
        ("240.0.0.0/4", "reserved"),
        ("52.50.0.0/16", "the AWS endpoint of Tunnel 1"),
        ("54.0.0.0/8", "the AWS endpoint of Tunnel 2"),
        ("62.81.252.0/24", "this box's outside address"),
    ],
)
def test_vpc_cidrs_that_would_capture_what_must_not_enter_the_tunnels(
    cidr: str, words: str
) -> None:
    setup = seed_setup(vpc_cidrs=(IPv4Network(cidr),))
    assert words in _where(setup)["choices.vpc_cidrs[0]"]


@pytest.mark.parametrize("address", ["0.0.0.0", "255.255.255.255", "127.0.0.1", "224.0.0.5",
                                     "169.254.1.1", "240.0.0.1"])
def test_outside_addresses_no_peer_can_have_are_refused(address: str) -> None:
    tunnels = list(seed_connection().tunnels)
    tunnels[0] = replace(tunnels[0], aws_outside_ip=IPv4Address(address))
    setup = Setup(Connection(tuple(tunnels)), seed_setup().choices)
    message = _where(setup)["tunnels[0].aws_outside_ip"]
    assert message.startswith(f"Tunnel 1: the AWS endpoint {address} ")


@pytest.mark.parametrize("interface", ["all", "default", "-eth0", ".", "eth0\n", "eth 0"])
def test_host_interfaces_that_are_not_one_interface_are_refused(interface: str) -> None:
    assert "choices.physical_interface" in _where(seed_setup(physical_interface=interface))
    assert "choices.lan_interfaces[0]" in _where(seed_setup(lan_interfaces=(interface,)))


_HAND_WRITTEN = """config setup
\tcharondebug="ike 1"

conn office
\tleft=%defaultroute
\tright=52.50.67.155
\tauto=start

conn Tunnel2
\tright=192.0.2.77
"""


def test_a_hand_written_conn_for_the_same_peer_or_name_is_refused() -> None:
    problems = {p.where: p.message for p in conflicting_conns(seed_setup(), _HAND_WRITTEN)}
    assert "conn 'office' (/etc/ipsec.conf line 4) already connects to 52.50.67.155" in (
        problems["tunnels[0].aws_outside_ip"])
    assert problems["tunnels[1].name"].startswith(
        "Tunnel 2's name Tunnel2 is already a conn of this box's own (/etc/ipsec.conf line 9")


def test_a_hand_written_secret_for_the_same_peer_is_refused_without_its_key() -> None:
    text = "# mine\n62.81.252.34 54.77.23.12 : PSK \"Operator.Own_Key9\"\n"
    (problem,) = conflicting_secrets(seed_setup(), text)
    assert problem.where == "tunnels[1].aws_outside_ip"
    assert "/etc/ipsec.secrets line 2" in problem.message
    assert "Operator.Own_Key9" not in problem.message


def test_an_operators_swanctl_connection_for_the_same_peer_or_name_is_refused(
    tmp_path: Path,
) -> None:
    conf_d = tmp_path / "etc" / "swanctl" / "conf.d"
    conf_d.mkdir(parents=True)
    (conf_d / "office.conf").write_text(
        "connections {\n  office {\n    remote_addrs = 192.0.2.9, 52.50.67.155\n  }\n"
        "  Tunnel2 {\n    remote_addrs = 192.0.2.8\n  }\n}\n"
    )
    plan = build_plan(seed_setup(backend="swanctl"))
    for path, change in plan.final_files().items():  # the wizard's own files are no conflict
        if path.startswith("/etc/swanctl/"):
            (tmp_path / path.lstrip("/")).write_text(change.after)
    setup = seed_setup(backend="swanctl")
    problems = {p.where: p.message for p in box_conflicts(setup, Root(tmp_path))}
    assert set(problems) == {"tunnels[0].aws_outside_ip", "tunnels[1].name"}
    assert "connection 'office' in /etc/swanctl/conf.d/office.conf" in (
        problems["tunnels[0].aws_outside_ip"])
    assert problems["tunnels[1].name"].startswith("Tunnel 2's name Tunnel2 is already a "
                                                 "connection in /etc/swanctl/conf.d/office.conf")
    assert box_conflicts(seed_setup(), Root(tmp_path)) == []  # stroke reads ipsec.conf only


def test_the_wizards_own_blocks_are_not_conflicts() -> None:
    plan = build_plan(seed_setup())
    text = plan.final_files()["/etc/ipsec.conf"].after
    assert conflicting_conns(seed_setup(), text) == []
    secrets = plan.final_files()["/etc/ipsec.secrets"].after
    assert conflicting_secrets(seed_setup(), secrets) == []


def test_plan_reads_the_boxs_ipsec_conf_and_refuses(tmp_path: Path) -> None:
    target = tmp_path / "root"
    (target / "etc").mkdir(parents=True)
    (target / "etc" / "ipsec.conf").write_text(_HAND_WRITTEN.replace("52.50.67.155",
                                                                       "203.0.113.1"))
    answers = tmp_path / "answers.toml"
    answers.write_text(
        'import = "aws.xml"\n[choices]\nvpc_cidrs = ["198.51.100.0/24"]\n'
    )
    xml = XML.replace("192.0.2.201", "203.0.113.1")
    (tmp_path / "aws.xml").write_text(xml)
    loaded = load(answers_path=answers, root=Root(target))
    assert any("already connects to 203.0.113.1" in p.message for p in loaded.errors)


def test_a_dotted_vlan_interface_gets_sysctl_keys_in_the_slash_form() -> None:
    setup = seed_setup(physical_interface="eth0.100", lan_interfaces=("br0.20",))
    plan = build_plan(setup)
    text = plan.final_files()["/etc/sysctl.conf"].after
    assert "net/ipv4/conf/eth0.100/disable_xfrm=1" in text
    assert "net/ipv4/conf/br0.20/disable_policy=1" in text
    assert "net.ipv4.conf.eth0.100" not in text
    argv = [op.argv for op in plan.step("interfaces.sysctl").commands]
    assert ("sysctl", "-w", "net/ipv4/conf/eth0.100/disable_xfrm=1") in argv
    key = plan.step("interfaces.sysctl").commands[0].key  # type: ignore[attr-defined]
    assert proc_path(key, Path("/p")) == Path("/p/net/ipv4/conf/eth0.100/disable_xfrm")
    modern = build_plan(replace(setup, choices=replace(setup.choices, persistence="netplan")))
    assert "net/ipv4/conf/eth0.100/disable_xfrm=1" in (
        modern.final_files()["/etc/sysctl.d/60-vpn-wizard.conf"].after)
    updown = build_plan(replace(setup, choices=replace(setup.choices, mode="updown")))
    script = updown.final_files()["/etc/ipsec.d/aws-updown.sh"].after
    assert 'sysctl -w "net/ipv4/conf/${TUNNEL_PHY_INTERFACE}/disable_xfrm=1"' in script


# --------------------------------------------------------------------------- item 9


def _refused(read: object, path: Path) -> str:
    """The refusal of `read(path)`, run on a thread so that a blocking open fails the test."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            read(path)  # type: ignore[operator]
        except (AwsFileError, AnswersError) as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)  # a hang guard, not a timing assertion: the read must not block at all
    assert outcome, f"reading {path} blocked"
    assert outcome[0] is not None, f"{path} was accepted"
    return str(outcome[0])


@pytest.mark.parametrize("reader", [aws.load, load_answers], ids=["import", "answers"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, reader: object) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "named pipe (FIFO), not a regular file" in _refused(reader, fifo)


@pytest.mark.parametrize("reader", [aws.load, load_answers], ids=["import", "answers"])
def test_devices_and_directories_are_refused(tmp_path: Path, reader: object) -> None:
    assert "character device" in _refused(reader, Path("/dev/zero"))
    assert "a directory, not a regular file" in _refused(reader, tmp_path)


@pytest.mark.parametrize("reader", [aws.load, load_answers], ids=["import", "answers"])
def test_a_50_mb_file_is_refused_by_its_size(tmp_path: Path, reader: object) -> None:
    big = tmp_path / "big"
    with open(big, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    assert "larger than 1 MiB" in _refused(reader, big)


def test_pasted_text_and_answers_text_are_capped() -> None:
    nested = "<vpn_connection>" + "<a>" * 400_000 + "</a>" * 400_000 + "</vpn_connection>"
    with pytest.raises(AwsFileError, match="the text is larger than 1 MiB"):
        aws.parse(nested, "pasted text")
    with pytest.raises(AnswersError, match="the text is larger than 1 MiB"):
        parse_answers("# " + "x" * (1024 * 1024))


def test_deep_xml_is_refused_before_a_tree_is_built() -> None:
    nested = "<vpn_connection>" + "<a>" * 100 + "</a>" * 100 + "</vpn_connection>"
    with pytest.raises(AwsFileError, match="nests elements more than 32 deep"):
        aws.parse(nested)


# --------------------------------------------------------------------------- item 12


@pytest.mark.parametrize("path", [GENERIC_BGP, XML_BGP], ids=["generic", "xml"])
def test_a_bgp_connection_is_read_and_never_run_as_static(path: Path) -> None:
    imported = aws.load(path)
    connection = imported.connection
    assert connection.routing == "dynamic"
    for tunnel in connection.tunnels:
        assert tunnel.bgp is not None
        assert (tunnel.bgp.customer_asn, tunnel.bgp.aws_asn, tunnel.bgp.hold_time) == (
            65000, 64512, 30)
        assert tunnel.bgp.neighbor_ip == tunnel.aws_inside_cidr.ip
    setup = resolve(parse_answers('[choices]\nvpc_cidrs = ["10.0.0.0/16"]\n'), imported).setup
    assert setup.connection.routing == "dynamic"  # the file's routing is kept
    assert "connection.routing" not in _where(setup)
    assert "announce to AWS" in _where(setup)["choices.advertise"]
    answered = resolve(parse_answers('[choices]\nadvertise = ["192.0.2.0/24"]\n'),
                       imported).setup
    assert "choices.advertise" not in _where(answered)
    assert not [p for p in errors(validate(answered))
                if p.where.startswith(("connection", "tunnels"))]
    # an answers file saying "static" for AWS's BGP connection is refused, with why
    static = resolve(parse_answers('[connection]\nrouting = "static"\n'), imported).setup
    message = _where(static)["connection.routing"]
    assert "dynamic routing with BGP (your ASN 65000)" in message
    assert "stays DOWN" in message and "Choose dynamic routing" in message


def test_a_static_connection_is_not_refused_for_routing() -> None:
    imported = aws.load(ROOT / "examples" / "aws-generic.txt")
    assert imported.connection.routing == "static"
    assert all(t.bgp is None for t in imported.connection.tunnels)


def test_bgp_on_one_tunnel_only_is_refused_as_truncated() -> None:
    text = GENERIC_BGP.read_text(encoding="utf-8")
    second = text.index("IPSec Tunnel #2")
    cut = text[:second] + text[second:].replace("#4: Border Gateway Protocol", "#4: Other", 1)
    cut = cut[:second] + cut[second:].replace("  - Customer Gateway ASN", "  - x", 1)
    cut = cut[:second] + cut[second:].replace("  - Virtual Private  Gateway ASN", "  - y", 1)
    with pytest.raises(AwsFileError, match="IPsec Tunnel #2 has no BGP configuration"):
        aws.parse(cut)


def test_the_generic_mtu_advice_is_noted_where_the_plan_differs() -> None:
    imported = aws.load(GENERIC_BGP)
    assert (imported.connection.advised_mtu, imported.connection.advised_mss) == (1436, 1387)
    connection = replace(seed_connection(), advised_mtu=1436, advised_mss=1387)
    plan = build_plan(Setup(connection, seed_setup().choices))
    notes = [n for n in plan.step("tunnel1.interface").notes if n.id == AWS_MTU_ADVICE.id]
    assert len(notes) == 1
    assert "advises a tunnel MTU of 1436; the plan uses 1419" in notes[0].text
    assert "TCP MSS of 1387" in notes[0].text and "--clamp-mss-to-pmtu" in notes[0].text
    updown = build_plan(Setup(connection, seed_setup(mode="updown").choices))
    assert AWS_MTU_ADVICE.id in {n.id for n in updown.step("updown.script").notes}
    same = build_plan(Setup(connection, seed_setup(mtu=1436).choices))
    (note,) = [n for n in same.step("tunnel1.interface").notes if n.id == AWS_MTU_ADVICE.id]
    assert "MTU of 1436" not in note.text and "MSS of 1387" in note.text
    docs = (ROOT / "docs" / "deviations.md").read_text(encoding="utf-8")
    assert "{#aws-mtu-advice}" in docs


def test_field_messages_never_carry_raw_control_characters() -> None:
    for value in ("a\nb", "\x1b[31m", "\u2028", "x\u0085y"):
        for reason in (fields.check_tunnel_name(value), fields.check_proposal(value),
                       fields.check_interface_name(value),
                       fields.check_aws_id("vpn_connection_id", value)):
            assert reason is not None
            assert fields.unsafe_character(reason) is None, reason
