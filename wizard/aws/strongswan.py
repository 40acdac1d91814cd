"""AWS's "Strongswan" download: the seed's own format.

The document is prose around configuration fragments. Per tunnel it reads:

- the `conn NAME` block (tab-indented `key=value` lines): leftid, right,
  keyexchange, ike, esp, ikelifetime, lifetime, dpddelay, dpdtimeout,
  dpdaction, mark, and the commented `#leftupdown=... -ll A -lr B -m M` line;
- the `ipsec.secrets` line `LEFT RIGHT : PSK "key"`, matched by address;
- `ip addr add A/30 remote B/30 dev NAME` and `ip link add NAME type vti ... key M`
  (in step #2 and again in step #5), matched by interface name;
- the "Your VPN Connection ID : vpn-..." header lines.

Where the document says a value twice (the mark in `mark=`, the VTI `key`
and the updown `-m`; the inside addresses in the updown line and the `ip addr`
lines) the copies must agree: the seed insists on it, and a file where they
differ cannot be read without guessing which copy the operator meant.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface
from typing import cast

from wizard import fields
from wizard.aws._common import (
    DEFAULT_MARKS,
    Imported,
    LineReader,
    aws_id,
    cut_short,
    grammar,
    ipv4,
    ipv4_interface,
    show,
    tunnel_count,
)
from wizard.model import Connection, Crypto, DpdAction, Tunnel
from wizard.secret import Secret

FORMAT = "strongswan"

_CONN = re.compile(r"conn[ \t]+(\S+)[ \t]*")
# Each part can match only one way, so a damaged line cannot make the engine backtrack.
_SECRETS = re.compile(r'(?P<ids>[^:"]*):[ \t]*PSK[ \t]+"(?P<psk>[^"]*)"[ \t]*')
_SECRETS_HINT = re.compile(r':\s*PSK\s+"')
_PREFIX = r"\s*(?:(?:sudo|pre-up|up|post-up)\s+)*"
_IP_ADDR = re.compile(_PREFIX + r"ip\s+addr\s+add\s+(\S+)\s+remote\s+(\S+)\s+dev\s+(\S+)\s*")
_IP_LINK = re.compile(_PREFIX + r"ip\s+link\s+add\s+(\S+)\s+type\s+vti\s+.*?\bkey\s+(\S+)\s*")
_IDS = {
    "vpn_connection_id": re.compile(r"\s*Your VPN Connection ID\s*:\s*(\S+)\s*", re.I),
    "vpn_gateway_id": re.compile(r"\s*Your Virtual Private Gateway ID\s*:\s*(\S+)\s*", re.I),
    "customer_gateway_id": re.compile(r"\s*Your Customer Gateway ID\s*:\s*(\S+)\s*", re.I),
}
_DURATION = re.compile(r"([0-9]{1,9})\s*([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_KEYEXCHANGE = {"ikev1": 1, "ikev2": 2, "ike": 2}
#: Crypto field -> the conn keys that carry it (strongSwan's `keylife` is `lifetime`'s alias).
_CRYPTO_KEYS = (
    ("ike_version", ("keyexchange",)),
    ("ike", ("ike",)),
    ("esp", ("esp",)),
    ("ike_lifetime", ("ikelifetime",)),
    ("esp_lifetime", ("lifetime", "keylife")),
    ("dpd_delay", ("dpddelay",)),
    ("dpd_timeout", ("dpdtimeout",)),
    ("dpd_action", ("dpdaction",)),
)
_READ = frozenset(
    {"leftid", "right", "mark", "leftupdown"} | {k for _, keys in _CRYPTO_KEYS for k in keys}
)


@dataclass
class _Value:
    """One value as found, with its line so a later disagreement can name both."""

    text: str
    line: int


@dataclass
class _Conn:
    """A `conn` block: the keys the reader uses, each with its line."""

    name: str
    line: int
    keys: dict[str, _Value] = field(default_factory=dict)


def parse(text: str, path: str = "<input>") -> Imported:
    """Read AWS's strongSwan document.

    Raises:
        AwsFileError: naming the line and what is wrong; never quoting a PSK.
    """
    return _Reader.parse_with(text, path)


class _Reader(LineReader):
    """One pass over the lines, then one tunnel at a time."""

    def read(self) -> Imported:
        conns: list[_Conn] = []
        secrets: list[tuple[list[str], str, int]] = []
        addrs: dict[str, list[tuple[str, str, int]]] = {}
        keys: dict[str, list[tuple[str, int]]] = {}
        ids: dict[str, str] = {}
        current: _Conn | None = None
        for number, line in enumerate(self.lines, start=1):
            if number == self.unterminated and self._carries_value(line):
                raise cut_short(self.path, number)
            if current is not None:
                if not line.strip():
                    continue
                if line[:1] in (" ", "\t"):
                    self._conn_line(current, line.strip(" \t"), number)
                    continue
                current = None
            match = _CONN.fullmatch(line)
            if match:
                if match.group(1).startswith("%"):
                    continue  # `conn %default` sets defaults; it is not a tunnel
                grammar(fields.check_tunnel_name(match.group(1)), "the conn name", self.path,
                        f"line {number}")
                current = _Conn(match.group(1), number)
                if any(c.name == current.name for c in conns):
                    raise self.fail(number, f"conn {current.name} appears twice")
                conns.append(current)
                continue
            if _SECRETS_HINT.search(line):
                match = _SECRETS.fullmatch(line)
                if not match:
                    raise self.fail(
                        number, 'the ipsec.secrets line is malformed; expected '
                        'LEFT RIGHT : PSK "key" with the key in double quotes'
                    )
                secrets.append((match.group("ids").split(), match.group("psk"), number))
                continue
            match = _IP_ADDR.fullmatch(line)
            if match:
                local, remote, dev = match.groups()
                addrs.setdefault(dev, []).append((local, remote, number))
                continue
            match = _IP_LINK.fullmatch(line)
            if match:
                dev, key = match.groups()
                keys.setdefault(dev, []).append((key, number))
                continue
            for name, pattern in _IDS.items():
                match = pattern.fullmatch(line)
                if match and name not in ids:
                    ids[name] = aws_id(name, match.group(1), self.path, f"line {number}")
        tunnel_count(len(conns), self.path)
        tunnels = tuple(
            self._tunnel(conn, index, secrets, addrs.get(conn.name, []), keys.get(conn.name, []))
            for index, conn in enumerate(conns)
        )
        connection = Connection(tunnels, **ids)
        return Imported(connection, FORMAT, tuple(self.notes))

    @staticmethod
    def _carries_value(line: str) -> bool:
        """Whether a line is one the reader takes a value from (a conn key, secret, ip line)."""
        return bool(
            "=" in line or _SECRETS_HINT.search(line) or _IP_ADDR.fullmatch(line)
            or _IP_LINK.fullmatch(line)
        )

    def _conn_line(self, conn: _Conn, line: str, number: int) -> None:
        if line.startswith("#"):
            match = re.fullmatch(r"#+\s*(leftupdown)\s*=\s*(.*)", line)
            if not match:
                return
            key, value = match.groups()
        else:
            key, sep, value = line.partition("=")
            if not sep:
                raise self.fail(
                    number, f"expected key=value inside conn {conn.name}, got {show(line)}"
                )
            key = key.strip(" \t")
        if key not in _READ:
            return
        value = value.strip(" \t")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].strip(" \t")
        bad = fields.unsafe_character(value)
        if bad is not None:
            raise self.fail(
                number, f"'{key}=' in conn {conn.name} holds the control or invisible "
                f"character {bad}"
            )
        if key in ("ike", "esp"):
            grammar(fields.check_proposal(value), f"'{key}=' in conn {conn.name}", self.path,
                    f"line {number}")
        if key in conn.keys:
            first = conn.keys[key].line
            raise self.fail(
                number, f"'{key}=' appears twice in conn {conn.name} (first on line {first})"
            )
        conn.keys[key] = _Value(value, number)

    # ------------------------------------------------------------------ one tunnel

    def _tunnel(
        self,
        conn: _Conn,
        index: int,
        secrets: list[tuple[list[str], str, int]],
        addrs: list[tuple[str, str, int]],
        vti_keys: list[tuple[str, int]],
    ) -> Tunnel:
        leftid = self._required(conn, "leftid")
        right = self._required(conn, "right")
        customer = ipv4(leftid.text, "'leftid='", self.path, f"line {leftid.line}")
        aws = ipv4(right.text, "'right='", self.path, f"line {right.line}")
        psk = self._psk(conn, customer, aws, secrets)
        inside = self._inside(conn, addrs)
        mark = self._mark(conn, index, vti_keys)
        return Tunnel(
            name=conn.name,
            customer_outside_ip=customer,
            aws_outside_ip=aws,
            customer_inside_cidr=inside[0],
            aws_inside_cidr=inside[1],
            psk=Secret(psk),
            mark=mark,
            crypto=self._crypto(conn),
        )

    def _required(self, conn: _Conn, key: str) -> _Value:
        if key not in conn.keys:
            raise self.fail(conn.line, f"conn {conn.name} has no '{key}=' line")
        value = conn.keys[key]
        if not value.text:
            raise self.fail(value.line, f"'{key}=' is empty in conn {conn.name}")
        return value

    def _psk(
        self,
        conn: _Conn,
        customer: IPv4Address,
        aws: IPv4Address,
        secrets: list[tuple[list[str], str, int]],
    ) -> str:
        found: list[tuple[str, int]] = []
        for selectors, psk, number in secrets:
            if str(aws) in selectors and (str(customer) in selectors or len(selectors) == 1):
                found.append((psk, number))
        if not found:
            raise self.fail(
                None, f"conn {conn.name}: no ipsec.secrets line "
                f'"{customer} {aws} : PSK ..." (the file may be truncated)'
            )
        if len({psk for psk, _ in found}) > 1:
            lines = ", ".join(str(number) for _, number in found)
            raise self.fail(
                found[1][1], f"conn {conn.name}: lines {lines} give different PSKs for {aws}"
            )
        return found[0][0]

    def _inside(
        self, conn: _Conn, addrs: list[tuple[str, str, int]]
    ) -> tuple[IPv4Interface, IPv4Interface]:
        copies: list[tuple[IPv4Interface, IPv4Interface, int, str]] = []
        updown = conn.keys.get("leftupdown")
        if updown is not None:
            pair = self._updown_inside(updown)
            if pair is not None:
                copies.append((*pair, updown.line, "the leftupdown line"))
        for local, remote, number in addrs:
            where = f"line {number}"
            copies.append((
                ipv4_interface(local, "the 'ip addr add' address", self.path, where),
                ipv4_interface(remote, "the 'ip addr add ... remote' address", self.path, where),
                number,
                "the 'ip addr add' line",
            ))
        if not copies:
            raise self.fail(
                conn.line, f"conn {conn.name}: no inside addresses: expected "
                f"'ip addr add A/30 remote B/30 dev {conn.name}' or a leftupdown line "
                "with -ll and -lr (the file may be truncated)"
            )
        first = copies[0]
        for other in copies[1:]:
            if other[:2] != first[:2]:
                raise self.fail(
                    other[2], f"inside addresses {other[0]} / {other[1]} for {conn.name} differ "
                    f"from {first[0]} / {first[1]} on {first[3]} (line {first[2]})"
                )
        return first[0], first[1]

    def _updown_arguments(self, updown: _Value) -> dict[str, str]:
        words = updown.text.split()
        arguments: dict[str, str] = {}
        for flag, value in itertools.pairwise(words):
            if flag in ("-ln", "-ll", "-lr", "-m", "-r"):
                arguments.setdefault(flag, value)
        return arguments

    def _updown_inside(self, updown: _Value) -> tuple[IPv4Interface, IPv4Interface] | None:
        arguments = self._updown_arguments(updown)
        if "-ll" not in arguments or "-lr" not in arguments:
            return None
        where = f"line {updown.line}"
        return (
            ipv4_interface(arguments["-ll"], "the leftupdown -ll value", self.path, where),
            ipv4_interface(arguments["-lr"], "the leftupdown -lr value", self.path, where),
        )

    def _mark(self, conn: _Conn, index: int, vti_keys: list[tuple[str, int]]) -> int:
        """The mark, which the seed writes up to three times: mark=, the VTI key, updown -m."""
        copies: list[tuple[int, int, str]] = []  # (value, line, how it reads in a message)
        if "mark" in conn.keys:
            value = conn.keys["mark"]
            copies.append((self._mark_value(value.text, "'mark='", value.line), value.line,
                           "mark={}"))
        for key, number in vti_keys:
            copies.append((self._mark_value(key, "the VTI key", number), number,
                           "the VTI key {}"))
        updown = conn.keys.get("leftupdown")
        if updown is not None and "-m" in self._updown_arguments(updown):
            raw = self._updown_arguments(updown)["-m"]
            copies.append((self._mark_value(raw, "the leftupdown -m value", updown.line),
                           updown.line, "the leftupdown '-m {}'"))
        if not copies:
            mark = DEFAULT_MARKS[index]
            self.notes.append(f"conn {conn.name} gives no mark; using the seed's {mark}")
            return mark
        first, *others = copies
        for other in sorted(others, key=lambda copy: copy[1]):
            if other[0] != first[0]:
                raise self.fail(
                    other[1], f"{other[2].format(other[0])} for {conn.name} differs from "
                    f"{first[2].format(first[0])} (line {first[1]}); the seed needs them equal"
                )
        return first[0]

    def _mark_value(self, text: str, what: str, line: int) -> int:
        value = text.strip()
        if re.fullmatch(r"[0-9]{1,10}", value):
            return int(value)
        if re.fullmatch(r"0[xX][0-9a-fA-F]{1,8}", value):
            return int(value, 16)
        raise self.fail(line, f"{what} is not a whole number: {show(text)}")

    # ------------------------------------------------------------------ crypto

    def _crypto(self, conn: _Conn) -> Crypto:
        values: dict[str, object] = {}
        missing: list[str] = []
        for field_name, keys in _CRYPTO_KEYS:
            present = [k for k in keys if k in conn.keys]
            if not present:
                missing.append(keys[0] + "=")
                continue
            if len(present) > 1:
                raise self.fail(conn.keys[present[1]].line, f"conn {conn.name} gives both "
                                f"'{present[0]}=' and '{present[1]}='")
            key = present[0]
            value = self._required(conn, key)
            if field_name == "ike_version":
                values[field_name] = self._ike_version(conn, value)
            elif field_name in ("ike", "esp"):
                values[field_name] = value.text
            elif field_name == "dpd_action":
                # Any word is kept: validation names the allowed ones under the field.
                values[field_name] = cast(DpdAction, value.text)
            else:
                values[field_name] = self._duration(value, key)
        if missing:
            self.notes.append(
                f"conn {conn.name} has no {', '.join(missing)}; using the seed's values for them"
            )
        return replace(Crypto(), **values)

    def _ike_version(self, conn: _Conn, value: _Value) -> int:
        word = value.text.lower()
        if word not in _KEYEXCHANGE:
            raise self.fail(
                value.line, f"'keyexchange=' must be ikev1 or ikev2, not {show(value.text)}"
            )
        if word == "ike":
            self.notes.append(
                f"conn {conn.name}: keyexchange=ike means IKEv2 in strongSwan; using IKEv2"
            )
        return _KEYEXCHANGE[word]

    def _duration(self, value: _Value, key: str) -> int:
        match = _DURATION.fullmatch(value.text.strip().lower())
        if not match:
            raise self.fail(
                value.line, f"'{key}=' is not a duration such as 30s, 8h or 3600: "
                f"{show(value.text)}"
            )
        return int(match.group(1)) * _UNIT[match.group(2)]
