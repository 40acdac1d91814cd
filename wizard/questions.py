"""Every question the wizard asks, once, for both the full-screen wizard and the plain prompts.

A `Question` knows its answer's place in the model: `read` gives the current
answer (the default a form or prompt shows), `apply` parses an answer and
returns a new `Setup` (raising `ValueError` with the operator's message when
it does not parse). Its `id` is the `Problem.where` path that
`wizard.model.validate` uses for the same field, so a screen can put each
problem under the field it belongs to. Because the TUI and the plain mode both
go through `apply`, the same answers give the same `Setup`, and so the same
plan.

Answers are plain values: `str` for text, secrets and single choices, `bool`
for yes/no, `tuple[str, ...]` for multiple choices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from wizard import fields
from wizard import host_defaults as defaults
from wizard.model import (
    AWS_HOLD_TIME,
    BACKENDS,
    BGP_MODES,
    DPD_ACTIONS,
    MODES,
    PERSISTENCE,
    ROUTINGS,
    Bgp,
    Choices,
    Crypto,
    Problem,
    Setup,
    Tunnel,
    parse_address,
    parse_interface,
    parse_network,
)
from wizard.secret import Secret
from wizard.system.host import HostFacts
from wizard.system.interfaces import HostInterface

Value = str | bool | tuple[str, ...]
Kind = Literal["text", "secret", "confirm", "select", "multi"]


@dataclass(frozen=True)
class Option:
    """One choice of a select or multi question."""

    value: str
    label: str


@dataclass(frozen=True)
class Context:
    """What the questions need to know besides the setup.

    Attributes:
        interfaces: the host's interfaces (`wizard.system.interfaces`), for the
            WAN and LAN choices; empty makes those plain text questions.
        host: the probe's facts, when the front end has them (backend and
            persistence defaults, the Interfaces step's checks).
    """

    interfaces: tuple[HostInterface, ...] = ()
    host: HostFacts | None = None

    def facts(self) -> HostFacts | None:
        """The probe's facts with the interfaces in hand; None when neither is known."""
        if self.host is None and not self.interfaces:
            return None
        base = self.host or HostFacts()
        return base.with_interfaces(self.interfaces) if self.interfaces else base


def _always(setup: Setup, answers: Mapping[str, Value]) -> bool:
    return True


@dataclass(frozen=True)
class Question:
    """One question: where its answer lives in the model, and how it is asked.

    Attributes:
        id: the model path it answers, as `Problem.where` spells it
            ("tunnels[0].psk", "choices.vpc_cidrs"); "choices.behind_nat" is the
            one question with no field of its own (it decides `local_ip`).
        step: the wizard step that shows it ("tunnel1", "interfaces", ...).
        label: a short label for a form.
        prompt: the full question, for the plain prompts.
        help: one or two sentences shown under the field / beside the prompt.
        kind: how it is asked.
        read: the current answer, from the model.
        apply: a new setup with `value` in place; raises ValueError when it does not parse.
        options: the choices of a select or multi question.
        when: whether it is asked at all, given the setup and the answers so far.
        suggest: a default from the host for a blank answer (the private address
            behind NAT is usually the physical interface's).
        example: a sample answer, shown in an empty field.
    """

    id: str
    step: str
    label: str
    prompt: str
    help: str
    kind: Kind
    read: Callable[[Setup], Value]
    apply: Callable[[Setup, Value], Setup]
    options: Callable[[Setup, Context], tuple[Option, ...]] | None = None
    when: Callable[[Setup, Mapping[str, Value]], bool] = field(default=_always)
    suggest: Callable[[Setup, Context], str] | None = None
    example: str = ""

    def default(self, setup: Setup, context: Context) -> Value:
        """The answer to show first: the model's, or a suggestion from the host when it is blank."""
        value = self.read(setup)
        if value == "" and self.suggest is not None:
            return self.suggest(setup, context)
        return value

    def covers(self, where: str) -> bool:
        """True when a problem at `where` belongs under this question's field."""
        return where == self.id or where.startswith((self.id + ".", self.id + "["))

    def problems(self, problems: Iterable[Problem]) -> list[Problem]:
        """The problems to show under this question's field."""
        return [p for p in problems if self.covers(p.where)]

    def kind_in(self, setup: Setup, context: Context) -> Kind:
        """The kind to ask with: a select with no options to offer becomes a text question."""
        empty = self.options is not None and not self.options(setup, context)
        return "text" if self.kind in ("select", "multi") and empty else self.kind


# --------------------------------------------------------------------------- parsing


def _text(value: Value) -> str:
    if isinstance(value, str):
        return value.strip()
    raise ValueError(f"expected text, got {value!r}")


def _whole(value: Value, what: str = "a whole number") -> int:
    text = _text(value)
    if not re.fullmatch(r"[0-9]{1,10}", text):
        raise ValueError(f"{text!r} is not {what}" if text else f"enter {what}")
    return int(text)


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_seconds(value: Value) -> int:
    """A duration in seconds; "8h", "45m" and "30s" are accepted as strongSwan writes them."""
    text = _text(value).lower()
    match = re.fullmatch(r"([0-9]{1,7})\s*([smh]?)", text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: give seconds, or a number with s, m or h"
            if text else "enter a duration in seconds"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def _ip(value: Value) -> IPv4Address:
    text = _text(value)
    if not text:
        raise ValueError("enter an IPv4 address")
    try:
        return parse_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 address") from None


def _cidr(value: Value) -> IPv4Interface:
    text = _text(value)
    if not text:
        raise ValueError("enter an address with its prefix, e.g. 169.254.23.6/30")
    try:
        return parse_interface(text)
    except ValueError as exc:
        message = str(exc)
        if "needs a prefix" not in message:
            message = f"{text!r} is not an IPv4 address with a prefix, e.g. 169.254.23.6/30"
        raise ValueError(message) from None


def parse_cidr_list(value: Value) -> tuple[IPv4Network, ...]:
    """Comma- or space-separated networks; each must have no host bits (parse_network)."""
    text = _text(value)
    nets = []
    for part in re.split(r"[\s,]+", text):
        if part:
            try:
                nets.append(parse_network(part))
            except ValueError as exc:
                message = str(exc)
                if "did you mean" not in message and "needs a prefix" not in message:
                    message = f"{part!r} is not a network such as 10.0.0.0/16"
                raise ValueError(message) from None
    return tuple(nets)


def _field(check: Callable[[str], str | None]) -> Callable[[Value], str]:
    """An answer that must match its field's grammar (`wizard.fields`), as it will be stored.

    The answer is trimmed of the spaces a form or a prompt leaves around it,
    then checked whole: a line break or a quote inside is refused here, under
    the question, instead of reaching a configuration file.
    """

    def parse(value: Value) -> str:
        text = _text(value)
        reason = check(text)
        if reason:
            raise ValueError(reason)
        return text

    return parse


_proposal = _field(fields.check_proposal)
_interface = _field(fields.check_interface_name)


def _choice(value: Value, allowed: Sequence[str]) -> str:
    text = _text(value)
    if text not in allowed:
        raise ValueError(f"choose one of {', '.join(allowed)}")
    return text


def _flag(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected yes or no, got {value!r}")


def _names(value: Value) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        names = tuple(str(v) for v in value)
    else:
        names = tuple(p for p in re.split(r"[\s,]+", _text(value)) if p)
    return tuple(_interface(name) for name in names)


# --------------------------------------------------------------------------- model edits


def _tunnel_edit(index: int, **changes: object) -> Callable[[Setup], Setup]:
    def edit(setup: Setup) -> Setup:
        tunnels = list(setup.tunnels)
        tunnels[index] = replace(tunnels[index], **changes)  # type: ignore[arg-type]
        return replace(setup, connection=replace(setup.connection, tunnels=tuple(tunnels)))

    return edit


def _set_tunnel(setup: Setup, index: int, **changes: object) -> Setup:
    return _tunnel_edit(index, **changes)(setup)


def _set_crypto(setup: Setup, index: int, **changes: object) -> Setup:
    tunnel = setup.tunnels[index]
    crypto: Crypto = replace(tunnel.crypto, **changes)  # type: ignore[arg-type]
    return _set_tunnel(setup, index, crypto=crypto)


def _set_choice(setup: Setup, **changes: object) -> Setup:
    choices: Choices = replace(setup.choices, **changes)  # type: ignore[arg-type]
    return replace(setup, choices=choices)


# --------------------------------------------------------------------------- the questions


def _tunnel_questions(index: int) -> list[Question]:
    step = f"tunnel{index + 1}"
    at = f"tunnels[{index}]"
    ordinal = f"tunnel {index + 1}"

    def t(setup: Setup) -> Tunnel:
        return setup.tunnels[index]

    def plain(name: str, label: str, prompt: str, help_: str,
              parse: Callable[[Value], object]) -> Question:
        return Question(
            f"{at}.{name}", step, label, prompt, help_, "text",
            read=lambda s: str(getattr(t(s), name)),
            apply=lambda s, v: _set_tunnel(s, index, **{name: parse(v)}),
        )

    def crypto(name: str, label: str, prompt: str, help_: str,
               parse: Callable[[Value], object]) -> Question:
        return Question(
            f"{at}.crypto.{name}", step, label, prompt, help_, "text",
            read=lambda s: str(getattr(t(s).crypto, name)),
            apply=lambda s, v: _set_crypto(s, index, **{name: parse(v)}),
        )

    return [
        plain("customer_outside_ip", "This box (outside)",
              f"This box's public address for {ordinal} (leftid)",
              "The customer gateway address AWS knows this box by.", _ip),
        plain("aws_outside_ip", "AWS endpoint",
              f"The AWS endpoint of {ordinal} (right)",
              "The virtual private gateway's public address.", _ip),
        plain("customer_inside_cidr", "Inside, this box",
              f"This box's inside address of {ordinal}, with its /30",
              "This end of the /30 inside the tunnel, e.g. 169.254.23.6/30.", _cidr),
        plain("aws_inside_cidr", "Inside, AWS",
              f"AWS's inside address of {ordinal}, with its /30",
              "AWS's end of the same /30; the heartbeat pings it.", _cidr),
        Question(
            f"{at}.psk", step, "Pre-shared key", f"The pre-shared key of {ordinal}",
            "8-64 letters, digits, '.' or '_', not starting with 0. Hidden unless revealed.",
            "secret",
            read=lambda s: t(s).psk.reveal(),
            apply=lambda s, v: _set_tunnel(s, index, psk=Secret(_text(v))),
        ),
        plain("mark", "Mark / VTI key", f"The mark of {ordinal}",
              "strongSwan's mark, the VTI key and the iptables --set-xmark: one value, "
              "unique per tunnel.", lambda v: _whole(v, "a whole number such as 100")),
        Question(
            f"{at}.crypto.ike_version", step, "IKE version", f"IKE version of {ordinal}",
            "AWS accepts IKEv1 (the document's choice) and IKEv2.", "select",
            read=lambda s: str(t(s).crypto.ike_version),
            apply=lambda s, v: _set_crypto(s, index, ike_version=int(_choice(v, ("1", "2")))),
            options=lambda s, c: (Option("1", "IKEv1"), Option("2", "IKEv2")),
        ),
        crypto("ike", "IKE (phase 1)", f"Phase 1 proposal of {ordinal} (ike=)",
               "strongSwan syntax, e.g. aes256-sha256-modp2048.", _proposal),
        crypto("esp", "ESP (phase 2)", f"Phase 2 proposal of {ordinal} (esp=)",
               "strongSwan syntax, e.g. aes256-sha256-modp2048.", _proposal),
        crypto("ike_lifetime", "IKE lifetime (s)",
               f"Phase 1 lifetime of {ordinal}, in seconds",
               "900-28800 seconds; 8h and 45m are accepted too.", parse_seconds),
        crypto("esp_lifetime", "ESP lifetime (s)",
               f"Phase 2 lifetime of {ordinal}, in seconds",
               "900-3600 seconds, shorter than phase 1.", parse_seconds),
        crypto("dpd_delay", "DPD delay (s)", f"Dead peer detection interval of {ordinal}",
               "How often strongSwan checks that AWS still answers.", parse_seconds),
        crypto("dpd_timeout", "DPD timeout (s)", f"Dead peer detection timeout of {ordinal}",
               "At least 30 seconds, longer than the delay.", parse_seconds),
        Question(
            f"{at}.crypto.dpd_action", step, "DPD action", f"DPD action of {ordinal}",
            "What strongSwan does when AWS stops answering; the document restarts.", "select",
            read=lambda s: t(s).crypto.dpd_action,
            apply=lambda s, v: _set_crypto(s, index, dpd_action=_choice(v, DPD_ACTIONS)),
            options=lambda s, c: tuple(Option(a, a) for a in DPD_ACTIONS),
        ),
    ]


def _interface_label(i: HostInterface) -> str:
    addresses = ", ".join(str(a) for a in i.addresses) or "no IPv4 address"
    state = "" if i.state in ("up", "unknown") else f"  {i.state}"
    marker = "  default route" if i.has_default_route else ""
    return f"{i.name}  {addresses}{state}{marker}"


def _wan_options(setup: Setup, context: Context) -> tuple[Option, ...]:
    options = [Option(i.name, _interface_label(i)) for i in context.interfaces]
    current = setup.choices.physical_interface
    if context.interfaces and all(o.value != current for o in options):
        options.append(Option(current, f"{current}  (not on this box)"))
    return tuple(options)


def _lan_options(setup: Setup, context: Context) -> tuple[Option, ...]:
    wan = setup.choices.physical_interface
    options = [Option(i.name, _interface_label(i)) for i in context.interfaces if i.name != wan]
    for name in setup.choices.lan_interfaces:
        if context.interfaces and all(o.value != name for o in options) and name != wan:
            options.append(Option(name, f"{name}  (not on this box)"))
    return tuple(options)


def behind_nat(setup: Setup, answers: Mapping[str, Value]) -> bool:
    """The NAT answer so far: the operator's, else whether the model has a private address."""
    answer = answers.get("choices.behind_nat")
    return answer if isinstance(answer, bool) else setup.choices.local_ip is not None


def _apply_nat(setup: Setup, value: Value) -> Setup:
    if not _flag(value):
        return _set_choice(setup, local_ip=None)
    return setup  # the local IP question that follows sets the address


def _apply_local_ip(setup: Setup, value: Value) -> Setup:
    text = _text(value)
    if not text:
        raise ValueError("enter this box's private address (the one the NAT forwards to)")
    return _set_choice(setup, local_ip=_ip(text))


#: AWS's default ASN for a virtual private gateway, offered until the operator says otherwise.
DEFAULT_AWS_ASN = 64512


def _static(setup: Setup, answers: Mapping[str, Value]) -> bool:
    return not setup.dynamic


def _dynamic(setup: Setup, answers: Mapping[str, Value]) -> bool:
    return setup.dynamic


def _apply_routing(setup: Setup, value: Value) -> Setup:
    """Static or BGP; a tunnel without AWS's BGP values gets AWS's defaults to start from.

    The strongSwan download has no BGP section: choosing BGP with it starts
    from AWS's usual values (its ASN 64512, hold time 30 s, the neighbor at
    AWS's inside address), and the ASN questions that follow ask the rest.
    """
    routing = _choice(value, ROUTINGS)
    tunnels = tuple(
        t if t.bgp is not None or routing == "static" else replace(t, bgp=Bgp(
            aws_asn=DEFAULT_AWS_ASN, neighbor_ip=t.aws_inside_cidr.ip,
            hold_time=AWS_HOLD_TIME))
        for t in setup.tunnels)
    return replace(setup, connection=replace(setup.connection, routing=routing,
                                             tunnels=tunnels))


def _read_bgp(name: str) -> Callable[[Setup], Value]:
    def read(setup: Setup) -> Value:
        values = [getattr(t.bgp, name) for t in setup.tunnels if t.bgp is not None]
        return str(values[0]) if values and values[0] is not None else ""

    return read


def set_bgp(setup: Setup, **changes: object) -> Setup:
    """The same BGP values on every tunnel: AWS gives one ASN pair and hold time per connection."""
    tunnels = tuple(
        replace(t, bgp=replace(t.bgp or Bgp(neighbor_ip=t.aws_inside_cidr.ip),
                               **changes))  # type: ignore[arg-type]
        for t in setup.tunnels)
    return replace(setup, connection=replace(setup.connection, tunnels=tunnels))


def _apply_bgp(name: str, what: str) -> Callable[[Setup, Value], Setup]:
    def apply(setup: Setup, value: Value) -> Setup:
        return set_bgp(setup, **{name: _whole(value, what)})

    return apply


def _heartbeat_on(setup: Setup, answers: Mapping[str, Value]) -> bool:
    return setup.choices.heartbeat


MODE_OPTIONS = (
    Option("manual", "Manual: build them now (#2-#5)"),
    Option("updown", "Automated: updown script"),
)
ROUTING_OPTIONS = (
    Option("static", "Static: the VPC CIDRs typed here"),
    Option("dynamic", "Dynamic: BGP through FRR"),
)
BGP_MODE_OPTIONS = (
    Option("active-active", "Active/active: both tunnels equal"),
    Option("active-passive", "Active/passive: tunnel 1 preferred"),
)
PERSISTENCE_OPTIONS = (
    Option("seed", "As the document (#5)"),
    Option("netplan", "netplan (today's Ubuntu)"),
    Option("networkd", "systemd-networkd"),
    Option("none", "None: runtime only"),
)
BACKEND_OPTIONS = (
    Option("stroke", "ipsec.conf (the document's)"),
    Option("swanctl", "swanctl.conf (vici)"),
)


def _choice_questions() -> dict[str, list[Question]]:
    return {
        "forwarding": [
            Question(
                "choices.enable_forwarding", "forwarding", "Enable IP forwarding",
                "Enable IP packet forwarding (net.ipv4.ip_forward = 1)?",
                "Needed whenever hosts other than this box reach the VPC through it.",
                "confirm",
                read=lambda s: s.choices.enable_forwarding,
                apply=lambda s, v: _set_choice(s, enable_forwarding=_flag(v)),
            ),
        ],
        "mode": [
            Question(
                "choices.mode", "mode", "Mode", "How should the tunnels be built?",
                "Manual runs steps #2-#5 now; updown lets strongSwan do them on every "
                "tunnel up/down, which gives automatic failover.", "select",
                read=lambda s: s.choices.mode,
                apply=lambda s, v: _set_choice(s, mode=_choice(v, MODES)),
                options=lambda s, c: MODE_OPTIONS,
            ),
            Question(
                "choices.backend", "mode", "strongSwan config",
                "How should strongSwan be configured?",
                "ipsec.conf and ipsec.secrets through the 'ipsec' starter, as the document "
                "does; or swanctl files loaded over vici, for boxes without the starter.",
                "select",
                read=lambda s: s.choices.backend,
                apply=lambda s, v: _set_choice(s, backend=_choice(v, BACKENDS)),
                options=lambda s, c: BACKEND_OPTIONS,
            ),
        ],
        "interfaces": [
            Question(
                "choices.physical_interface", "interfaces", "WAN interface",
                "Which interface do the tunnels ride on?",
                "The interface the AWS endpoints are reached through: usually the one with "
                "the default route.", "select",
                read=lambda s: s.choices.physical_interface,
                apply=lambda s, v: _set_choice(s, physical_interface=_interface(v)),
                options=_wan_options,
            ),
            Question(
                "choices.behind_nat", "interfaces", "Behind NAT",
                "Is this box behind NAT (its public address is not on any of its interfaces)?",
                "Behind NAT the tunnel interfaces use this box's private address as 'local'.",
                "confirm",
                read=lambda s: s.choices.local_ip is not None,
                apply=_apply_nat,
            ),
            Question(
                "choices.local_ip", "interfaces", "Private address",
                "This box's private address (the one the NAT forwards to)",
                "The seed's <LOCAL IP>: the address on the physical interface.", "text",
                read=lambda s: str(s.choices.local_ip or ""),
                apply=_apply_local_ip,
                when=behind_nat,
                example="192.0.2.10",
                suggest=lambda s, c: suggested_local_ip(s, c),
            ),
            Question(
                "choices.lan_interfaces", "interfaces", "LAN interfaces",
                "Which LAN interfaces have hosts that use the tunnels?",
                "None when this box is the only client, or when the LAN is on the WAN "
                "interface. Decapsulated packets keep the tunnel's mark and bounce back into "
                "the tunnel unless disable_xfrm is set on the LAN interface.", "multi",
                read=lambda s: tuple(s.choices.lan_interfaces),
                apply=lambda s, v: _set_choice(s, lan_interfaces=_names(v)),
                options=_lan_options,
            ),
        ],
        "vpc": [
            Question(
                "connection.routing", "vpc", "Routing",
                "Static routes to the VPC, or dynamic routing with BGP?",
                "As the VPN connection was created in AWS (Routing options). With BGP, FRR "
                "learns the VPC's routes and announces this box's networks.", "select",
                read=lambda s: s.connection.routing,
                apply=_apply_routing,
                options=lambda s, c: ROUTING_OPTIONS,
            ),
            Question(
                "choices.vpc_cidrs", "vpc", "VPC CIDRs",
                "The VPC's CIDRs, separated by commas",
                "Each is routed over the tunnels, e.g. 10.0.0.0/16, 10.1.0.0/16.", "text",
                read=lambda s: ", ".join(str(n) for n in s.choices.vpc_cidrs),
                apply=lambda s, v: _set_choice(s, vpc_cidrs=parse_cidr_list(v)),
                when=_static,
                example="10.0.0.0/16, 10.1.0.0/16",
            ),
            Question(
                "connection.bgp_asn", "vpc", "This box's ASN",
                "This box's BGP ASN (AWS's 'Customer Gateway ASN')",
                "The ASN of the customer gateway in the AWS console.", "text",
                read=_read_bgp("customer_asn"),
                apply=_apply_bgp("customer_asn", "an ASN such as 65000"),
                when=_dynamic, example="65000",
            ),
            Question(
                "connection.bgp_aws_asn", "vpc", "AWS's ASN",
                "AWS's BGP ASN (the virtual private gateway's)",
                "64512 unless another was chosen when the gateway was created.", "text",
                read=_read_bgp("aws_asn"),
                apply=_apply_bgp("aws_asn", "an ASN such as 64512"),
                when=_dynamic, example="64512",
            ),
            Question(
                "connection.bgp_hold_time", "vpc", "Hold time (s)",
                "BGP neighbor hold time, in seconds",
                "AWS uses 30: a session silent that long is down and its routes go.", "text",
                read=_read_bgp("hold_time"),
                apply=_apply_bgp("hold_time", "a number of seconds such as 30"),
                when=_dynamic, example="30",
            ),
            Question(
                "choices.advertise", "vpc", "Announced networks",
                "The networks this box announces to AWS (its LANs), separated by commas",
                "AWS routes to this side only these; at most 100, never the VPC's own.",
                "text",
                read=lambda s: ", ".join(str(n) for n in s.choices.advertise),
                apply=lambda s, v: _set_choice(s, advertise=parse_cidr_list(v)),
                when=_dynamic, example="192.168.10.0/24",
            ),
            Question(
                "choices.bgp_mode", "vpc", "Tunnels",
                "Both tunnels active, or tunnel 2 only as a standby?",
                "Active/active gives both tunnels equal weight and lets AWS choose; "
                "active/passive prefers tunnel 1 both ways.", "select",
                read=lambda s: s.choices.bgp_mode,
                apply=lambda s, v: _set_choice(s, bgp_mode=_choice(v, BGP_MODES)),
                options=lambda s, c: BGP_MODE_OPTIONS,
                when=_dynamic,
            ),
        ],
        "persistence": [
            Question(
                "choices.persistence", "persistence", "Persistence",
                "What should survive a reboot?",
                "The document's /etc/network/interfaces and rc.local; netplan or "
                "systemd-networkd with sysctl.d and a systemd unit, for today's Ubuntu; or "
                "nothing, so a reboot loses the tunnel interfaces, routes and rules.",
                "select",
                read=lambda s: s.choices.persistence,
                apply=lambda s, v: _set_choice(s, persistence=_choice(v, PERSISTENCE)),
                options=lambda s, c: PERSISTENCE_OPTIONS,
            ),
        ],
        "heartbeat": [
            Question(
                "choices.heartbeat", "heartbeat", "Heartbeat",
                "Run a heartbeat that pings AWS's inside addresses?",
                "Keeps idle tunnels from being torn down by AWS's dead peer detection.",
                "confirm",
                read=lambda s: s.choices.heartbeat,
                apply=lambda s, v: _set_choice(s, heartbeat=_flag(v)),
            ),
            Question(
                "choices.heartbeat_interval", "heartbeat", "Interval (s)",
                "Seconds between heartbeat pings",
                "1-3600 seconds; the document uses 5.", "text",
                read=lambda s: str(s.choices.heartbeat_interval),
                apply=lambda s, v: _set_choice(s, heartbeat_interval=_whole(v)),
                when=_heartbeat_on,
            ),
            Question(
                "choices.fast_failover", "heartbeat", "Fast failover",
                "Move the VPC routes off a tunnel that stops answering, within seconds?",
                "The heartbeat then pings every second; after 2 unanswered pings in a row it "
                "takes the VPC routes off that tunnel (only while the other one answers), and "
                "puts them back after 5 answered in a row. Without it, a dead tunnel is "
                "noticed by DPD (up to 40 s). See docs/failover.md.",
                "confirm",
                read=lambda s: s.choices.fast_failover,
                apply=lambda s, v: _set_choice(s, fast_failover=_flag(v)),
                when=_heartbeat_on,
            ),
        ],
    }


def _build() -> dict[str, tuple[Question, ...]]:
    choices = _choice_questions()
    steps: dict[str, list[Question]] = {"forwarding": choices["forwarding"]}
    steps["tunnel1"] = _tunnel_questions(0)
    steps["tunnel2"] = _tunnel_questions(1)
    for name in ("mode", "interfaces", "vpc", "persistence", "heartbeat"):
        steps[name] = choices[name]
    return {step: tuple(qs) for step, qs in steps.items()}


#: Step id -> its questions, in the order both modes ask them.
BY_STEP: Mapping[str, tuple[Question, ...]] = _build()
#: Every question, in order.
QUESTIONS: tuple[Question, ...] = tuple(q for qs in BY_STEP.values() for q in qs)
#: Question id -> question.
BY_ID: Mapping[str, Question] = {q.id: q for q in QUESTIONS}


def heartbeat_targets(setup: Setup) -> tuple[str, ...]:
    """What the heartbeat pings: AWS's inside address of each tunnel."""
    return tuple(str(t.aws_inside_cidr.ip) for t in setup.tunnels)


def host_defaults(setup: Setup, context: Context, sources: Mapping[str, str]) -> Setup:
    """Preselect what the host makes obvious and the operator did not answer already.

    The decisions are `wizard.host_defaults`' (WAN from the default route,
    NAT and its private address from the addresses, and, when the context
    has the probe's facts, backend and persistence); this is the questions'
    face of it, so both modes start from the same setup.
    """
    facts = context.facts()
    if facts is None:
        return setup
    keys = defaults.KEYS if context.host is not None else ("physical_interface", "local_ip")
    return defaults.host_defaults(facts, setup, sources, keys)[0]


def nat_hint(setup: Setup, context: Context) -> str:
    """A sentence for the NAT question when the host's addresses answer it, else ""."""
    facts = context.facts()
    if facts is None or not context.interfaces or not setup.tunnels:
        return ""
    decided = defaults.default_local_ip(facts, setup.connection,
                                        setup.choices.physical_interface)
    if decided is not None:
        return decided.reason + "."
    outside = setup.tunnels[0].customer_outside_ip
    return (f"{outside} is on no interface of this box, so it is behind NAT; give the "
            "private address the NAT forwards to.")


def suggested_local_ip(setup: Setup, context: Context) -> str:
    """The first address of the chosen physical interface: the usual answer behind NAT."""
    for i in context.interfaces:
        if i.name == setup.choices.physical_interface and i.addresses:
            return str(i.addresses[0].ip)
    return ""
