"""Hostile strings, and small parsers that read every rendered artifact back.

The injection tests feed a hostile value into one field of one input path,
then either see a clear refusal or build the plan for several targets and
read each file back with the parsers here: a file that parses to exactly the
directives the model calls for, and no other, proves nothing was injected.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from ipaddress import IPv4Network

from hypothesis import strategies as st

from wizard import fields
from wizard.model import Problem, Setup, errors, validate
from wizard.operations import SetSysctl
from wizard.plan import build_plan
from wizard.plan_types import Plan
from wizard.render import frr, ipsec, modern, persistence, swanctl, sysctl, updown
from wizard.render.heartbeat import UNIT as HEARTBEAT_UNIT

FRAGMENTS = (
    "\n", "\r", "\r\n", "\x00", "\x1b[2J", '"', "'", "\ninclude /etc/shadow\n",
    "include /etc/shadow", "#", "# x", "}", "{", "\n}\n", "}\nevil {", ": x", "\n- x",
    "key: [a, b]", "*", "&a", "!!python/object", "=", "\u2028", "\u2029", "\u0085", "\t", " ",
    "\\", "\\n", "%default", "\nconn evil\n\tright=%any\n", "\n[Service]\nExecStart=/bin/sh\n",
    "[/x]", "[bold red]", "$(id)", "`id`", ";", ",", "-", "/", "..", "\x7f", "\ufeff",
    "\u202e", "\n  - Pre-Shared Key : x", "</ip_address><ip_address>", "all", "default",
)


@st.composite
def hostile(draw: st.DrawFn, original: str) -> str:
    """`original` with hostile fragments around, inside or instead of it."""
    parts = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3))
    noise = "".join(parts) + draw(st.text(max_size=3))
    where = draw(st.sampled_from(("append", "prepend", "replace", "middle")))
    if where == "append":
        return original + noise
    if where == "prepend":
        return noise + original
    if where == "replace":
        return noise
    cut = len(original) // 2
    return original[:cut] + noise + original[cut:]


def vpc_for(setup: Setup) -> tuple[IPv4Network, ...]:
    """A documentation-range VPC CIDR that holds none of the setup's outside addresses."""
    used = {t.customer_outside_ip for t in setup.tunnels} | {t.aws_outside_ip
                                                             for t in setup.tunnels}
    for text in ("203.0.113.128/25", "198.51.100.128/25", "192.0.2.128/25", "192.0.2.0/25"):
        net = IPv4Network(text)
        if not any(a in net for a in used):
            return (net,)
    raise AssertionError("no free documentation CIDR")


#: (backend, persistence, mode): between them every artifact the wizard renders.
VARIANTS = (
    ("stroke", "seed", "manual"),
    ("swanctl", "netplan", "manual"),
    ("stroke", "networkd", "updown"),
    ("swanctl", "networkd", "manual"),
)


def refusal_is_clear(problems: list[Problem]) -> None:
    """Every problem names its field and quotes nothing raw."""
    for problem in problems:
        assert problem.where, problem
        assert problem.message, problem
        assert fields.unsafe_character(problem.message) is None, problem


def message_is_clear(message: str) -> None:
    """An error message for the operator: not empty, nothing raw from the input."""
    assert message.strip()
    assert fields.unsafe_character(message) is None, ascii(message)


def refused_or_safe(setup: Setup) -> str:
    """"refused" (with a clear reason) or "planned" (every rendered file read back clean)."""
    problems = errors(validate(setup))
    if problems:
        refusal_is_clear(problems)
        return "refused"
    for backend, persistence_choice, mode in VARIANTS:
        choices = replace(setup.choices, backend=backend, persistence=persistence_choice,
                          mode=mode)
        variant = replace(setup, choices=choices)
        check_plan(variant, build_plan(variant))
    return "planned"


# --------------------------------------------------------------------------- the parsers

_CONN_KEYS = {
    "auto", "left", "leftid", "right", "type", "leftauth", "rightauth", "keyexchange", "ike",
    "ikelifetime", "esp", "lifetime", "keyingtries", "leftsubnet", "rightsubnet", "dpddelay",
    "dpdtimeout", "dpdaction", "mark",
}


def _content(text: str, comment: str = "#") -> list[str]:
    return [line for line in text.split("\n") if line.strip() and not
            line.lstrip().startswith(comment)]


def leftupdown_arguments(setup: Setup, index: int) -> list[str]:
    """What the updown script must receive for tunnel `index`, word for word."""
    tunnel = setup.tunnels[index]
    routes = ",".join(str(n) for n in setup.choices.vpc_cidrs)
    words = [ipsec.UPDOWN_PATH, "-ln", tunnel.name, "-ll", str(tunnel.customer_inside_cidr),
             "-lr", str(tunnel.aws_inside_cidr), "-m", str(tunnel.mark)]
    return words if setup.dynamic else [*words, "-r", routes]  # with BGP, FRR routes


def check_ipsec_conf(setup: Setup, text: str) -> None:
    conns: dict[str, dict[str, str]] = {}
    section: dict[str, str] | None = None
    setup_section: dict[str, str] = {}
    for line in _content(text):
        if line == "config setup":
            section = setup_section
            continue
        match = re.fullmatch(r"conn ([^\s]+)", line)
        if match:
            assert match.group(1) not in conns, line
            section = conns.setdefault(match.group(1), {})
            continue
        match = re.fullmatch(r"\t([a-z]+)=(.*)", line)
        assert match and section is not None, ascii(line)
        key, value = match.groups()
        assert key not in section, line
        section[key] = value
    assert setup_section == {"uniqueids": "no"}
    names = [t.name for t in setup.tunnels]
    assert list(conns) == names
    updown_mode = setup.choices.mode == "updown"
    for index, tunnel in enumerate(setup.tunnels):
        conn = conns[tunnel.name]
        expected = _CONN_KEYS | ({"leftupdown"} if updown_mode else set())
        assert set(conn) == expected, conn
        assert (conn["ike"], conn["esp"]) == (tunnel.crypto.ike, tunnel.crypto.esp)
        assert conn["right"] == str(tunnel.aws_outside_ip)
        assert conn["dpdaction"] == tunnel.crypto.dpd_action
        for key, value in conn.items():
            if key != "leftupdown":
                assert re.fullmatch(r"[^\s\"'#]+", value), (key, value)
        if updown_mode:
            assert shlex.split(conn["leftupdown"]) == [" ".join(leftupdown_arguments(setup,
                                                                                      index))]
            assert shlex.split(shlex.split(conn["leftupdown"])[0]) == leftupdown_arguments(
                setup, index)


def check_ipsec_secrets(setup: Setup, text: str) -> None:
    lines = _content(text)
    assert len(lines) == len(setup.tunnels)
    for line, tunnel in zip(lines, setup.tunnels, strict=True):
        assert line == (f"{tunnel.customer_outside_ip} {tunnel.aws_outside_ip} : "
                        f'PSK "{tunnel.psk.reveal()}"')


def check_sysctl(text: str, values: list[SetSysctl]) -> None:
    found = {}
    for line in _content(text):
        match = re.fullmatch(r"([A-Za-z0-9_./-]+) ?= ?([0-9]+)", line)
        assert match, ascii(line)
        found[match.group(1)] = match.group(2)
    assert found == {getattr(op, "written_key", op.key): op.value for op in values}


def check_interfaces(setup: Setup, text: str) -> None:
    lines = _content(text)
    autos = [line for line in lines if line.startswith("auto ")]
    assert autos == [f"auto {t.name}" for t in setup.tunnels]
    for line in lines:
        assert re.fullmatch(r"(auto|iface|pre-up|up|post-down) [^\"'#\r]+", line), ascii(line)


def check_rc_local(text: str) -> None:
    assert _content(text) == [f"iptables-restore --noflush < {persistence.IPTABLES_RULES}",
                              "exit 0"]


def check_iptables_rules(setup: Setup, text: str) -> None:
    lines = _content(text)
    assert lines[0] == "*mangle" and lines[-1] == "COMMIT"
    assert len(lines) == 2 + 2 * len(setup.tunnels)
    for line in lines[1:-1]:
        words = line.split(" ")
        assert words[:2] in (["-A", "FORWARD"], ["-A", "INPUT"]), line
        assert all(re.fullmatch(r"[A-Za-z0-9_.,/:-]+", w) for w in words), line


def check_swanctl(setup: Setup, text: str) -> None:
    parsed = swanctl.parse(text)
    assert set(parsed) == {"connections"}
    conns = parsed["connections"]
    assert list(conns) == [t.name for t in setup.tunnels]
    conn_keys = {"version", "local_addrs", "remote_addrs", "proposals", "rekey_time",
                 "reauth_time", "over_time", "rand_time", "keyingtries", "unique", "dpd_delay",
                 "dpd_timeout", "local", "remote", "children"}
    child_keys = {"mode", "local_ts", "remote_ts", "esp_proposals", "rekey_time", "life_time",
                  "rand_time", "mark_in", "mark_out", "dpd_action", "start_action", "updown"}
    for index, tunnel in enumerate(setup.tunnels):
        conn = conns[tunnel.name]
        assert set(conn) == conn_keys, conn
        assert conn["local"] == {"auth": "psk", "id": str(tunnel.customer_outside_ip)}
        assert conn["remote"] == {"auth": "psk", "id": str(tunnel.aws_outside_ip)}
        assert conn["proposals"] == swanctl.proposals(tunnel.crypto.ike)
        assert list(conn["children"]) == [tunnel.name]
        child = conn["children"][tunnel.name]
        assert set(child) <= child_keys, child
        assert child["esp_proposals"] == swanctl.proposals(tunnel.crypto.esp)
        if setup.choices.mode == "updown":
            assert shlex.split(child["updown"]) == leftupdown_arguments(setup, index)
        else:
            assert "updown" not in child


def check_swanctl_secrets(setup: Setup, text: str) -> None:
    parsed = swanctl.parse(text)
    assert set(parsed) == {"secrets"}
    assert list(parsed["secrets"]) == [f"ike-{t.name}" for t in setup.tunnels]
    for tunnel in setup.tunnels:
        assert parsed["secrets"][f"ike-{tunnel.name}"] == {
            "id-local": str(tunnel.customer_outside_ip),
            "id-remote": str(tunnel.aws_outside_ip),
            "secret": tunnel.psk.reveal(),
        }


_NETPLAN_LINES = (
    r"network:", r"  version: 2", r"  tunnels:", r"    (\"?)[A-Za-z][A-Za-z0-9_-]*\1:",
    r"      (renderer|mode|local|remote|mtu|optional): [A-Za-z0-9.]+",
    r"      (keys|addresses|routes):", r"        (input|output): [0-9]+",
    r"        - [0-9./]+", r"        - to: [0-9./]+", r"          (scope|metric): [a-z0-9]+",
)


def check_netplan(setup: Setup, text: str) -> None:
    for line in _content(text):
        assert any(re.fullmatch(p, line) for p in _NETPLAN_LINES), ascii(line)
    try:
        import yaml
    except ImportError:  # the line grammar above is the minimal check
        return
    document = yaml.safe_load(text)
    assert set(document) == {"network"}
    assert set(document["network"]) == {"version", "tunnels"}
    tunnels = document["network"]["tunnels"]
    assert list(tunnels) == [t.name for t in setup.tunnels]
    for tunnel in setup.tunnels:
        assert tunnels[tunnel.name]["keys"] == {"input": tunnel.mark, "output": tunnel.mark}


def _ini(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of a systemd-style file; every other line is a failure."""
    out: list[tuple[str, str, str]] = []
    section = ""
    for line in _content(text):
        match = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if match:
            section = match.group(1)
            continue
        match = re.fullmatch(r"([A-Za-z]+)=(.*)", line)
        assert match and section, ascii(line)
        out.append((section, match.group(1), match.group(2)))
    return out


_NETWORKD_KEYS = {
    "NetDev": {"Name", "Kind", "MTUBytes"},
    "Tunnel": {"Independent", "Local", "Remote", "Key"},
    "Match": {"Name"},
    "Link": {"MTUBytes", "RequiredForOnline"},
    "Network": {"LinkLocalAddressing", "ConfigureWithoutCarrier"},
    "Address": {"Address", "Peer"},
    "Route": {"Destination", "Scope", "Metric"},
}
_UNIT_KEYS = {
    "Unit": {"Description", "After", "Wants", "Before", "DefaultDependencies", "Conflicts"},
    "Service": {"Type", "RemainAfterExit", "ExecStart", "ExecStop", "Restart", "RestartSec",
                "Environment"},
    "Install": {"WantedBy"},
}


def check_networkd(setup: Setup, path: str, text: str) -> None:
    tunnel = next(t for t in setup.tunnels if path.startswith(
        f"{modern.NETWORKD_DIR}/60-vpn-wizard-{t.name}."))
    entries = _ini(text)
    for section, key, value in entries:
        assert key in _NETWORKD_KEYS[section], (section, key)
        assert re.fullmatch(r"[A-Za-z0-9./-]+", value), (key, value)
    names = [v for s, k, v in entries if k == "Name"]
    assert names == [tunnel.name]


def check_unit(setup: Setup, path: str, text: str) -> None:
    for section, key, value in _ini(text):
        assert key in _UNIT_KEYS[section], (section, key)
        if key == "Environment":  # fixed by the wizard, never from input
            assert re.fullmatch(r"[A-Z_]+=[A-Za-z0-9_./-]+", value), value
        if key in ("ExecStart", "ExecStop"):
            words = shlex.split(value.lstrip("-"))
            assert all(re.fullmatch(r"[A-Za-z0-9_./,:-]+", w) for w in words), value
            if path == HEARTBEAT_UNIT:
                assert words[1:] == ["heartbeat", *(str(t.aws_inside_cidr.ip)
                                                    for t in setup.tunnels),
                                     "--interval", str(setup.choices.heartbeat_interval)]


def check_plan(setup: Setup, plan: Plan) -> None:
    """Read every file of `plan` back; check every command's words."""
    for step in plan:
        for op in step.commands:
            for word in op.argv:
                assert re.fullmatch(r"[^\s\"'\\]+", word), (step.id, ascii(word))
    host = sysctl.host_interface_values(setup)
    forwarding = [sysctl.forwarding()[1]] if setup.choices.enable_forwarding else []
    for path, change in plan.final_files().items():
        text = change.after
        if path == ipsec.IPSEC_CONF:
            check_ipsec_conf(setup, text)
        elif path == ipsec.IPSEC_SECRETS:
            check_ipsec_secrets(setup, text)
        elif path == ipsec.CHARON_CONF:
            assert swanctl.parse(text) == {"charon": {"install_routes": "no",
                                                      "routing_table": "0"}}
        elif path == sysctl.SYSCTL_CONF:
            check_sysctl(text, forwarding + host)
        elif path == modern.SYSCTL_D:
            check_sysctl(text, modern.sysctl_values(setup))
        elif path == persistence.INTERFACES:
            check_interfaces(setup, text)
        elif path == persistence.RC_LOCAL:
            check_rc_local(text)
        elif path == persistence.IPTABLES_RULES:
            check_iptables_rules(setup, text)
        elif path == swanctl.SWANCTL_CONF:
            check_swanctl(setup, text)
        elif path == swanctl.SWANCTL_SECRETS:
            check_swanctl_secrets(setup, text)
        elif path == modern.NETPLAN:
            check_netplan(setup, text)
        elif path.startswith(modern.NETWORKD_DIR):
            check_networkd(setup, path, text)
        elif path.endswith(".service"):
            check_unit(setup, path, text)
        elif path == frr.FRR_CONF:
            check_frr(setup, text)
        elif path == frr.DAEMONS:
            assert _content(text) == ["bgpd=yes"], ascii(text)
        elif path == ipsec.UPDOWN_PATH:
            assert text == updown.script(setup)  # takes no value from the inputs but the MTU
        else:
            raise AssertionError(f"no parser for {path}")


_NET = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}"
_IP = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
_FRR_LINES = [re.compile(p) for p in (
    rf"ip prefix-list VPNW-(?:ANNOUNCE|LEARN) seq [0-9]+ (?:permit|deny) {_NET}(?: le 32)?",
    r"!", r" !", r"exit", r" exit-address-family", r" address-family ipv4 unicast",
    r"route-map VPNW-(?:IN|OUT)-T[0-9] permit 10",
    r" match ip address prefix-list VPNW-(?:ANNOUNCE|LEARN)",
    r" set local-preference 200", r" set as-path prepend [0-9]+(?: [0-9]+)*",
    r"router bgp [0-9]+", rf" bgp router-id {_IP}", r" bgp log-neighbor-changes",
    rf" neighbor {_IP} (?:remote-as [0-9]+|timers [0-9]+ [0-9]+|timers connect [0-9]+)",
    rf" neighbor {_IP} description vpn-wizard [A-Za-z0-9_.-]+",
    rf"  network {_NET}",
    rf"  neighbor {_IP} (?:activate|route-map VPNW-(?:IN|OUT)-T[0-9] (?:in|out))",
)]


def check_frr(setup: Setup, text: str) -> None:
    """frr.conf: every line of the block is one FRR directive the wizard writes, and the
    networks announced are exactly the setup's (never more, never anything else)."""
    lines = _content(text)
    for line in lines:
        assert any(p.fullmatch(line) for p in _FRR_LINES), ascii(line)
    networks = [line.split()[1] for line in lines if line.startswith("  network ")]
    assert networks == [str(n) for n in setup.choices.advertise], (networks, text)
