"""AWS's "Generic" (vendor-agnostic) text configuration.

Each tunnel is a block headed "IPsec Tunnel #N", with numbered sections whose
settings are dash lines such as `  - Pre-Shared Key           : abc`:

- "#1: Internet Key Exchange Configuration": IKE version, Pre-Shared Key,
  Authentication Algorithm, Encryption Algorithm, Lifetime, Diffie-Hellman
  (older files say "Perfect Forward Secrecy : Diffie-Hellman Group 2" here);
- "#2: IPsec Configuration": Authentication Algorithm, Encryption Algorithm,
  Lifetime, Perfect Forward Secrecy, DPD Interval, DPD Retries;
- "#3: Tunnel Interface Configuration": under "Outside IP Addresses" and
  "Inside IP Addresses", a Customer Gateway and a Virtual Private Gateway line;
- "#4: Border Gateway Protocol (BGP) Configuration" in a dynamic-routing
  connection (Customer Gateway ASN, Virtual Private Gateway ASN, Neighbor IP
  Address, Neighbor Hold Time), read into `Tunnel.bgp`, which FRR's
  configuration is rendered from (`wizard.render.frr`); a static one has
  "#4: Static Routing".

Wherever they appear, "TCP MSS Adjustment" and "Tunnel interface MTU" are
kept as AWS's advice (`Connection.advised_mss`/`advised_mtu`).

The same key ("Lifetime", "Customer Gateway") means different things in
different sections, so the reader tracks the section and sub-heading it is in.
The format names no conn and no mark: tunnels become Tunnel1/Tunnel2 with the
seed's marks 100/200, and the DPD timeout is interval x retries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wizard.aws._common import (
    DEFAULT_MARKS,
    DEFAULT_NAMES,
    Imported,
    LineReader,
    aws_id,
    cut_short,
    dh_group,
    dpd_timeout,
    ipv4,
    ipv4_interface,
    proposal,
    show,
    tunnel_count,
    whole_number,
)
from wizard.aws.errors import AwsFileError
from wizard.model import Bgp, Connection, Crypto, Tunnel
from wizard.secret import Secret

FORMAT = "generic"

_TUNNEL = re.compile(r"\s*IPsec Tunnel #([0-9]{1,3})\s*", re.I)
_SECTION = re.compile(r"\s*#([0-9]):\s*(.*)")
_OUTSIDE = re.compile(r"\s*Outside IP Addresses\s*:?\s*", re.I)
_INSIDE = re.compile(r"\s*Inside IP Addresses\s*:?\s*", re.I)
_IDS = {
    "vpn_connection_id": re.compile(r"\s*Your VPN Connection ID\s*:\s*(\S+)\s*", re.I),
    "vpn_gateway_id": re.compile(r"\s*Your Virtual Private Gateway ID\s*:\s*(\S+)\s*", re.I),
    "customer_gateway_id": re.compile(r"\s*Your Customer Gateway ID\s*:\s*(\S+)\s*", re.I),
}
_SECONDS = re.compile(r"([0-9]{1,9})(?:\s*(?:seconds?|secs?|s))?", re.I)
#: Section titles by the words that identify them; a file's numbering is not trusted.
_SECTIONS = (
    ("ike", "internet key exchange"),
    ("ipsec", "ipsec configuration"),
    ("interface", "tunnel interface"),
    ("bgp", "border gateway protocol"),
)
#: (section, sub-heading, key as written, lower-cased) -> our name for the value.
_KEYS = {
    ("ike", "", "ike version"): "ike_version",
    ("ike", "", "pre-shared key"): "psk",
    ("ike", "", "authentication algorithm"): "ike_integrity",
    ("ike", "", "encryption algorithm"): "ike_encryption",
    ("ike", "", "lifetime"): "ike_lifetime",
    ("ike", "", "diffie-hellman"): "ike_group",
    ("ike", "", "perfect forward secrecy"): "ike_group",
    ("ipsec", "", "authentication algorithm"): "esp_integrity",
    ("ipsec", "", "encryption algorithm"): "esp_encryption",
    ("ipsec", "", "lifetime"): "esp_lifetime",
    ("ipsec", "", "perfect forward secrecy"): "esp_group",
    ("ipsec", "", "dpd interval"): "dpd_interval",
    ("ipsec", "", "dpd retries"): "dpd_retries",
    ("interface", "outside", "customer gateway"): "customer_outside",
    ("interface", "outside", "virtual private gateway"): "aws_outside",
    ("interface", "inside", "customer gateway"): "customer_inside",
    ("interface", "inside", "virtual private gateway"): "aws_inside",
    ("bgp", "", "customer gateway asn"): "bgp_customer_asn",
    ("bgp", "", "virtual private gateway asn"): "bgp_aws_asn",
    ("bgp", "", "neighbor ip address"): "bgp_neighbor",
    ("bgp", "", "neighbor hold time"): "bgp_hold_time",
}
#: Keys read wherever they appear in a tunnel's block: AWS's fragmentation advice, which
#: files put in section #2 (MSS) and #3 (MTU) or under a heading of their own.
_ANYWHERE = {"tcp mss adjustment": "mss", "tunnel interface mtu": "mtu"}
#: What each value is called in a refusal: the section and the key as AWS writes them.
_LABELS = {
    "psk": "'Pre-Shared Key' in section #1 (Internet Key Exchange)",
    "ike_integrity": "'Authentication Algorithm' in section #1 (Internet Key Exchange)",
    "ike_encryption": "'Encryption Algorithm' in section #1 (Internet Key Exchange)",
    "ike_lifetime": "'Lifetime' in section #1 (Internet Key Exchange)",
    "ike_group": "'Diffie-Hellman' in section #1 (Internet Key Exchange)",
    "esp_integrity": "'Authentication Algorithm' in section #2 (IPsec)",
    "esp_encryption": "'Encryption Algorithm' in section #2 (IPsec)",
    "esp_lifetime": "'Lifetime' in section #2 (IPsec)",
    "esp_group": "'Perfect Forward Secrecy' in section #2 (IPsec)",
    "ike_version": "'IKE version' in section #1 (Internet Key Exchange)",
    "dpd_interval": "'DPD Interval' in section #2 (IPsec)",
    "dpd_retries": "'DPD Retries' in section #2 (IPsec)",
    "customer_outside": "'Customer Gateway' under 'Outside IP Addresses' in section #3",
    "aws_outside": "'Virtual Private Gateway' under 'Outside IP Addresses' in section #3",
    "customer_inside": "'Customer Gateway' under 'Inside IP Addresses' in section #3",
    "aws_inside": "'Virtual Private Gateway' under 'Inside IP Addresses' in section #3",
    "bgp_customer_asn": "'Customer Gateway ASN' in section #4 (BGP)",
    "bgp_aws_asn": "'Virtual Private Gateway ASN' in section #4 (BGP)",
    "bgp_neighbor": "'Neighbor IP Address' in section #4 (BGP)",
    "bgp_hold_time": "'Neighbor Hold Time' in section #4 (BGP)",
    "mss": "'TCP MSS Adjustment'",
    "mtu": "'Tunnel interface MTU'",
}
_BYTES = re.compile(r"([0-9]{1,5})(?:\s*bytes?)?", re.I)
#: Values no tunnel can do without, in the order the file gives them.
_REQUIRED = (
    "psk", "ike_integrity", "ike_encryption", "ike_lifetime", "ike_group",
    "esp_integrity", "esp_encryption", "esp_lifetime",
    "customer_outside", "aws_outside", "customer_inside", "aws_inside",
)
_PLACEHOLDER = re.compile(r"YOUR_[A-Z_]+|<[^<>]*>")


@dataclass
class _Block:
    """One "IPsec Tunnel #N" block: its settings by our name, each with its line."""

    number: int
    line: int
    values: dict[str, tuple[str, int]] = field(default_factory=dict)


def _setting(line: str) -> tuple[str, str] | None:
    """Split a dash line `  - Pre-Shared Key   : value` into ("pre-shared key", "value").

    Old downloads write "- Customer Gateway:        : 192.0.2.1", with a stray
    colon after the key; it is dropped. Done with str methods rather than one
    regular expression, whose backtracking over long runs of spaces would be
    cubic on a damaged file.
    """
    body = line.strip()
    if not body.startswith("-"):
        return None
    key, sep, value = body[1:].partition(":")
    if not sep:
        return None
    value = value.strip()
    if value.startswith(":"):
        value = value[1:].strip()
    key = " ".join(key.lower().split())
    return (key, value) if key else None


def parse(text: str, path: str = "<input>") -> Imported:
    """Read AWS's Generic text configuration.

    Raises:
        AwsFileError: naming the line and what is wrong; never quoting a PSK.
    """
    return _Reader.parse_with(text, path)


class _Reader(LineReader):
    """One pass collecting each block's settings, then one tunnel at a time."""

    def read(self) -> Imported:
        blocks: list[_Block] = []
        ids: dict[str, str] = {}
        block: _Block | None = None
        section = ""
        heading = ""
        for number, line in enumerate(self.lines, start=1):
            match = _TUNNEL.fullmatch(line)
            if match:
                block = _Block(int(match.group(1)), number)
                if any(b.number == block.number for b in blocks):
                    raise self.fail(number, f"IPsec Tunnel #{block.number} appears twice")
                blocks.append(block)
                section = heading = ""
                continue
            if block is None:
                for name, pattern in _IDS.items():
                    match = pattern.fullmatch(line)
                    if match and name not in ids:
                        ids[name] = aws_id(name, match.group(1), self.path, f"line {number}")
                continue
            match = _SECTION.fullmatch(line)
            if match:
                title = match.group(2).lower()
                section = next((key for key, words in _SECTIONS if words in title), "other")
                heading = ""
                continue
            if _OUTSIDE.fullmatch(line):
                heading = "outside"
                continue
            if _INSIDE.fullmatch(line):
                heading = "inside"
                continue
            setting = _setting(line)
            if setting is None:
                continue
            key, value = setting
            name = _ANYWHERE.get(key) or _KEYS.get(
                (section, heading if section == "interface" else "", key)
            )
            if name is None:
                continue
            if name in block.values:
                first = block.values[name][1]
                raise self.fail(
                    number, f"IPsec Tunnel #{block.number} gives "
                    f"{_LABELS[name]} twice (first on line {first})"
                )
            if number == self.unterminated:
                raise cut_short(self.path, number)
            block.values[name] = (value, number)
        numbers = sorted(b.number for b in blocks)
        tunnel_count(len(blocks), self.path)
        if numbers != [1, 2]:
            raise self.fail(
                None, "expected IPsec Tunnel #1 and #2, found "
                + " and ".join(f"#{n}" for n in numbers)
            )
        blocks.sort(key=lambda b: b.number)
        self.notes.append(
            "the Generic format names no tunnels, marks or DPD action; using the seed's "
            "Tunnel1/Tunnel2, marks 100/200 and dpdaction=restart"
        )
        tunnels = tuple(self._tunnel(b, i) for i, b in enumerate(blocks))
        with_bgp = [b.number for b, t in zip(blocks, tunnels, strict=True) if t.bgp is not None]
        if with_bgp and len(with_bgp) != len(tunnels):
            other = next(b for b, t in zip(blocks, tunnels, strict=True) if t.bgp is None)
            raise self.fail(
                other.line, f"IPsec Tunnel #{other.number} has no BGP configuration (section "
                f"#4) while IPsec Tunnel #{with_bgp[0]} has one; the file may be truncated"
            )
        routing = "dynamic" if with_bgp else "static"
        mtu = self._advice(blocks, "mtu")
        mss = self._advice(blocks, "mss")
        if routing == "dynamic":
            self.notes.append(
                "the file configures BGP (section #4): this is a dynamic-routing VPN connection; "
                "BGP runs in FRR (docs/routing.md)"
            )
        connection = Connection(
            tunnels, **ids, routing=routing, advised_mtu=mtu, advised_mss=mss
        )
        return Imported(connection, FORMAT, tuple(self.notes))

    def _advice(self, blocks: list[_Block], name: str) -> int | None:
        """AWS's MTU or MSS advice: the first tunnel's value that gives one."""
        for block in blocks:
            if name in block.values:
                value, line = block.values[name]
                match = _BYTES.fullmatch(value.strip())
                if not match:
                    raise self.fail(
                        line, f"{_LABELS[name]} is not a number of bytes: {show(value)}"
                    )
                return int(match.group(1))
        return None

    def _bgp(self, block: _Block) -> Bgp | None:
        """Section #4's BGP values, when the tunnel has them (a dynamic-routing connection)."""
        names = ("bgp_customer_asn", "bgp_aws_asn", "bgp_neighbor", "bgp_hold_time")
        if not any(name in block.values for name in names):
            return None
        tunnel = f"IPsec Tunnel #{block.number}"
        numbers: dict[str, int | None] = {}
        for name in ("bgp_customer_asn", "bgp_aws_asn", "bgp_hold_time"):
            numbers[name] = None
            if name in block.values:
                value, where = self._get(block, name)
                numbers[name] = whole_number(value, f"{tunnel}: {_LABELS[name]}", self.path,
                                             where)
        neighbor = None
        if "bgp_neighbor" in block.values:
            value, where = self._get(block, "bgp_neighbor")
            neighbor = ipv4(value, f"{tunnel}: {_LABELS['bgp_neighbor']}", self.path, where)
        return Bgp(
            customer_asn=numbers["bgp_customer_asn"],
            aws_asn=numbers["bgp_aws_asn"],
            neighbor_ip=neighbor,
            hold_time=numbers["bgp_hold_time"],
        )

    # ------------------------------------------------------------------ one tunnel

    def _get(self, block: _Block, name: str) -> tuple[str, str]:
        """A value known to be there (see `_REQUIRED`) and its location, if usable."""
        value, line = block.values[name]
        if not value:
            raise self.fail(line, f"{_LABELS[name]} is empty")
        if name != "psk" and _PLACEHOLDER.search(value):
            raise self.fail(
                line, f"{_LABELS[name]} is still AWS's placeholder {show(value)}; "
                "write the real value there (for the Customer Gateway outside address, this "
                "box's public address) or download the configuration again"
            )
        return value, f"line {line}"

    def _tunnel(self, block: _Block, index: int) -> Tunnel:
        path = self.path
        tunnel = f"IPsec Tunnel #{block.number}"
        missing = [name for name in _REQUIRED if name not in block.values]
        if missing:
            more = f" and {len(missing) - 1} more value(s)" if len(missing) > 1 else ""
            raise self.fail(
                block.line, f"{tunnel} has no {_LABELS[missing[0]]}{more} "
                "(the file may be truncated)"
            )
        psk, _ = self._get(block, "psk")
        value, where = self._get(block, "customer_outside")
        customer = ipv4(value, f"{tunnel}: the Customer Gateway outside address", path, where)
        value, where = self._get(block, "aws_outside")
        aws = ipv4(value, f"{tunnel}: the Virtual Private Gateway outside address", path, where)
        value, where = self._get(block, "customer_inside")
        customer_inside = ipv4_interface(
            value, f"{tunnel}: the Customer Gateway inside address", path, where
        )
        value, where = self._get(block, "aws_inside")
        aws_inside = ipv4_interface(
            value, f"{tunnel}: the Virtual Private Gateway inside address", path, where
        )
        return Tunnel(
            name=DEFAULT_NAMES[index],
            customer_outside_ip=customer,
            aws_outside_ip=aws,
            customer_inside_cidr=customer_inside,
            aws_inside_cidr=aws_inside,
            psk=Secret(psk),
            mark=DEFAULT_MARKS[index],
            crypto=self._crypto(block),
            bgp=self._bgp(block),
        )

    def _crypto(self, block: _Block) -> Crypto:
        path = self.path
        tunnel = f"IPsec Tunnel #{block.number}"
        ike_version = self._ike_version(block)
        group_text, group_at = self._get(block, "ike_group")
        ike_group = dh_group(group_text, f"{tunnel}: the IKE Diffie-Hellman group", path, group_at)
        if ike_group is None:
            raise AwsFileError(path, group_at, f"{tunnel}: IKE needs a Diffie-Hellman group")
        ike = proposal(
            self._get(block, "ike_encryption"), self._get(block, "ike_integrity"),
            (ike_group, group_at), phase=1, path=path,
        )
        esp_group, group_at = None, ""
        if "esp_group" in block.values:
            group_text, group_at = self._get(block, "esp_group")
            esp_group = dh_group(group_text, f"{tunnel}: the IPsec PFS group", path, group_at)
        else:
            self.notes.append(f"{tunnel} names no Perfect Forward Secrecy group; ESP without PFS")
        esp = proposal(
            self._get(block, "esp_encryption"), self._get(block, "esp_integrity"),
            (esp_group, group_at), phase=2, path=path,
        )
        ike_lifetime = self._seconds(block, "ike_lifetime")
        esp_lifetime = self._seconds(block, "esp_lifetime")
        defaults = Crypto()
        if "dpd_interval" in block.values and "dpd_retries" in block.values:
            value, line = block.values["dpd_interval"]
            interval = whole_number(value, f"{tunnel}: 'DPD Interval'", path, f"line {line}")
            value, line = block.values["dpd_retries"]
            retries = whole_number(value, f"{tunnel}: 'DPD Retries'", path, f"line {line}")
            timeout, note = dpd_timeout(interval, retries)
            if note:
                self.notes.append(f"{tunnel}: {note}")
        else:
            interval, timeout = defaults.dpd_delay, defaults.dpd_timeout
            self.notes.append(
                f"{tunnel} gives no DPD Interval/Retries; using the seed's "
                f"{interval} s delay and {timeout} s timeout"
            )
        return Crypto(
            ike_version=ike_version,
            ike=ike,
            esp=esp,
            ike_lifetime=ike_lifetime,
            esp_lifetime=esp_lifetime,
            dpd_delay=interval,
            dpd_timeout=timeout,
            dpd_action=defaults.dpd_action,
        )

    def _ike_version(self, block: _Block) -> int:
        if "ike_version" not in block.values:
            self.notes.append(f"IPsec Tunnel #{block.number} names no IKE version; assuming IKEv1")
            return 1
        value, line = block.values["ike_version"]
        match = re.fullmatch(r"(?:ike\s*v?)?([12])", value.strip().lower())
        if not match:
            raise self.fail(line, f"the IKE version must be IKEv1 or IKEv2, not {show(value)}")
        return int(match.group(1))

    def _seconds(self, block: _Block, name: str) -> int:
        value, where = self._get(block, name)
        match = _SECONDS.fullmatch(value.strip())
        if not match:
            raise AwsFileError(
                self.path, where, f"{_LABELS[name]} is not a number of seconds: {show(value)}"
            )
        return int(match.group(1))
