"""Hostile BGP answers: refused clearly, or a plan whose FRR configuration reads back clean.

Issue 12. The values a BGP setup takes from the operator (the routing, the
ASNs, the hold time, the networks announced, the tunnel preference) arrive
through an answers file (as the TUI, plain mode and the CLI flags do, through
the same questions). Hypothesis draws them from hostile text, out-of-range
numbers and awkward network lists (the VPC's own, link-local, 0.0.0.0/0,
duplicates, more than AWS's 100). The outcome must be an AnswersError naming
the key, a refusal naming the field, or, for every backend and persistence, a
plan whose frr.conf block holds only the wizard's directives and announces
exactly the networks asked for (injection_support.check_frr).
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from injection_support import hostile, message_is_clear, refused_or_safe
from tally import tried

from wizard import aws
from wizard.answers import AnswersError, parse_answers, resolve

REPO = Path(__file__).resolve().parents[2]
IMPORTED = aws.parse((REPO / "examples" / "aws-strongswan-seed.txt").read_text(),
                     "aws-strongswan-seed.txt")
NETWORKS = ("192.0.2.0/24", "198.51.100.0/25", "203.0.113.0/24", "169.254.0.0/16",
            "0.0.0.0/0", "10.0.0.0/8", "192.0.2.128/25", "224.0.0.0/4")

_network = st.one_of(
    st.sampled_from(NETWORKS),
    st.builds(lambda a, n: str(IPv4Network((a, n), strict=False)),
              st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.sampled_from(NETWORKS).flatmap(lambda n: hostile(n)),
)
_number = st.one_of(st.sampled_from((30, 64512, 65000, 65010, 4294967294)),
                    st.integers(-5, 70000),
                    st.sampled_from((0, 1, 23456, 4294967295, 4294967296)))


def _toml(text: str) -> str:
    """A TOML basic string, escaped as TOML allows (control characters as \\uXXXX)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@given(
    advertise=st.one_of(st.lists(_network, max_size=6),
                        st.integers(99, 102).map(
                            lambda k: [f"10.{i // 256}.{i % 256}.0/24" for i in range(k)])),
    asn=_number, aws_asn=_number, hold=_number,
    mode=st.one_of(st.sampled_from(("active-active", "active-passive")), hostile("active")),
    routing=st.one_of(st.just("dynamic"), hostile("dynamic")),
)
def test_hostile_bgp_answers_are_refused_or_render_clean(
    advertise: list[str], asn: int, aws_asn: int, hold: int, mode: str, routing: str,
) -> None:
    tried("bgp-answers")
    networks = "[" + ", ".join(_toml(a) for a in advertise) + "]"
    text = (f"[choices]\nadvertise = {networks}\nbgp_mode = {_toml(mode)}\n"
            'vpc_cidrs = ["10.99.0.0/16"]\n\n'
            f"[connection]\nrouting = {_toml(routing)}\nbgp_asn = {asn}\n"
            f"bgp_aws_asn = {aws_asn}\nbgp_hold_time = {hold}\n")
    try:
        setup = resolve(parse_answers(text), IMPORTED).setup
    except AnswersError as exc:
        assert exc.key, exc
        message_is_clear(str(exc))
        return
    tried(f"bgp-answers-{refused_or_safe(setup)}")


_fine_network = st.one_of(
    st.sampled_from(("192.0.2.0/24", "198.51.100.0/25", "192.0.2.128/25", "10.20.0.0/16")),
    st.builds(lambda first, rest, n: str(IPv4Network(((first << 24) + rest, n), strict=False)),
              st.sampled_from((10, 100, 172, 192, 198, 203)), st.integers(0, 2**24 - 1),
              st.integers(8, 32)),
)


@given(
    advertise=st.lists(_fine_network, min_size=1, max_size=8),
    asns=st.sampled_from(((65000, 64512), (4200000000, 64512), (65000, 65000), (1, 7224))),
    hold=st.sampled_from((30, 3, 90, 2)),
    mode=st.sampled_from(("active-active", "active-passive")),
    updown=st.booleans(),
)
def test_bgp_setups_that_pass_are_planned_clean_in_every_variant(
    advertise: list[str], asns: tuple[int, int], hold: int, mode: str, updown: bool,
) -> None:
    tried("bgp-setups")
    text = (f"[choices]\nadvertise = [{', '.join(_toml(a) for a in advertise)}]\n"
            f"bgp_mode = {_toml(mode)}\nmode = {_toml('updown' if updown else 'manual')}\n"
            'vpc_cidrs = ["10.99.0.0/16"]\n\n'
            f'[connection]\nrouting = "dynamic"\nbgp_asn = {asns[0]}\n'
            f"bgp_aws_asn = {asns[1]}\nbgp_hold_time = {hold}\n")
    setup = resolve(parse_answers(text), IMPORTED).setup
    tried(f"bgp-setups-{refused_or_safe(setup)}")
