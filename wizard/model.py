"""The operator's VPN, as typed values: what AWS gave them and what they chose.

`Connection` holds AWS's facts (two tunnels, their addresses and keys, the
proposals AWS configured); `Choices` holds what only the operator can know (the
physical interface, the VPC CIDRs, manual or updown mode...). Together they are
a `Setup`, the single input to the plan. Everything here is a frozen dataclass:
screens and answer files make new values with `dataclasses.replace`, so a plan
can never see a half-edited model.

Validation returns `Problem`s instead of raising, because a form wants every
message at once, each under its own field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from wizard import crypto, fields
from wizard.secret import Secret

Mode = Literal["manual", "updown"]
Routing = Literal["static", "dynamic"]
BgpMode = Literal["active-active", "active-passive"]
Persistence = Literal["none", "seed", "netplan", "networkd"]
Backend = Literal["stroke", "swanctl"]
DpdAction = Literal["restart", "clear", "hold", "none"]

MODES: tuple[Mode, ...] = ("manual", "updown")
PERSISTENCE: tuple[Persistence, ...] = ("seed", "netplan", "networkd", "none")
BACKENDS: tuple[Backend, ...] = ("stroke", "swanctl")
DPD_ACTIONS: tuple[DpdAction, ...] = ("restart", "clear", "hold", "none")
ROUTINGS: tuple[Routing, ...] = ("static", "dynamic")
BGP_MODES: tuple[BgpMode, ...] = ("active-active", "active-passive")
#: AWS accepts at most this many prefixes from a customer gateway over one BGP session.
MAX_ADVERTISED = 100
#: AWS's neighbor hold time for a VPN's BGP sessions (its files say 30 s).
AWS_HOLD_TIME = 30

LINK_LOCAL = IPv4Network("169.254.0.0/16")
#: /30s AWS refuses as tunnel inside CIDRs.
RESERVED_INSIDE = (
    *(IPv4Network(f"169.254.{i}.0/30") for i in range(6)),
    IPv4Network("169.254.169.252/30"),
)
PSK_PATTERN = re.compile(r"[A-Za-z0-9._]{8,64}")
#: The seed's VTI MTU: 1500 less the worst-case ESP/IKE overhead AWS documents.
DEFAULT_MTU = 1419


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the model, located for the screen that shows it.

    Attributes:
        where: a dotted field path such as "tunnels[1].psk" or "choices.vpc_cidrs".
        message: what is wrong, in the operator's words.
        severity: "error" blocks the plan; "warning" is shown but allowed.
    """

    where: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Crypto:
    """Phase 1 and phase 2 settings of one tunnel, in strongSwan's vocabulary.

    Defaults are the seed's: IKEv1, aes128-sha1-modp1024 both phases, 8 h / 1 h,
    DPD every 10 s with a 30 s timeout and restart.
    """

    ike_version: int = 1
    ike: str = "aes128-sha1-modp1024"
    esp: str = "aes128-sha1-modp1024"
    ike_lifetime: int = 28800
    """Phase 1 lifetime in seconds (rendered as `ikelifetime=8h`)."""
    esp_lifetime: int = 3600
    """Phase 2 lifetime in seconds (rendered as `lifetime=1h`)."""
    dpd_delay: int = 10
    dpd_timeout: int = 30
    dpd_action: DpdAction = "restart"


@dataclass(frozen=True)
class Bgp:
    """One tunnel's BGP session, as AWS describes a dynamic-routing VPN connection.

    Read from AWS's file (Generic section #4, the XML's `bgp` elements) or, for
    the strongSwan download that has no BGP section, from the operator's
    answers; `wizard.render.frr` turns it into one FRR neighbor.

    Attributes:
        customer_asn: this side's autonomous system number.
        aws_asn: the virtual private gateway's ASN.
        neighbor_ip: AWS's inside address, the BGP neighbor.
        hold_time: seconds, as AWS gives it.
    """

    customer_asn: int | None = None
    aws_asn: int | None = None
    neighbor_ip: IPv4Address | None = None
    hold_time: int | None = None


@dataclass(frozen=True)
class Tunnel:
    """One of the two IPsec tunnels AWS provides.

    Attributes:
        name: the conn and VTI name, "Tunnel1"/"Tunnel2" as the seed uses.
        customer_outside_ip: this box's public address (the seed's `leftid`).
        aws_outside_ip: the virtual private gateway's address (`right`).
        customer_inside_cidr: this end of the /30 inside the tunnel, e.g. 169.254.23.6/30.
        aws_inside_cidr: AWS's end of the same /30, e.g. 169.254.23.5/30.
        psk: the pre-shared key.
        mark: the strongSwan `mark`, the VTI `key` and the iptables `--set-xmark`;
            the seed insists these three agree, so the model holds it once.
    """

    name: str
    customer_outside_ip: IPv4Address
    aws_outside_ip: IPv4Address
    customer_inside_cidr: IPv4Interface
    aws_inside_cidr: IPv4Interface
    psk: Secret
    mark: int
    crypto: Crypto = field(default_factory=Crypto)
    bgp: Bgp | None = None
    """The BGP session AWS configured for this tunnel; None for static routing."""


@dataclass(frozen=True)
class Connection:
    """What AWS's configuration document describes: one VPN connection, two tunnels."""

    tunnels: tuple[Tunnel, ...]
    vpn_connection_id: str = ""
    vpn_gateway_id: str = ""
    customer_gateway_id: str = ""
    routing: Routing = "static"
    """"dynamic" when the tunnels carry BGP (AWS's file configures it, or the operator says
    so for a strongSwan download): the VPC routes are learned over BGP through FRR."""
    advised_mtu: int | None = None
    """The tunnel MTU AWS's Generic file advises ("Tunnel interface MTU"), if it gives one."""
    advised_mss: int | None = None
    """The TCP MSS AWS's Generic file advises ("TCP MSS Adjustment"), if it gives one."""


@dataclass(frozen=True)
class Choices:
    """What only the operator can decide; the questions the wizard asks."""

    enable_forwarding: bool = True
    """Seed #1 steps 1-2; needed whenever hosts other than this box use the tunnels."""
    mode: Mode = "manual"
    """"manual": the seed's steps #2-#5 run now; "updown": strongSwan's updown script
    builds the VTI, routes and rules each time a tunnel comes up (automatic failover)."""
    physical_interface: str = "eth0"
    """The WAN interface the tunnels ride on (the seed's <PHYSICAL INTERFACE>)."""
    local_ip: IPv4Address | None = None
    """This box's private address when it sits behind NAT (the seed's <LOCAL IP>);
    None means the customer outside address is on this box."""
    lan_interfaces: tuple[str, ...] = ()
    """Interfaces whose hosts reach the VPC through this gateway, other than the WAN one."""
    vpc_cidrs: tuple[IPv4Network, ...] = ()
    """The VPC's CIDRs (the seed's <VPC CIDR>); each gets a route over the tunnels."""
    mtu: int = DEFAULT_MTU
    persistence: Persistence = "seed"
    """"seed": the document's /etc/network/interfaces + rc.local layout; "netplan" or
    "networkd": today's Ubuntu (sysctl.d, netplan/networkd tunnels, rules.v4); "none":
    runtime only."""
    heartbeat: bool = True
    heartbeat_interval: int = 5
    fast_failover: bool = False
    """The heartbeat pings every second and, when a tunnel stops answering while another
    answers, takes the VPC routes off it until it answers again (docs/failover.md); the
    document's DPD timers stay as they are."""
    backend: Backend = "stroke"
    """"stroke": the document's ipsec.conf/ipsec.secrets through the `ipsec` starter;
    "swanctl": /etc/swanctl/conf.d through vici, for boxes without the starter."""
    advertise: tuple[IPv4Network, ...] = ()
    """With BGP: the networks this box announces to AWS (its LANs); AWS routes to the
    customer side only what is announced, and accepts at most 100 prefixes."""
    bgp_mode: BgpMode = "active-active"
    """With BGP: "active-active" gives both tunnels equal weight (AWS steers with MED);
    "active-passive" prefers tunnel 1 both ways (local preference in, AS-path prepend
    on tunnel 2 out)."""


@dataclass(frozen=True)
class Setup:
    """Everything the plan is built from."""

    connection: Connection
    choices: Choices = field(default_factory=Choices)

    @property
    def tunnels(self) -> tuple[Tunnel, ...]:
        return self.connection.tunnels

    def secrets(self) -> tuple[Secret, ...]:
        """Every secret the plan may write, so previews can mask them wherever they appear."""
        return tuple(t.psk for t in self.tunnels)

    @property
    def dynamic(self) -> bool:
        """True when the tunnels carry BGP and the VPC routes are learned, not typed."""
        return self.connection.routing == "dynamic"

    @property
    def static_routes(self) -> tuple[IPv4Network, ...]:
        """The VPC CIDRs routed over the tunnels by the wizard; none with BGP (FRR does it)."""
        return () if self.dynamic else self.choices.vpc_cidrs

    def local_address(self, tunnel: Tunnel) -> IPv4Address:
        """The seed's <LOCAL IP>: the private address behind NAT, else the public one."""
        return self.choices.local_ip or tunnel.customer_outside_ip


# --------------------------------------------------------------------------- validation


def validate_psk(value: str) -> str | None:
    """AWS's PSK rule; returns the reason it is refused, or None."""
    if not PSK_PATTERN.fullmatch(value):
        if not 8 <= len(value) <= 64:
            return f"must be 8-64 characters long (it has {len(value)})"
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9._]", c)})
        return "may contain only letters, digits, '.' and '_' (found " + " ".join(
            repr(c) for c in bad
        ) + ")"
    if value.startswith("0"):
        return "must not start with 0"
    return None


def validate_inside_cidr(value: IPv4Interface) -> str | None:
    """AWS's inside-CIDR rule: a /30 in 169.254.0.0/16, not a reserved block."""
    net = value.network
    if net.prefixlen != 30:
        return f"must be a /30 (got /{net.prefixlen})"
    if not net.subnet_of(LINK_LOCAL):
        return "must be inside 169.254.0.0/16"
    if net in RESERVED_INSIDE:
        return f"{net} is reserved by AWS"
    if value.ip in (net.network_address, net.broadcast_address):
        return f"{value.ip} is the network or broadcast address of {net}"
    return None


def validate_tunnel(tunnel: Tunnel, index: int) -> list[Problem]:
    """Every rule AWS applies to one tunnel's parameters."""
    at = f"tunnels[{index}]"
    problems: list[Problem] = []

    def add(fieldname: str, message: str | None, severity: str = "error") -> None:
        if message:
            problems.append(Problem(f"{at}.{fieldname}", message, severity))  # type: ignore[arg-type]

    ordinal = f"Tunnel {index + 1}"
    name_problem = fields.check_tunnel_name(tunnel.name) or fields.reserved_tunnel_name(
        tunnel.name
    )
    if name_problem:
        add("name", f"{ordinal}'s name {name_problem}")
    add("psk", validate_psk(tunnel.psk.reveal()))
    for name, what in (("customer_outside_ip", "this box's outside address"),
                       ("aws_outside_ip", "the AWS endpoint")):
        reason = unusable_outside_address(getattr(tunnel, name))
        if reason:
            add(name, f"{ordinal}: {what} {getattr(tunnel, name)} {reason}")
    for name in ("customer_inside_cidr", "aws_inside_cidr"):
        add(name, validate_inside_cidr(getattr(tunnel, name)))
    if tunnel.customer_inside_cidr.network != tunnel.aws_inside_cidr.network:
        add("aws_inside_cidr",
            f"must be in {tunnel.customer_inside_cidr.network}, this box's inside network")
    elif tunnel.customer_inside_cidr.ip == tunnel.aws_inside_cidr.ip:
        add("aws_inside_cidr", "must differ from the customer inside address")
    if tunnel.customer_outside_ip == tunnel.aws_outside_ip:
        add("aws_outside_ip", "must differ from the customer outside address")
    if not 1 <= tunnel.mark <= 0xFFFFFFFF:
        add("mark", "must be between 1 and 4294967295")
    problems.extend(validate_crypto(tunnel.crypto, f"{at}.crypto"))
    return problems


#: Outside addresses no Internet peer can have, and why, in the order they are tested.
_NOT_ON_THE_INTERNET = (
    (IPv4Network("0.0.0.0/8"), "is 'this network' (0.0.0.0/8), not an address a peer can have"),
    (IPv4Network("127.0.0.0/8"), "is a loopback address: it never leaves this box"),
    (IPv4Network("169.254.0.0/16"), "is link-local: it never crosses a router"),
    (IPv4Network("224.0.0.0/4"), "is a multicast address, not one host"),
    (IPv4Network("255.255.255.255/32"), "is the broadcast address, not one host"),
    (IPv4Network("240.0.0.0/4"), "is in the reserved block 240.0.0.0/4"),
)


def unusable_outside_address(address: IPv4Address) -> str | None:
    """Why `address` cannot be a tunnel's outside (IKE/ESP) address, or None."""
    for net, reason in _NOT_ON_THE_INTERNET:
        if address in net:
            return reason
    return None


#: VPC CIDRs that would capture traffic that must not enter the tunnels, and why.
_NOT_A_VPC = (
    (IPv4Network("0.0.0.0/8"), "'this network' (0.0.0.0/8)"),
    (IPv4Network("127.0.0.0/8"), "the loopback block 127.0.0.0/8, which must stay on this box"),
    (IPv4Network("224.0.0.0/4"), "the multicast block 224.0.0.0/4, which a VPC does not route"),
    (IPv4Network("240.0.0.0/4"), "the reserved block 240.0.0.0/4 and the broadcast address"),
)


def validate_crypto(c: Crypto, at: str) -> list[Problem]:
    """AWS's phase 1/phase 2 lists and lifetime ranges."""
    problems: list[Problem] = []
    if c.ike_version not in (1, 2):
        problems.append(Problem(f"{at}.ike_version", "must be 1 or 2"))
    for name, phase in (("ike", 1), ("esp", 2)):
        value = getattr(c, name)
        raw = fields.check_proposal(value)
        if raw:
            problems.append(Problem(f"{at}.{name}", raw))
            continue
        try:
            crypto.parse_proposal(value, phase=phase)
        except crypto.ProposalError as exc:
            problems.append(Problem(f"{at}.{name}", str(exc)))
        else:
            for reason in crypto.weaknesses(value):
                problems.append(Problem(f"{at}.{name}", reason, "warning"))
    lo, hi = crypto.PHASE1_LIFETIME
    if not lo <= c.ike_lifetime <= hi:
        problems.append(Problem(f"{at}.ike_lifetime", f"must be {lo}-{hi} seconds"))
    lo, hi = crypto.PHASE2_LIFETIME
    if not lo <= c.esp_lifetime <= hi:
        problems.append(Problem(f"{at}.esp_lifetime", f"must be {lo}-{hi} seconds"))
    elif c.esp_lifetime >= c.ike_lifetime:
        problems.append(
            Problem(f"{at}.esp_lifetime", "phase 2 lifetime must be shorter than phase 1")
        )
    if c.dpd_delay < 1:
        problems.append(Problem(f"{at}.dpd_delay", "must be at least 1 second"))
    if c.dpd_timeout < crypto.DPD_TIMEOUT_MIN:
        problems.append(
            Problem(f"{at}.dpd_timeout", f"AWS needs at least {crypto.DPD_TIMEOUT_MIN} seconds")
        )
    elif c.dpd_timeout <= c.dpd_delay:
        problems.append(Problem(f"{at}.dpd_timeout", "must be longer than the DPD delay"))
    if c.dpd_action not in DPD_ACTIONS:
        problems.append(Problem(f"{at}.dpd_action", f"must be one of {', '.join(DPD_ACTIONS)}"))
    return problems


def validate_choices(choices: Choices) -> list[Problem]:
    """The operator's answers, checked on their own."""
    problems: list[Problem] = []
    at = "choices"
    if choices.mode not in MODES:
        problems.append(Problem(f"{at}.mode", f"must be one of {', '.join(MODES)}"))
    if choices.persistence not in PERSISTENCE:
        problems.append(
            Problem(f"{at}.persistence", f"must be one of {', '.join(PERSISTENCE)}")
        )
    if choices.backend not in BACKENDS:
        problems.append(Problem(f"{at}.backend", f"must be one of {', '.join(BACKENDS)}"))
    reason = fields.check_interface_name(choices.physical_interface)
    if reason:
        problems.append(Problem(f"{at}.physical_interface", f"the WAN interface {reason}"))
    for i, name in enumerate(choices.lan_interfaces):
        reason = fields.check_interface_name(name)
        if reason:
            problems.append(Problem(f"{at}.lan_interfaces[{i}]", f"LAN interface {reason}"))
    if len(set(choices.lan_interfaces)) != len(choices.lan_interfaces):
        problems.append(Problem(f"{at}.lan_interfaces", "lists an interface twice"))
    for i, net in enumerate(choices.vpc_cidrs):
        if net.subnet_of(LINK_LOCAL):
            problems.append(
                Problem(f"{at}.vpc_cidrs[{i}]", f"{net} is link-local; a VPC cannot use it")
            )
        if net.prefixlen == 0:
            problems.append(
                Problem(f"{at}.vpc_cidrs[{i}]", "0.0.0.0/0 would send all traffic to the VPC")
            )
            continue
        for block, what in _NOT_A_VPC:
            if net.overlaps(block):
                problems.append(Problem(
                    f"{at}.vpc_cidrs[{i}]", f"VPC CIDR {net} covers {what}; routing it into "
                    "the tunnels would cut this box off from it. A VPC's CIDR is a private "
                    "block such as 10.0.0.0/16",
                ))
                break
    for i, a in enumerate(choices.vpc_cidrs):
        for b in choices.vpc_cidrs[i + 1 :]:
            if a.overlaps(b):
                problems.append(Problem(f"{at}.vpc_cidrs", f"{a} overlaps {b}"))
    problems.extend(_validate_advertise(choices))
    if choices.bgp_mode not in BGP_MODES:
        problems.append(Problem(f"{at}.bgp_mode", f"must be one of {', '.join(BGP_MODES)}"))
    if choices.mode == "updown" and not choices.vpc_cidrs:
        problems.append(
            Problem(f"{at}.vpc_cidrs", "updown mode needs at least one VPC CIDR to route")
        )
    if not 576 <= choices.mtu <= 9001:
        problems.append(Problem(f"{at}.mtu", "must be between 576 and 9001"))
    if not 1 <= choices.heartbeat_interval <= 3600:
        problems.append(Problem(f"{at}.heartbeat_interval", "must be 1-3600 seconds"))
    if choices.fast_failover and not choices.heartbeat:
        problems.append(Problem(f"{at}.fast_failover",
                                "needs the heartbeat: its pings are what detect a dead tunnel"))
    if choices.fast_failover and not choices.vpc_cidrs:
        problems.append(Problem(f"{at}.fast_failover",
                                "needs at least one VPC CIDR: those routes are what it moves"))
    return problems


def validate(setup: Setup, existing_marks: Mapping[str, int] | None = None) -> list[Problem]:
    """All problems of a setup.

    Args:
        setup: the model.
        existing_marks: `conn` name -> mark already configured on the box (read
            from its ipsec.conf, outside the wizard's own blocks). A tunnel may
            reuse a mark only under its own name (a re-run of the wizard).
    """
    problems: list[Problem] = []
    tunnels = setup.tunnels
    for name in fields.AWS_ID_PREFIXES:
        reason = fields.check_aws_id(name, getattr(setup.connection, name))
        if reason:
            problems.append(Problem(f"connection.{name}", reason))
    problems.extend(validate_routing(setup.connection))
    problems.extend(_vpc_against_tunnels(setup))
    if len(tunnels) != 2:
        problems.append(
            Problem("tunnels", f"AWS provides two tunnels; this setup has {len(tunnels)}")
        )
    for i, tunnel in enumerate(tunnels):
        problems.extend(validate_tunnel(tunnel, i))
    choice_problems = validate_choices(setup.choices)
    if setup.dynamic:  # BGP brings the VPC routes: no typed CIDR is needed in any mode
        choice_problems = [p for p in choice_problems if not (
            p.where == "choices.vpc_cidrs" and "updown mode needs" in p.message)]
        if not setup.choices.advertise:
            choice_problems.append(Problem(
                "choices.advertise", "name at least one network to announce to AWS: with "
                "BGP, AWS routes to this side only what this box announces"))
    problems.extend(choice_problems)
    for i, a in enumerate(tunnels):
        for j in range(i + 1, len(tunnels)):
            b = tunnels[j]
            if a.name == b.name:
                problems.append(Problem(f"tunnels[{j}].name", f"both tunnels are named {a.name}"))
            elif a.name.lower() == b.name.lower():
                problems.append(Problem(
                    f"tunnels[{j}].name", f"Tunnel {j + 1}'s name {b.name} differs from "
                    f"Tunnel {i + 1}'s {a.name} only in case; file names and strongSwan "
                    "connections would be easy to confuse, so give them distinct names",
                ))
            if a.mark == b.mark:
                problems.append(
                    Problem(f"tunnels[{j}].mark", f"mark {b.mark} is already used by {a.name}")
                )
            if a.customer_inside_cidr.network == b.customer_inside_cidr.network:
                problems.append(
                    Problem(
                        f"tunnels[{j}].customer_inside_cidr",
                        f"{b.customer_inside_cidr.network} is already used by {a.name}",
                    )
                )
            if a.aws_outside_ip == b.aws_outside_ip:
                problems.append(
                    Problem(f"tunnels[{j}].aws_outside_ip", f"same AWS endpoint as {a.name}")
                )
    for i, tunnel in enumerate(tunnels):
        for conn, mark in (existing_marks or {}).items():
            if mark == tunnel.mark and conn != tunnel.name:
                problems.append(
                    Problem(
                        f"tunnels[{i}].mark",
                        f"mark {tunnel.mark} is already used by conn {conn} in /etc/ipsec.conf",
                    )
                )
        host_interfaces = (setup.choices.physical_interface, *setup.choices.lan_interfaces)
        if tunnel.name in host_interfaces:
            problems.append(
                Problem(f"tunnels[{i}].name", f"{tunnel.name} is also chosen as a host interface")
            )
    if setup.choices.physical_interface in setup.choices.lan_interfaces:
        problems.append(
            Problem(
                "choices.lan_interfaces",
                f"{setup.choices.physical_interface} is the physical (WAN) interface; "
                "list only the other interfaces",
            )
        )
    return problems


def validate_routing(connection: Connection) -> list[Problem]:
    """A BGP connection's values: what FRR needs, checked the way AWS and FRR check them.

    Static routing needs nothing here, except that a file whose tunnels AWS
    configured with BGP is not run as static: on AWS each tunnel of a BGP
    connection stays DOWN, and no VPC traffic arrives, until a BGP session
    runs over it, so IPsec would come up and nothing would work.
    """
    bgps = [t.bgp for t in connection.tunnels]
    if connection.routing not in ROUTINGS:
        return [Problem("connection.routing", f"must be one of {', '.join(ROUTINGS)}")]
    if connection.routing == "static":
        asns = sorted({b.customer_asn for b in bgps if b is not None and b.customer_asn})
        if not asns:
            return []
        return [Problem(
            "connection.routing",
            f"AWS configured this VPN connection for dynamic routing with BGP (your ASN "
            f"{asns[0]}): on AWS each tunnel stays DOWN and no VPC traffic arrives until a "
            "BGP session runs over it, so static routing would bring IPsec up and nothing "
            "else. Choose dynamic routing (BGP), or create the VPN connection with static "
            "routing and import its file",
        )]
    problems: list[Problem] = []
    names = (("customer_asn", "bgp_asn", "this box's ASN (AWS's 'Customer Gateway ASN')"),
             ("aws_asn", "bgp_aws_asn", "AWS's ASN (the 'Virtual Private Gateway ASN')"),
             ("hold_time", "bgp_hold_time", "the neighbor hold time"))
    for attr, key, what in names:
        values = {getattr(b, attr) if b is not None else None for b in bgps}
        if None in values:
            problems.append(Problem(f"connection.{key}", f"enter {what}"))
        elif len(values) > 1:
            shown = ", ".join(str(v) for v in sorted(v for v in values if v is not None))
            problems.append(Problem(
                f"connection.{key}", f"the tunnels disagree on {what} ({shown}); AWS uses one "
                "value for both tunnels of a connection"))
    for b in {b for b in bgps if b is not None}:
        for attr, key in (("customer_asn", "bgp_asn"), ("aws_asn", "bgp_aws_asn")):
            asn = getattr(b, attr)
            if asn is not None and not 1 <= asn <= 4294967295:
                problems.append(Problem(f"connection.{key}", "an ASN is 1-4294967295"))
            elif asn == 23456:
                problems.append(Problem(f"connection.{key}", "23456 is AS_TRANS, reserved "
                                        "for 4-byte ASN translation; it cannot be a peer's ASN"))
        if b.customer_asn is not None and b.customer_asn == b.aws_asn:
            problems.append(Problem("connection.bgp_asn", f"this box's ASN {b.customer_asn} "
                                    "equals AWS's: the sessions are external BGP, so the two "
                                    "sides need different ASNs"))
        if b.hold_time is not None and not 3 <= b.hold_time <= 65535:
            problems.append(Problem("connection.bgp_hold_time",
                                    "FRR takes a hold time of 3-65535 seconds (AWS uses 30)"))
    for i, t in enumerate(connection.tunnels):
        b = t.bgp
        if b is not None and b.neighbor_ip is not None and b.neighbor_ip != t.aws_inside_cidr.ip:
            problems.append(Problem(
                f"tunnels[{i}].bgp.neighbor_ip", f"the BGP neighbor {b.neighbor_ip} is not "
                f"AWS's inside address {t.aws_inside_cidr.ip} of {t.name}: AWS's BGP speaker "
                "answers on its end of the tunnel's /30 only"))
    return list(dict.fromkeys(problems))


def _validate_advertise(choices: Choices) -> list[Problem]:
    """The networks announced to AWS: well-formed, few enough for AWS, and not the VPC's."""
    at = "choices.advertise"
    problems: list[Problem] = []
    if len(choices.advertise) > MAX_ADVERTISED:
        problems.append(Problem(at, f"{len(choices.advertise)} networks; AWS accepts at most "
                                f"{MAX_ADVERTISED} prefixes from a customer gateway and drops "
                                "the session beyond that"))
    for i, net in enumerate(choices.advertise):
        if net.prefixlen == 0:
            problems.append(Problem(f"{at}[{i}]", "0.0.0.0/0 would announce the whole "
                                    "Internet as reachable through this box"))
        elif net.subnet_of(LINK_LOCAL) or net.overlaps(LINK_LOCAL):
            problems.append(Problem(f"{at}[{i}]", f"{net} is link-local: the tunnels' inside "
                                    "addresses live there and AWS does not route it"))
        else:
            for block, what in _NOT_A_VPC:
                if net.overlaps(block):
                    problems.append(Problem(f"{at}[{i}]", f"{net} covers {what}"))
                    break
        for vpc in choices.vpc_cidrs:
            if net.overlaps(vpc):
                problems.append(Problem(f"{at}[{i}]", f"{net} overlaps the VPC's {vpc}: "
                                        "announcing the VPC's own network back to AWS would "
                                        "pull its traffic into this box"))
    seen: set[IPv4Network] = set()
    for net in choices.advertise:
        if net in seen:
            problems.append(Problem(at, f"lists {net} twice"))
        seen.add(net)
    return problems


def _vpc_against_tunnels(setup: Setup) -> list[Problem]:
    """VPC CIDRs that would route a tunnel's own endpoints into the tunnels."""
    problems: list[Problem] = []
    for i, net in enumerate(setup.choices.vpc_cidrs):
        for index, tunnel in enumerate(setup.tunnels):
            for address, what in (
                (tunnel.aws_outside_ip, f"the AWS endpoint of Tunnel {index + 1}"),
                (tunnel.customer_outside_ip, f"this box's outside address for Tunnel {index + 1}"),
                (setup.choices.local_ip, "this box's private address"),
            ):
                if address is not None and address in net:
                    problems.append(Problem(
                        f"choices.vpc_cidrs[{i}]", f"VPC CIDR {net} contains {address}, {what}: "
                        "the encrypted packets to AWS would be routed into the tunnels "
                        "themselves and no tunnel could come up",
                    ))
                    break
            else:
                continue
            break
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that block a plan."""
    return [p for p in problems if p.severity == "error"]


def parse_interface(text: str) -> IPv4Interface:
    """Parse "169.254.23.6/30" strictly (no bare addresses, no IPv6)."""
    value = text.strip()
    if "/" not in value:
        raise ValueError(f"{fields.show(value)} needs a prefix length, e.g. "
                         f"{_example(value)}/30")
    return IPv4Interface(value)


def _example(value: str) -> str:
    """`value` for a "did you mean" hint, only when it is a plain dotted address."""
    return value if re.fullmatch(r"[0-9.]{1,15}", value) else "169.254.23.6"


def parse_network(text: str) -> IPv4Network:
    """Parse a VPC CIDR; refuses host bits ("10.0.0.1/16") instead of silently masking them."""
    value = text.strip()
    if "/" not in value:
        raise ValueError(f"{fields.show(value)} needs a prefix length, e.g. "
                         f"{_example(value) if '.' in value else '10.0.0.0'}/16")
    try:
        return IPv4Network(value)
    except ValueError as exc:
        if "host bits set" in str(exc):
            fixed = IPv4Network(value, strict=False)
            shown = value if re.fullmatch(r"[0-9./]{1,18}", value) else fields.show(value)
            raise ValueError(f"{shown} has host bits set; did you mean {fixed}?") from None
        raise


def parse_address(text: str) -> IPv4Address:
    """Parse a dotted IPv4 address."""
    return ipaddress.IPv4Address(text.strip())
