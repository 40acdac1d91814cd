"""The grammar of every string that enters the model from outside, in one place.

AWS's three formats, answers files, the full-screen wizard and the plain
prompts all hand the model strings; the renderers then write them into
configuration files whose syntax is line-based (ipsec.conf, swanctl.conf,
sysctl.conf, systemd units, netplan YAML). A line break, a quote or a `#`
inside a value would become a directive of the operator's box. So every
string field has a strict grammar here, and every input path checks its
values against the same grammar before they reach the model (issue 9 item 2):
the importers (naming the line or element), `wizard.answers` (naming the key),
`wizard.questions` (under the question) and `wizard.model.validate` (for
whatever else builds a model). `wizard.render.guard` is the second wall.

Each `check_*` returns the reason a value is refused, in the operator's
words, or None when it is acceptable. They never strip: what is checked is
exactly what is stored and rendered.
"""

from __future__ import annotations

import re
import unicodedata

#: AWS resource ids: a prefix and lowercase hex (AWS uses 8 or 17 digits; tests use fewer).
AWS_ID_PREFIXES = {
    "vpn_connection_id": ("vpn",),
    "vpn_gateway_id": ("vgw", "tgw"),
    "customer_gateway_id": ("cgw",),
}
_AWS_ID = re.compile(r"([a-z]{3})-[0-9a-f]{4,17}", re.ASCII)

TUNNEL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,14}", re.ASCII)
"""A tunnel's name is a strongSwan conn name, a swanctl section, a VTI interface and part of
file names and sysctl keys: a letter first (never '-', '%' or '.'), then letters, digits, '_'
or '-', at most 15 characters (Linux's IFNAMSIZ less the NUL). No dots: strongSwan's
settings and sysctl read a dot as a separator."""

INTERFACE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}", re.ASCII)
"""A host interface (the WAN or a LAN one): Linux's rules (1-15 bytes, no '/', ':' or
white space, not '.' or '..') narrowed to what interfaces are really called, and never
starting with '-' (it would read as an option) or '.'. Dots are allowed: eth0.100 is a VLAN."""

PROPOSAL = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*(?:,[a-z0-9_]+(?:-[a-z0-9_]+)*)*!?", re.ASCII)
"""strongSwan's proposal list: lowercase algorithm tokens joined by '-', proposals joined by
',', an optional trailing '!' (ipsec.conf's strict marker). No spaces anywhere."""

RESERVED_TUNNEL_NAMES = {
    "config-setup": "it is the name of the wizard's own 'config setup' block in ipsec.conf",
    "all": "sysctl's net.ipv4.conf.all would then change every interface of the box",
    "default": "sysctl's net.ipv4.conf.default would then change every new interface",
    "lo": "it is the loopback interface",
}
"""Names that parse but cannot be a tunnel's, and why (compared without case)."""

RESERVED_INTERFACE_NAMES = {
    "all": "sysctl's net.ipv4.conf.all is every interface of the box, not one",
    "default": "sysctl's net.ipv4.conf.default is a template for new interfaces, not one",
    "lo": "it is the loopback interface; the tunnels cannot ride on it",
}

_SHOW_LIMIT = 40


def show(value: str) -> str:
    """A value quoted for a message: every control or invisible character escaped, cut short.

    `ascii()` escapes everything outside printable ASCII (a newline reads
    "\\n", an ESC "\\x1b", U+2028 "\\u2028"), so a hostile value can neither
    break the message's line nor reach the terminal raw.
    """
    cut = value if len(value) <= _SHOW_LIMIT else value[: _SHOW_LIMIT - 3] + "..."
    return ascii(cut)


def unsafe_character(value: str) -> str | None:
    """The first character no configuration value may hold, escaped, or None.

    Control characters (C0, C1, DEL: newline, carriage return, NUL, ESC,
    U+0085), Unicode line and paragraph separators, and invisible format
    characters (zero-width, bidi overrides, BOM). Tab is refused too: no field
    needs one, and some parsers treat it as a separator.
    """
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return ascii(char)
    return None


def _characters(value: str) -> str | None:
    bad = unsafe_character(value)
    if bad is not None:
        return f"holds the control or invisible character {bad}, which no configuration allows"
    if value != value.strip():
        return "has spaces at its start or end"
    return None


def check_aws_id(field: str, value: str) -> str | None:
    """An AWS id (`vpn-0e1a2b3c`) for `field`, or "" (AWS leaves some out)."""
    if value == "":
        return None
    prefixes = AWS_ID_PREFIXES[field]
    match = _AWS_ID.fullmatch(value)
    if match is None or match.group(1) not in prefixes:
        example = f"{prefixes[0]}-0e1a2b3c"
        return (
            f"{show(value)} is not an AWS id: expected {' or '.join(p + '-' for p in prefixes)} "
            f"followed by lowercase hexadecimal digits, e.g. {example}"
        )
    return None


def check_tunnel_name(value: str) -> str | None:
    """The grammar of a tunnel name (see `TUNNEL_NAME`); see also `reserved_tunnel_name`."""
    reason = _characters(value)
    if reason:
        return f"{show(value)} {reason}"
    if not TUNNEL_NAME.fullmatch(value):
        return (
            f"{show(value)} is not a tunnel name: it must start with a letter and have at most "
            "15 letters, digits, '_' or '-' (it names a strongSwan connection and a Linux "
            "interface)"
        )
    return None


def reserved_tunnel_name(value: str) -> str | None:
    """Why a well-formed name still cannot name a tunnel, or None."""
    reason = RESERVED_TUNNEL_NAMES.get(value.lower())
    return f"{show(value)} cannot be used: {reason}" if reason else None


def check_interface_name(value: str) -> str | None:
    """A host interface name: Linux's rules, no leading '-' or '.', not all/default/lo."""
    reason = _characters(value)
    if reason:
        return f"{show(value)} {reason}"
    if not INTERFACE_NAME.fullmatch(value):
        return (
            f"{show(value)} is not a Linux interface name: 1-15 letters, digits, '_', '.' or "
            "'-', not starting with '-' or '.'"
        )
    reserved = RESERVED_INTERFACE_NAMES.get(value.lower())
    if reserved:
        return f"{show(value)} cannot be used: {reserved}"
    return None


def check_proposal(value: str) -> str | None:
    """The raw text of an `ike=`/`esp=` value (see `PROPOSAL`); algorithms are crypto's job."""
    reason = _characters(value)
    if reason:
        return f"{show(value)} {reason}"
    if not PROPOSAL.fullmatch(value):
        return (
            f"{show(value)} is not a strongSwan proposal list: lowercase algorithm names "
            "joined by '-', proposals separated by ',' with no spaces, e.g. "
            "aes256-sha256-modp2048"
        )
    return None


def check_word(value: str, allowed: tuple[str, ...]) -> str | None:
    """One of a fixed set of words (mode, backend, dpd action...)."""
    if value in allowed:
        return None
    return f"{show(value)} must be one of {', '.join(allowed)}"
