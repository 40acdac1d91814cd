"""The EC2 API's `CustomerGatewayConfiguration`: AWS's native XML.

`aws ec2 describe-vpn-connections` returns it as a string; saved to a file it
looks like:

    <vpn_connection id="vpn-...">
      <customer_gateway_id>cgw-...</customer_gateway_id>
      <vpn_gateway_id>vgw-...</vpn_gateway_id>
      <ipsec_tunnel>
        <customer_gateway>
          <tunnel_outside_address><ip_address>...</ip_address></tunnel_outside_address>
          <tunnel_inside_address><ip_address>...</ip_address>
            <network_cidr>30</network_cidr></tunnel_inside_address>
          [<bgp><asn>65000</asn><hold_time>30</hold_time></bgp>: dynamic routing]
        </customer_gateway>
        <vpn_gateway>...likewise...</vpn_gateway>
        <ike>pre_shared_key, encryption_protocol, authentication_protocol,
             lifetime, perfect_forward_secrecy, mode [, ike_version]</ike>
        <ipsec>encryption_protocol, authentication_protocol, lifetime,
             perfect_forward_secrecy, dead_peer_detection/{interval,retries}</ipsec>
      </ipsec_tunnel>
      <ipsec_tunnel>...</ipsec_tunnel>
    </vpn_connection>

Elements are read by name, never by position. The API lists the two
`ipsec_tunnel`s in no documented order, so Tunnel1 is the one whose AWS
outside address is numerically lower, whatever order the file uses.

A DOCTYPE is refused before the tree is built: AWS's XML has none, and
without one no entity can be declared, so nothing can expand or be fetched
(what defusedxml guards against, without the extra dependency). The same
first pass refuses nesting deeper than `MAX_DEPTH`, and `wizard.aws.parse`
caps the size, so no document can cost more than a few megabytes of memory.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from xml.parsers import expat

from wizard.aws._common import (
    DEFAULT_MARKS,
    DEFAULT_NAMES,
    Imported,
    aws_id,
    check_text,
    dh_group,
    dpd_timeout,
    ipv4,
    ipv4_interface,
    proposal,
    secrets_kept,
    show,
    tunnel_count,
    whole_number,
)
from wizard.aws.errors import AwsFileError
from wizard.model import Bgp, Connection, Crypto, Tunnel
from wizard.secret import Secret

FORMAT = "xml"
ROOT = "vpn_connection"


MAX_DEPTH = 32
"""Element nesting refused beyond this; AWS's own file nests six deep."""


class _Refused(Exception):
    """Raised from an expat handler to stop at the first DTD declaration."""


class _TooDeep(Exception):
    """Raised from an expat handler to stop at the first element nested too deep."""


@dataclass(frozen=True)
class _Read:
    """One `ipsec_tunnel`, read, with its place in the file for the ordering note."""

    position: int
    customer_outside: IPv4Address
    aws_outside: IPv4Address
    customer_inside: IPv4Interface
    aws_inside: IPv4Interface
    psk: str
    crypto: Crypto
    bgp: Bgp | None = None


def parse(text: str, path: str = "<input>") -> Imported:
    """Read AWS's CustomerGatewayConfiguration XML.

    Raises:
        AwsFileError: naming the element path (or the line, when the XML is not
            well-formed) and what is wrong; never quoting a PSK.
    """
    check_text(text, path)
    with secrets_kept(text):
        return _Reader(text, path).read()


def _local(tag: object) -> str:
    """An element's name without its namespace (comments and PIs have no str tag)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Reader:
    """Refuse a DTD, build the tree, then read each ipsec_tunnel by element name."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.notes: list[str] = []
        self.unversioned: list[int] = []
        """Positions of the ipsec_tunnels without an IKE version element, for one note."""

    def fail(self, where: str, message: str) -> AwsFileError:
        return AwsFileError(self.path, where, message)

    # ------------------------------------------------------------------ the tree

    def _tree(self) -> ET.Element:
        checker = expat.ParserCreate()

        def refuse(*_: object) -> None:
            raise _Refused

        checker.StartDoctypeDeclHandler = refuse
        checker.EntityDeclHandler = refuse
        depth = 0

        def start(*_: object) -> None:
            nonlocal depth
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep

        def end(*_: object) -> None:
            nonlocal depth
            depth -= 1

        checker.StartElementHandler = start
        checker.EndElementHandler = end
        try:
            checker.Parse(self.text, True)
        except _TooDeep:
            raise self.fail(
                f"line {checker.CurrentLineNumber}",
                f"the XML nests elements more than {MAX_DEPTH} deep; AWS's file nests 6",
            ) from None
        except _Refused:
            raise self.fail(
                f"line {checker.CurrentLineNumber}",
                "the XML declares a DTD (<!DOCTYPE ...>); AWS's file has none, and a DTD "
                "is refused so that no entity can expand or be fetched",
            ) from None
        except expat.ExpatError as exc:
            raise self.fail(
                f"line {exc.lineno}, column {exc.offset + 1}",
                f"not well-formed XML: {expat.ErrorString(exc.code)}",
            ) from None
        try:
            return ET.fromstring(self.text)
        except ET.ParseError as exc:  # expat accepted it above; kept for safety's sake
            line, column = exc.position
            raise self.fail(f"line {line}, column {column + 1}", "not well-formed XML") from None

    def _children(self, parent: ET.Element, name: str) -> list[ET.Element]:
        return [child for child in parent if _local(child.tag) == name]

    def _optional(self, parent: ET.Element, name: str, at: str) -> ET.Element | None:
        found = self._children(parent, name)
        if len(found) > 1:
            raise self.fail(
                f"{at}/{name}", f"<{name}> appears {len(found)} times in <{_local(parent.tag)}>"
            )
        return found[0] if found else None

    def _one(self, parent: ET.Element, name: str, at: str) -> ET.Element:
        found = self._optional(parent, name, at)
        if found is None:
            raise self.fail(
                f"{at}/{name}", f"<{name}> is missing from <{_local(parent.tag)}> "
                "(the file may be truncated)"
            )
        return found

    def _text(self, parent: ET.Element, name: str, at: str) -> tuple[str, str]:
        """A required leaf's text and its element path."""
        element = self._one(parent, name, at)
        where = f"{at}/{name}"
        value = (element.text or "").strip()
        if not value:
            raise self.fail(where, f"<{name}> is empty")
        return value, where

    def _optional_text(self, parent: ET.Element, name: str, at: str) -> tuple[str, str] | None:
        if self._optional(parent, name, at) is None:
            return None
        return self._text(parent, name, at)

    # ------------------------------------------------------------------ the document

    def read(self) -> Imported:
        root = self._tree()
        if _local(root.tag) != ROOT:
            raise self.fail(
                _local(root.tag), f"expected <{ROOT}> as the root element, found "
                f"<{_local(root.tag)}>; save the CustomerGatewayConfiguration value itself"
            )
        # The raw attribute, not a stripped one: what is checked is what is kept.
        ids = {"vpn_connection_id": aws_id(
            "vpn_connection_id", root.get("id") or "", self.path, f"{ROOT}/@id"
        )}
        for name in ("vpn_gateway_id", "customer_gateway_id"):
            # Optional: AWS leaves vpn_gateway_id empty for a transit gateway connection.
            found = self._optional(root, name, ROOT)
            value = (found.text or "").strip() if found is not None else ""
            ids[name] = aws_id(name, value, self.path, f"{ROOT}/{name}")
        elements = self._children(root, "ipsec_tunnel")
        tunnel_count(len(elements), self.path, ROOT)
        read = [
            self._tunnel(element, f"{ROOT}/ipsec_tunnel[{position}]", position)
            for position, element in enumerate(elements, start=1)
        ]
        read.sort(key=lambda r: (int(r.aws_outside), r.position))
        self.notes.insert(0, "the XML lists its tunnels in no fixed order; they are named by "
                          "AWS outside address: " + ", ".join(
                              f"{DEFAULT_NAMES[i]} = {r.aws_outside} "
                              f"(ipsec_tunnel[{r.position}] in the file)"
                              for i, r in enumerate(read)))
        self.notes.insert(1, "the XML names no tunnels, marks or DPD action; using the seed's "
                          "Tunnel1/Tunnel2, marks 100/200 and dpdaction=restart")
        if self.unversioned:
            self.notes.insert(2, "no IKE version element in " + " or ".join(
                f"ipsec_tunnel[{p}]" for p in self.unversioned) + "; assuming IKEv1")
        tunnels = tuple(
            Tunnel(
                name=DEFAULT_NAMES[i],
                customer_outside_ip=r.customer_outside,
                aws_outside_ip=r.aws_outside,
                customer_inside_cidr=r.customer_inside,
                aws_inside_cidr=r.aws_inside,
                psk=Secret(r.psk),
                mark=DEFAULT_MARKS[i],
                crypto=r.crypto,
                bgp=r.bgp,
            )
            for i, r in enumerate(read)
        )
        with_bgp = [r.position for r in read if r.bgp is not None]
        if with_bgp and len(with_bgp) != len(read):
            other = next(r.position for r in read if r.bgp is None)
            raise self.fail(
                f"{ROOT}/ipsec_tunnel[{other}]", f"ipsec_tunnel[{other}] has no <bgp> element "
                f"while ipsec_tunnel[{with_bgp[0]}] has; the file may be truncated"
            )
        routing = "dynamic" if with_bgp else "static"
        if with_bgp:
            self.notes.append("the file configures BGP (<bgp> under the gateways): this is a "
                              "dynamic-routing VPN connection; BGP runs in FRR "
                              "(docs/routing.md)")
        return Imported(Connection(tunnels, **ids, routing=routing), FORMAT, tuple(self.notes),
                        origins=tuple(f"ipsec_tunnel[{r.position}]" for r in read))

    def _tunnel(self, element: ET.Element, at: str, position: int) -> _Read:
        customer_at, aws_at = f"{at}/customer_gateway", f"{at}/vpn_gateway"
        customer = self._one(element, "customer_gateway", at)
        aws = self._one(element, "vpn_gateway", at)
        ike = self._one(element, "ike", at)
        psk, _ = self._text(ike, "pre_shared_key", f"{at}/ike")
        return _Read(
            position=position,
            customer_outside=self._outside(customer, customer_at),
            aws_outside=self._outside(aws, aws_at),
            customer_inside=self._inside(customer, customer_at),
            aws_inside=self._inside(aws, aws_at),
            psk=psk,
            crypto=self._crypto(element, at, position),
            bgp=self._bgp(customer, aws, customer_at, aws_at),
        )

    def _bgp(
        self, customer: ET.Element, aws: ET.Element, customer_at: str, aws_at: str
    ) -> Bgp | None:
        """`bgp/asn` and `bgp/hold_time` under both gateways: a dynamic-routing connection."""
        found = [(g, at, self._optional(g, "bgp", at)) for g, at in
                 ((customer, customer_at), (aws, aws_at))]
        if all(bgp is None for _, _, bgp in found):
            return None
        values: list[tuple[int | None, int | None]] = []
        for _, at, bgp in found:
            if bgp is None:
                values.append((None, None))
                continue
            numbers: list[int | None] = []
            for name in ("asn", "hold_time"):
                text = self._optional_text(bgp, name, f"{at}/bgp")
                numbers.append(None if text is None else whole_number(
                    text[0], f"the BGP {name.replace('_', ' ')}", self.path, text[1]))
            values.append((numbers[0], numbers[1]))
        (customer_asn, customer_hold), (aws_asn, aws_hold) = values
        neighbor = self._optional(aws, "tunnel_inside_address", aws_at)
        neighbor_ip = None
        if neighbor is not None:
            text = self._optional_text(neighbor, "ip_address", f"{aws_at}/tunnel_inside_address")
            if text is not None:
                neighbor_ip = ipv4(text[0], "the inside address", self.path, text[1])
        return Bgp(customer_asn=customer_asn, aws_asn=aws_asn, neighbor_ip=neighbor_ip,
                   hold_time=aws_hold if aws_hold is not None else customer_hold)

    def _outside(self, gateway: ET.Element, at: str) -> IPv4Address:
        outside = self._one(gateway, "tunnel_outside_address", at)
        at = f"{at}/tunnel_outside_address"
        value, where = self._text(outside, "ip_address", at)
        return ipv4(value, "the outside address", self.path, where)

    def _inside(self, gateway: ET.Element, at: str) -> IPv4Interface:
        inside = self._one(gateway, "tunnel_inside_address", at)
        at = f"{at}/tunnel_inside_address"
        address, where = self._text(inside, "ip_address", at)
        ipv4(address, "the inside address", self.path, where)
        cidr = self._optional_text(inside, "network_cidr", at)
        if cidr is not None:
            prefix = whole_number(cidr[0], "the inside prefix length", self.path, cidr[1])
            return ipv4_interface(f"{address}/{prefix}", "the inside address", self.path, cidr[1])
        mask = self._optional_text(inside, "network_mask", at)
        if mask is None:
            raise self.fail(
                f"{at}/network_cidr", "the inside address has neither <network_cidr> nor "
                "<network_mask>"
            )
        if not re.fullmatch(r"[0-9.]{7,15}", mask[0]):
            raise self.fail(mask[1], f"not a netmask: {show(mask[0])}")
        return ipv4_interface(f"{address}/{mask[0]}", "the inside address and mask", self.path,
                              mask[1])

    # ------------------------------------------------------------------ crypto

    def _crypto(self, element: ET.Element, at: str, position: int) -> Crypto:
        ike_at, ipsec_at = f"{at}/ike", f"{at}/ipsec"
        ike = self._one(element, "ike", at)
        ipsec = self._one(element, "ipsec", at)
        version = self._ike_version(ike, ike_at, position)
        group_text, where = self._text(ike, "perfect_forward_secrecy", ike_at)
        ike_group = dh_group(group_text, "the IKE Diffie-Hellman group", self.path, where)
        if ike_group is None:
            raise self.fail(where, "IKE needs a Diffie-Hellman group")
        ike_proposal = self._proposal(ike, ike_at, (ike_group, where), phase=1)
        pfs = self._optional_text(ipsec, "perfect_forward_secrecy", ipsec_at)
        esp_group: tuple[int | None, str] = (None, "")
        if pfs is None:
            self.notes.append(f"{at} has no ipsec/perfect_forward_secrecy; ESP without PFS")
        else:
            esp_group = (dh_group(pfs[0], "the IPsec PFS group", self.path, pfs[1]), pfs[1])
        esp_proposal = self._proposal(ipsec, ipsec_at, esp_group, phase=2)
        mode = self._optional_text(ike, "mode", ike_at)
        if mode is not None and mode[0].lower() != "main":
            self.notes.append(f"{at}: IKE mode {show(mode[0])} is not carried over; "
                              "strongSwan negotiates main mode")
        defaults = Crypto()
        interval, timeout = defaults.dpd_delay, defaults.dpd_timeout
        dpd = self._optional(ipsec, "dead_peer_detection", ipsec_at)
        if dpd is None:
            self.notes.append(f"{at} has no ipsec/dead_peer_detection; using the seed's "
                              f"{interval} s delay and {timeout} s timeout")
        else:
            dpd_at = f"{ipsec_at}/dead_peer_detection"
            value, where = self._text(dpd, "interval", dpd_at)
            interval = whole_number(value, "the DPD interval", self.path, where)
            value, where = self._text(dpd, "retries", dpd_at)
            retries = whole_number(value, "the DPD retries", self.path, where)
            timeout, note = dpd_timeout(interval, retries)
            if note:
                self.notes.append(f"{at}: {note}")
        return Crypto(
            ike_version=version,
            ike=ike_proposal,
            esp=esp_proposal,
            ike_lifetime=self._number(ike, "lifetime", ike_at, "the IKE lifetime"),
            esp_lifetime=self._number(ipsec, "lifetime", ipsec_at, "the IPsec lifetime"),
            dpd_delay=interval,
            dpd_timeout=timeout,
            dpd_action=defaults.dpd_action,
        )

    def _ike_version(self, ike: ET.Element, ike_at: str, position: int) -> int:
        for name in ("ike_version", "version"):
            found = self._optional_text(ike, name, ike_at)
            if found is None:
                continue
            match = re.fullmatch(r"(?:ike\s*v?)?([12])", found[0].lower())
            if not match:
                raise self.fail(found[1], f"the IKE version must be ikev1 or ikev2, not "
                                f"{show(found[0])}")
            return int(match.group(1))
        self.unversioned.append(position)
        return 1

    def _proposal(
        self, parent: ET.Element, at: str, group: tuple[int | None, str], *, phase: int
    ) -> str:
        return proposal(
            self._text(parent, "encryption_protocol", at),
            self._text(parent, "authentication_protocol", at),
            group, phase=phase, path=self.path,
        )

    def _number(self, parent: ET.Element, name: str, at: str, what: str) -> int:
        value, where = self._text(parent, name, at)
        return whole_number(value, what, self.path, where)
