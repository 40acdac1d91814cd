"""The renderers against the AWS document's own text, line for line.

Each test pulls a passage out of the seed file and compares it with what the
renderer makes of the seed's values. Where the wizard deviates on purpose,
the expected text is the seed's with that documented change applied, and the
deviation id is named next to it, so an undocumented change fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from seed_setup import SEED_PSKS, seed_setup

from wizard.plan import build_plan
from wizard.render import interface, ipsec, iptables, updown

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "aws-vpn-strongswan-generic.txt"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "deviations.md"


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"the seed document is expected at {SEED}")
    return SEED.read_text()


def _conn_passage(seed_text: str, name: str) -> list[str]:
    start = seed_text.index(f"conn {name}\n")
    lines = []
    for line in seed_text[start:].splitlines():
        if not line.strip():
            break
        lines.append(line.rstrip())
    return lines


@pytest.mark.parametrize("index", [0, 1])
def test_conn_block_is_the_documents(seed_text: str, index: int) -> None:
    setup = seed_setup()
    tunnel = setup.tunnels[index]
    seed_lines = [
        line for line in _conn_passage(seed_text, tunnel.name)
        if not line.lstrip().startswith("#")  # the document's own ## and #leftupdown comments
    ]
    assert ipsec.conn_lines(setup, tunnel) == seed_lines


@pytest.mark.parametrize("index", [0, 1])
def test_updown_mode_uncomments_leftupdown_with_the_vpc(seed_text: str, index: int) -> None:
    setup = seed_setup(mode="updown")
    tunnel = setup.tunnels[index]
    commented = next(
        line for line in _conn_passage(seed_text, tunnel.name) if "#leftupdown=" in line
    )
    # Deviation updown-vpc: <VPC CIDR> is filled in.
    expected = commented.replace("#leftupdown", "leftupdown").replace("<VPC CIDR>", "203.0.113.0/24")
    assert ipsec.conn_lines(setup, tunnel)[-1] == expected


@pytest.mark.parametrize("index", [0, 1])
def test_secrets_line_is_the_documents(seed_text: str, index: int) -> None:
    setup = seed_setup()
    tunnel = setup.tunnels[index]
    line = ipsec.secrets_line(setup, tunnel)
    assert line in seed_text.splitlines()
    assert SEED_PSKS[index] in line


def _sudo_lines(seed_text: str, prefix: str, name: str) -> list[str]:
    return [
        line.removeprefix("sudo ").strip()
        for line in seed_text.splitlines()
        if line.startswith(f"sudo {prefix}") and (name in line)
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_interface_and_route_commands_are_the_documents(seed_text: str, index: int) -> None:
    setup = seed_setup()
    tunnel = setup.tunnels[index]
    expected = [
        line.replace("<LOCAL IP>", str(tunnel.customer_outside_ip)).replace(
            "<VPC CIDR>", "203.0.113.0/24"
        )
        for line in _sudo_lines(seed_text, "ip ", tunnel.name)
    ]
    ops = interface.link_ops(setup, tunnel) + interface.route_ops(setup, tunnel)
    assert [" ".join(op.argv) for op in ops] == expected


@pytest.mark.parametrize("index", [0, 1])
def test_iptables_rules_are_the_documents(seed_text: str, index: int) -> None:
    setup = seed_setup()
    tunnel = setup.tunnels[index]
    # The document's two rules for this tunnel: one names the VTI, one the AWS endpoint.
    expected = [
        line.removeprefix("sudo ")
        for line in seed_text.splitlines()
        if line.startswith("sudo iptables")
        and (f"-o {tunnel.name} " in line or f"-s {tunnel.aws_outside_ip} " in line)
    ]
    rules = iptables.mangle_rules(setup, tunnel)
    assert [" ".join(rule.argv) for rule in rules] == expected


def test_nat_moves_the_esp_mark_rule_to_the_local_address() -> None:
    from ipaddress import IPv4Address

    setup = seed_setup(local_ip=IPv4Address("192.0.2.20"))
    tunnel = setup.tunnels[0]
    add, _, _ = interface.link_ops(setup, tunnel)
    esp = iptables.mangle_rules(setup, tunnel)[1]
    assert add.local == IPv4Address("192.0.2.20")
    assert esp.rule[esp.rule.index("-d") + 1] == "192.0.2.20"  # deviation nat-local-ip
    steps = {s.id: s for s in build_plan(setup)}
    assert "nat-local-ip" in {n.id for n in steps["tunnel1.iptables"].notes}


# The updown script: every line the wizard changes, with the deviation that explains it.
_UPDOWN_CHANGES: dict[str, str] = {
    # updown-quoting: numeric comparison, not a string comparison.
    "while [[ $# > 1 ]]; do": "while [[ $# -gt 1 ]]; do",
    # updown-quoting: the '/' form, so a dotted VLAN interface (eth0.100) stays one name.
    "sysctl -w net.ipv4.conf.${TUNNEL_PHY_INTERFACE}.disable_xfrm=1":
        'sysctl -w "net/ipv4/conf/${TUNNEL_PHY_INTERFACE}/disable_xfrm=1"',
    "sysctl -w net.ipv4.conf.${TUNNEL_PHY_INTERFACE}.disable_policy=1":
        'sysctl -w "net/ipv4/conf/${TUNNEL_PHY_INTERFACE}/disable_policy=1"',
}


def _normalise(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _unquote(line: str) -> str:
    """The seed's form of a rendered line: quotes around expansions removed."""
    return re.sub(r'"(\$\{[A-Za-z_]+\})"', r"\1", line).replace('"net.ipv4', "net.ipv4").replace(
        '=1"', "=1").replace('=2"', "=2")


def test_updown_script_is_the_documents_with_documented_fixes(seed_text: str) -> None:
    start = seed_text.index("#!/bin/bash\n\nwhile [[ $# > 1 ]]")
    end = seed_text.index("2) To make the file executable, run the command 'sudo chmod 744 /etc/ipsec.d")
    seed_lines = [
        _normalise(line)
        for line in seed_text[start:end].splitlines()
        if line.strip() and not line.startswith("# ")
    ]
    rendered = [
        _normalise(line)
        for line in updown.script(seed_setup()).splitlines()
        if line.strip() and not line.startswith("# ")
    ]
    # iptables-check: each -A is preceded by a -C test joined with ||.
    checks = [line for line in rendered if " -C " in line]
    assert len(checks) == 2 and all(line.endswith("||") for line in checks)
    rendered = [line for line in rendered if " -C " not in line]
    assert [_unquote(line) for line in rendered] == [
        _unquote(_UPDOWN_CHANGES.get(line, line)) for line in seed_lines
    ]


def test_updown_script_quotes_every_expansion() -> None:
    for line in updown.script(seed_setup()).splitlines():
        if line.lstrip().startswith(("case", "#", "echo", "-", "*")):
            continue
        for match in re.finditer(r"\$\{[A-Za-z_]+(\[@\])?\}", line):
            before = line[: match.start()]
            assert before.endswith('"') or before.count('"') % 2 == 1, line


def test_sysctl_lines_carry_no_trailing_comments() -> None:
    plan = build_plan(seed_setup(lan_interfaces=("lan0",)))
    text = plan.final_files()["/etc/sysctl.conf"].after
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert "#" not in line, line  # deviation sysctl-comments
    assert "net.ipv4.conf.lan0.disable_xfrm=1" in text  # deviation lan-disable-xfrm


def test_every_note_is_documented() -> None:
    from wizard.render import notes

    documented = DOCS.read_text()
    ids = [v.id for v in vars(notes).values() if hasattr(v, "id") and hasattr(v, "text")]
    assert len(ids) >= 15
    missing = [i for i in ids if f"{{#{i}}}" not in documented and f'id="{i}"' not in documented]
    assert not missing, f"notes without a section in docs/deviations.md: {missing}"


def test_updown_script_leaves_forwarding_alone_when_declined() -> None:
    assert "net.ipv4.ip_forward=1" in updown.script(seed_setup(mode="updown"))
    declined = updown.script(seed_setup(mode="updown", enable_forwarding=False))
    assert "ip_forward" not in declined
    assert "net.ipv4.conf.${TUNNEL_NAME}.rp_filter=2" in declined
