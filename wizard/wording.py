"""The operator's words for a model path: "tunnels[0].crypto.ike" -> "Tunnel 1, IKE proposals".

A `Problem.where` is a path into the model, right for code and tests and
wrong on a screen: "(tunnels[0].crypto.ike, tunnels[0].crypto.esp, ...)"
told a newcomer nothing. Every message that shows where a problem is (the
review, `vpn-wizard plan`, plain mode, the apply blockers) goes through
`place` or `places` here, so all of them say it the same way. Core only:
no Textual, nothing imported from the rest of the wizard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Last path part (indexes dropped) -> (what, kind). Fields of one kind are said together:
#: "IKE and ESP proposals".
_WORDS: dict[str, tuple[str, str]] = {
    "name": ("name", ""),
    "psk": ("pre-shared key", ""),
    "customer_outside_ip": ("outside address of this box", ""),
    "aws_outside_ip": ("AWS endpoint", ""),
    "customer_inside_cidr": ("inside address of this box", ""),
    "aws_inside_cidr": ("AWS inside address", ""),
    "mark": ("mark", ""),
    "crypto.ike_version": ("IKE version", ""),
    "crypto.ike": ("IKE", "proposals"),
    "crypto.esp": ("ESP", "proposals"),
    "crypto.ike_lifetime": ("IKE", "lifetime"),
    "crypto.esp_lifetime": ("ESP", "lifetime"),
    "crypto.dpd_delay": ("DPD", "delay"),
    "crypto.dpd_timeout": ("DPD", "timeout"),
    "crypto.dpd_action": ("DPD", "action"),
    "mode": ("mode", ""),
    "persistence": ("persistence", ""),
    "backend": ("strongSwan configuration", ""),
    "physical_interface": ("WAN interface", ""),
    "lan_interfaces": ("LAN interfaces", ""),
    "vpc_cidrs": ("VPC CIDRs", ""),
    "mtu": ("MTU", ""),
    "heartbeat": ("heartbeat", ""),
    "heartbeat_interval": ("heartbeat interval", ""),
    "behind_nat": ("behind NAT", ""),
    "local_ip": ("private address behind NAT", ""),
    "routing": ("routing", ""),
    "bgp_asn": ("BGP ASN", ""),
    "bgp_aws_asn": ("AWS's BGP ASN", ""),
    "bgp_hold_time": ("BGP hold time", ""),
    "bgp.neighbor_ip": ("BGP neighbor", ""),
    "advertise": ("announced networks", ""),
    "bgp_mode": ("BGP tunnel preference", ""),
    "vpn_connection_id": ("VPN connection id", ""),
    "vpn_gateway_id": ("gateway id", ""),
    "customer_gateway_id": ("customer gateway id", ""),
}

_TUNNEL = re.compile(r"tunnels\[(\d+)\]\.?(.*)")
_INDEX = re.compile(r"\[\d+\]")


def _split(where: str) -> tuple[str, tuple[str, str]]:
    """(owner, (what, kind)): owner is "Tunnel 1", "" for the box's choices or the connection."""
    owner = ""
    rest = where
    match = _TUNNEL.fullmatch(where)
    if match:
        owner = f"Tunnel {int(match.group(1)) + 1}"
        rest = match.group(2)
    elif where == "tunnels":
        return "", ("the tunnels", "")
    else:
        rest = where.split(".", 1)[1] if where.startswith(("choices.", "connection.")) else where
    rest = _INDEX.sub("", rest)
    if not rest:
        return owner, ("", "")
    words = _WORDS.get(rest) or (rest.rsplit(".", 1)[-1].replace("_", " "), "")
    return owner, words


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _fields(words: list[tuple[str, str]]) -> str:
    """("IKE", "proposals"), ("ESP", "proposals") -> "IKE and ESP proposals"."""
    by_kind: dict[str, list[str]] = {}
    for what, kind in words:
        if what and what not in by_kind.setdefault(kind, []):
            by_kind[kind].append(what)
    return _and([f"{_and(whats)} {kind}".strip() for kind, whats in by_kind.items() if whats])


def place(where: str) -> str:
    """One model path in the operator's words."""
    return places([where])


def places(wheres: Iterable[str]) -> str:
    """Several model paths in one phrase: "Tunnels 1 and 2, IKE and ESP proposals"."""
    owners: dict[str, list[tuple[str, str]]] = {}
    for where in wheres:
        owner, words = _split(where)
        owners.setdefault(owner, [])
        if words not in owners[owner]:
            owners[owner].append(words)
    # Owners with the same fields are said once: "Tunnels 1 and 2, ...".
    groups: dict[str, list[str]] = {}
    for owner, words in owners.items():
        groups.setdefault(_fields(words), []).append(owner)
    phrases = []
    for fields, group in groups.items():
        named = [o for o in group if o]
        if named:
            who = (named[0] if len(named) == 1
                   else "Tunnels " + _and([o.removeprefix("Tunnel ") for o in named]))
            phrases.append(f"{who}, {fields}" if fields else who)
        if len(named) < len(group) and fields:
            phrases.append(fields[:1].upper() + fields[1:])
    return "; ".join(phrases)
