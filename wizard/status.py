"""The live state of both tunnels and the heartbeat, as one immutable snapshot.

What the AWS document has the operator check by hand after its step 4 —
`ipsec status`, `ip route`, `iptables -t mangle -L -n`, `ifconfig` and a
ping — gathered in one value per refresh: per tunnel, the IKE and CHILD SAs,
the VTI, its routes, its mangle rules and its heartbeat. `diagnose` turns a
snapshot into sentences an operator can act on.

Where each part comes from, cheapest first:

* strongSwan over **vici** (`wizard.system.vici_source`), one Unix socket,
  no process; `ipsec statusall` (`wizard.system.statusall`) only when there
  is no vici socket. `StatusSnapshot.source` says which was used.
* links and routes over **netlink** (`wizard.system.netlink_status`, pyroute2).
* the mangle rules from one `iptables -t mangle -S`
  (`wizard.system.iptables_status`): python-iptables is not a dependency,
  and it binds libiptc, which cannot see rules made by the nf_tables
  flavour of iptables that current distributions install by default.
* the heartbeat's state file (`wizard.heartbeat`), written by the service.

Which tunnels to expect is not read from strongSwan (it may have loaded
nothing) but from the wizard's own view (`Expected`): the setup given on the
command line, or the wizard's managed blocks on the box.

This module is pure apart from `LiveStatus`, whose host access all goes
through `wizard.system`: reading through `StatusReaders` (this machine, or
the simulated kernel under `--root`), acting only through a `System` (the
recording one under `--dry-run`), chosen in one place, `open_status`.
Tests build snapshots from recorded data.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from wizard.heartbeat import STATE_FILE, HeartbeatState, TargetState, read_state
from wizard.render.blocks import BEGIN, END

if TYPE_CHECKING:
    from wizard.model import Setup
    from wizard.system import System
    from wizard.system.paths import Root

VICI_SOCKET = "/var/run/charon.vici"
IPSEC_CONF = "/etc/ipsec.conf"
INTERFACES = "/etc/network/interfaces"
IPTABLES_RULES = "/etc/vpn-wizard/iptables.rules"
HEARTBEAT_UNIT = "/etc/systemd/system/vpn-wizard-heartbeat.service"

Source = Literal["vici", "ipsec statusall", "simulated", "none"]


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class ChildSa:
    """One CHILD SA (IPsec SA pair) as strongSwan reports it.

    Attributes:
        state: strongSwan's state name; "INSTALLED" carries traffic.
        installed_s: seconds since it was installed (None when the source does not say).
        rekey_in_s: seconds until strongSwan rekeys it.
        algorithms: "AES_CBC_128/HMAC_SHA1_96/MODP_1024", as `ipsec statusall` writes it.
        bytes_in/bytes_out: ESP payload bytes through it since it was installed.
        packets_in/packets_out: packets, None where `statusall` prints none.
    """

    name: str
    state: str
    installed_s: int | None = None
    rekey_in_s: int | None = None
    algorithms: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int | None = None
    packets_out: int | None = None


@dataclass(frozen=True)
class IkeSa:
    """One IKE SA (phase 1) and the CHILD SAs under it.

    Attributes:
        name: the conn name ("Tunnel1").
        state: "ESTABLISHED", "CONNECTING", "DELETING", ... (strongSwan's names).
        established_s: seconds since it was established (approximate from statusall).
        rekey_in_s: seconds until rekeying or reauthentication, whichever comes first.
    """

    name: str
    state: str
    version: int | None = None
    local_host: str | None = None
    remote_host: str | None = None
    established_s: int | None = None
    rekey_in_s: int | None = None
    algorithms: str = ""
    children: tuple[ChildSa, ...] = ()

    @property
    def installed_child(self) -> ChildSa | None:
        """The CHILD SA that carries traffic, if any."""
        return next((c for c in self.children if c.state == "INSTALLED"), None)


@dataclass(frozen=True)
class LinkStatus:
    """A tunnel interface (VTI) as the kernel reports it over netlink.

    Attributes:
        up: administratively up (IFF_UP): `ip link set NAME up` was done.
        ikey/okey: the VTI keys; they must equal the conn's mark.
        addresses: (local, peer) inside addresses, "169.254.23.6/30" style.
    """

    name: str
    up: bool
    mtu: int
    kind: str | None = None
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_packets: int = 0
    tx_packets: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    ikey: int | None = None
    okey: int | None = None
    local: str | None = None
    remote: str | None = None
    addresses: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Route:
    """A route in the main table, as read from the kernel."""

    dst: str
    dev: str | None
    metric: int | None


@dataclass(frozen=True)
class RouteCheck:
    """An expected route and whether the kernel has it."""

    dst: str
    dev: str
    metric: int | None
    present: bool


@dataclass(frozen=True)
class RuleCheck:
    """An expected mangle rule and whether it is there (None: could not be read)."""

    chain: str
    rule: tuple[str, ...]
    present: bool | None

    @property
    def label(self) -> str:
        """Short words for a panel: "MARK 100" or "TCPMSS clamp"."""
        if "MARK" in self.rule:
            i = self.rule.index("--set-xmark") if "--set-xmark" in self.rule else -1
            return f"ESP mark {self.rule[i + 1]}" if i >= 0 else "ESP mark"
        if "TCPMSS" in self.rule:
            return "TCPMSS clamp"
        return " ".join((self.chain, *self.rule))


@dataclass(frozen=True)
class ExpectedTunnel:
    """What the wizard configured for one tunnel: the yardstick the live state is held to.

    Attributes:
        name: conn and VTI name.
        aws_outside_ip: the VGW endpoint (`right=`), for diagnoses and the failover test.
        aws_inside_ip: AWS's inside address, the heartbeat's target for this tunnel.
        mark: conn mark = VTI key = MARK value.
        routes: VPC CIDRs routed through this tunnel.
        rules: expected mangle rules, (chain, rule argv) as the plan adds them.
        mode: "manual" (VTI always there) or "updown" (VTI only while the tunnel is up).
    """

    name: str
    aws_outside_ip: str | None = None
    aws_inside_ip: str | None = None
    mark: int | None = None
    routes: tuple[str, ...] = ()
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()
    mode: str = "manual"


@dataclass(frozen=True)
class Expected:
    """The tunnels to check, and where that list came from.

    Attributes:
        origin: "answers" (--answers/--import), "ipsec.conf" (the wizard's
            managed blocks on the box) or "none" (no plan applied yet).
        heartbeat: whether a heartbeat is configured (None: cannot tell).
    """

    tunnels: tuple[ExpectedTunnel, ...] = ()
    origin: str = "none"
    heartbeat: bool | None = None


@dataclass(frozen=True)
class TunnelStatus:
    """Everything known about one tunnel at one instant.

    Attributes:
        expected: what the wizard configured.
        ike: the best IKE SA for this conn (established over connecting), None if none.
        loaded: whether strongSwan has the conn loaded (None: source cannot tell).
        link: the VTI, None when it does not exist.
        routes: each expected route and whether it is present.
        rules: each expected mangle rule and whether it is present.
        heartbeat: the heartbeat's record for this tunnel's AWS inside address.
    """

    expected: ExpectedTunnel
    ike: IkeSa | None = None
    loaded: bool | None = None
    link: LinkStatus | None = None
    routes: tuple[RouteCheck, ...] = ()
    rules: tuple[RuleCheck, ...] = ()
    heartbeat: TargetState | None = None
    link_read: bool = True
    """False when netlink could not be read, so a missing `link` means "unknown"."""

    @property
    def name(self) -> str:
        return self.expected.name

    @property
    def ike_state(self) -> str:
        """"ESTABLISHED", "CONNECTING", another strongSwan state, or "down" when there is no SA."""
        return self.ike.state if self.ike else "down"

    @property
    def child(self) -> ChildSa | None:
        """The CHILD SA that carries traffic, else whichever exists."""
        if self.ike is None:
            return None
        return self.ike.installed_child or (self.ike.children[0] if self.ike.children else None)

    @property
    def up(self) -> bool:
        """Carrying traffic: IKE established and a CHILD SA installed."""
        return self.ike_state == "ESTABLISHED" and self.ike is not None and (
            self.ike.installed_child is not None
        )


@dataclass(frozen=True)
class Target:
    """Which box a snapshot describes, and whether the panel's keys may change it.

    The panel and `vpn-wizard status` show it in words, so an operator never
    mistakes a dry run or a `--root` directory for the tunnels of this box,
    and never believes a key changed something it only recorded.

    Attributes:
        dry_run: `--dry-run`: nothing was applied, and the keys only record
            the command each would run (through `System.recording`).
        root: the `--root` directory, or None for this machine's own `/`.
            Under a root the kernel and the daemon are the simulated ones
            kept in that directory (`wizard.system.simulated`).
    """

    dry_run: bool = False
    root: str | None = None

    @property
    def live(self) -> bool:
        """This machine's own tunnels, and keys that really act on them."""
        return not self.dry_run and self.root is None

    def banner(self) -> str | None:
        """One sentence on what is shown and what the keys do; None for the live box."""
        if self.dry_run:
            where = "this box" if self.root is None else f"--root {self.root}"
            return (
                f"Dry run: nothing was applied to {where}. The tunnels are those the plan "
                "would set up, read from the box as it is now; the keys u, d and f show the "
                "command each would run, and run nothing."
            )
        if self.root is not None:
            return (
                f"--root {self.root}: the kernel and strongSwan shown are simulated in "
                f"{self.root}/run/vpn-wizard-sim/kernel.json, not this machine's; no peer "
                "answers there, and the keys change only that file."
            )
        return None

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "root": self.root, "live": self.live}


DRY_RUN_FINDING = (
    "Dry run: nothing was applied, so these tunnels are not expected to be up; "
    "apply the plan (vpn-wizard, or vpn-wizard apply) to bring them up."
)


@dataclass(frozen=True)
class StatusSnapshot:
    """One reading of the truth for every expected tunnel.

    Attributes:
        taken_at: wall-clock time of the reading (heartbeat ages are relative to it).
        source: where the SA state came from: "vici", "ipsec statusall", or
            "none" when neither could be asked.
        daemon_running: whether charon answered.
        daemon_detail: why it did not, or its version when it did.
        rules_source: "iptables -t mangle -S", or why the rules could not be read.
        heartbeat_file: where the heartbeat state was looked for.
        heartbeat_updated: when the heartbeat last wrote it (None: no file).
        heartbeat_interval: the heartbeat's own interval, to judge staleness.
        notes: readers that failed, in plain words (never silently skipped).
        target: which box this is (a dry run, a --root directory, or this box).
    """

    taken_at: float
    source: Source
    daemon_running: bool
    expected: Expected
    tunnels: tuple[TunnelStatus, ...] = ()
    daemon_detail: str = ""
    rules_source: str = "iptables -t mangle -S"
    heartbeat_file: str = STATE_FILE
    heartbeat_updated: float | None = None
    heartbeat_interval: float | None = None
    notes: tuple[str, ...] = ()
    target: Target = Target()

    @property
    def applied(self) -> bool:
        """Whether the wizard has configured any tunnel to look at."""
        return bool(self.expected.tunnels)

    @property
    def all_up(self) -> bool:
        """Every expected tunnel carries traffic (False when none is expected)."""
        return self.applied and all(t.up for t in self.tunnels)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready document for `status --once --json` (see docs in run_status)."""
        return {
            "taken_at": self.taken_at,
            "source": self.source,
            "strongswan": {"running": self.daemon_running, "detail": self.daemon_detail},
            "expected_from": self.expected.origin,
            "rules_source": self.rules_source,
            "heartbeat": {
                "file": self.heartbeat_file,
                "updated": self.heartbeat_updated,
                "interval": self.heartbeat_interval,
            },
            "all_up": self.all_up,
            "tunnels": [_tunnel_json(t) for t in self.tunnels],
            "notes": list(self.notes),
            "target": self.target.to_json(),
            "diagnosis": diagnose(self),
        }


def _tunnel_json(t: TunnelStatus) -> dict[str, Any]:
    child = t.child
    ike = t.ike
    return {
        "name": t.name,
        "up": t.up,
        "aws_outside_ip": t.expected.aws_outside_ip,
        "mode": t.expected.mode,
        "loaded": t.loaded,
        "ike": None
        if ike is None
        else {
            "state": ike.state,
            "version": ike.version,
            "established_s": ike.established_s,
            "rekey_in_s": ike.rekey_in_s,
            "algorithms": ike.algorithms,
            "local_host": ike.local_host,
            "remote_host": ike.remote_host,
        },
        "child": None
        if child is None
        else {
            "state": child.state,
            "installed_s": child.installed_s,
            "rekey_in_s": child.rekey_in_s,
            "algorithms": child.algorithms,
            "bytes_in": child.bytes_in,
            "bytes_out": child.bytes_out,
            "packets_in": child.packets_in,
            "packets_out": child.packets_out,
        },
        "vti": None
        if t.link is None
        else {
            "name": t.link.name,
            "up": t.link.up,
            "mtu": t.link.mtu,
            "rx_bytes": t.link.rx_bytes,
            "tx_bytes": t.link.tx_bytes,
            "rx_errors": t.link.rx_errors,
            "tx_errors": t.link.tx_errors,
            "ikey": t.link.ikey,
            "okey": t.link.okey,
        },
        "routes": [
            {"dst": r.dst, "dev": r.dev, "metric": r.metric, "present": r.present}
            for r in t.routes
        ],
        "rules": [
            {"chain": r.chain, "rule": " ".join(r.rule), "present": r.present} for r in t.rules
        ],
        "heartbeat": None
        if t.heartbeat is None
        else {
            "address": t.heartbeat.address,
            "last_reply": t.heartbeat.last_reply,
            "last_rtt_ms": t.heartbeat.last_rtt_ms,
            "replies": t.heartbeat.replies,
            "attempts": t.heartbeat.attempts,
        },
    }


# --------------------------------------------------------------------------- sources


@runtime_checkable
class StatusSource(Protocol):
    """Anything that can read a snapshot: `LiveStatus`, or recorded data in tests."""

    def snapshot(self) -> StatusSnapshot: ...


@runtime_checkable
class TunnelControls(Protocol):
    """What the status panel's keys do; optional for a source (recorded data has none)."""

    def initiate(self, name: str) -> str: ...
    def terminate(self, name: str) -> str: ...
    def block_peer(self, name: str) -> str: ...
    def unblock_peer(self, name: str) -> str: ...


@runtime_checkable
class EventSource(Protocol):
    """A source that can wake the panel when something changes, instead of it polling."""

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...
    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...


# --------------------------------------------------------------------------- expected


def expected_from_setup(setup: Setup) -> Expected:
    """The tunnels a setup describes (for `--answers/--import`)."""
    from wizard.render import iptables

    tunnels = []
    for tunnel in setup.tunnels:
        tunnels.append(
            ExpectedTunnel(
                name=tunnel.name,
                aws_outside_ip=str(tunnel.aws_outside_ip),
                aws_inside_ip=str(tunnel.aws_inside_cidr.ip),
                mark=tunnel.mark,
                routes=tuple(str(n) for n in setup.choices.vpc_cidrs),
                rules=tuple(
                    (r.chain, r.rule) for r in iptables.mangle_rules(setup, tunnel)
                ),
                mode=setup.choices.mode,
            )
        )
    return Expected(tuple(tunnels), "answers", setup.choices.heartbeat)


def _blocks(text: str | None) -> dict[str, list[str]]:
    """Managed block id -> body lines (markers excluded), for `#`-commented files."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in (text or "").splitlines():
        if line.startswith(f"# {BEGIN} "):
            current = line[len(f"# {BEGIN} ") :].split(" ", 1)[0]
            found[current] = []
        elif line.startswith(f"# {END} "):
            current = None
        elif current is not None:
            found[current].append(line)
    return found


_KEY = re.compile(r"^\s*([a-z_]+)\s*=\s*(.*?)\s*$")


def _option(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None


def _ipsec_conns(text: str | None) -> list[tuple[str, dict[str, str]]]:
    """(name, keys) of the conns in the wizard's ipsec.conf blocks (the stroke backend)."""
    conns = []
    for body in _blocks(text).values():
        if not body or not body[0].startswith("conn "):
            continue
        values: dict[str, str] = {}
        for line in body[1:]:
            match = _KEY.match(line)
            if match:
                values[match.group(1)] = match.group(2).strip('"')
        conns.append((body[0].split()[1], values))
    return conns


def _swanctl_conns(text: str | None) -> list[tuple[str, dict[str, str]]]:
    """The same keys, ipsec.conf-named, from the wizard's swanctl file (the swanctl backend)."""
    if not text:
        return []
    from wizard.render import swanctl

    try:
        connections = swanctl.parse(text).get("connections", {})
    except ValueError:
        return []
    conns = []
    for name, conn in connections.items():
        if not isinstance(conn, dict):
            continue
        child = conn.get("children", {}).get(name, {})
        values = {
            "right": str(conn.get("remote_addrs", "")),
            "leftid": str(conn.get("local", {}).get("id", "")),
            "mark": str(child.get("mark_in", "")),
            "leftupdown": str(child.get("updown", "")),
        }
        conns.append((name, {k: v for k, v in values.items() if v}))
    return conns


def expected_from_root(root: Root) -> Expected:
    """The tunnels the wizard's own configuration on the box describes.

    Read from its `ipsec.conf` blocks or its swanctl file (endpoint, mark,
    updown arguments), `/etc/network/interfaces` (inside addresses and
    routes in manual mode with the document's persistence),
    `/etc/vpn-wizard/iptables.rules` (the mangle rules) and the heartbeat
    unit. What none of them says stays unknown and is not diagnosed, rather
    than guessed (the heartbeat's address then comes from the VTI's peer).
    """
    from wizard.render.swanctl import SWANCTL_CONF

    found: list[ExpectedTunnel] = []
    interfaces = _blocks(root.read(INTERFACES))
    rules_text = root.read(IPTABLES_RULES) or ""
    conns = _ipsec_conns(root.read(IPSEC_CONF)) + _swanctl_conns(root.read(SWANCTL_CONF))
    for name, values in conns:
        mark = None
        if "mark" in values:
            try:
                mark = int(values["mark"].split("/")[0], 0)
            except ValueError:
                mark = None
        updown = values.get("leftupdown", "").split()
        mode = "updown" if updown else "manual"
        aws_inside = _option(updown, "-lr")
        routes = [r for r in (_option(updown, "-r") or "").split(",") if r and "<" not in r]
        local = values.get("leftid")
        for line in interfaces.get(name, []):
            words = line.split()
            if "addr" in words and "remote" in words:
                aws_inside = _option(words, "remote") or aws_inside
            elif "route" in words and "add" in words:
                routes.append(words[words.index("add") + 1])
            elif "vti" in words and "local" in words:
                local = _option(words, "local") or local
        right = values.get("right")
        rules = _rules_from_restore(rules_text, name, right)
        if not rules and right and local and mark is not None:
            rules = _seed_rules(name, right, local, mark)
        found.append(
            ExpectedTunnel(
                name=name,
                aws_outside_ip=right,
                aws_inside_ip=str(IPv4Interface(aws_inside).ip) if aws_inside else None,
                mark=mark,
                routes=tuple(dict.fromkeys(routes)),
                rules=tuple(rules),
                mode=mode,
            )
        )
    if not found:
        return Expected((), "none", None)
    unit = root.read(HEARTBEAT_UNIT)
    origin = "ipsec.conf" if _ipsec_conns(root.read(IPSEC_CONF)) else "swanctl"
    return Expected(tuple(found), origin, unit is not None)


def _seed_rules(
    name: str, right: str, local: str, mark: int
) -> list[tuple[str, tuple[str, ...]]]:
    """The document's two mangle rules (#3) for one tunnel, as `render.iptables` writes them.

    Used only when the box has no iptables-restore file to read them from
    (updown mode, or no persistence); `leftid` stands in for <LOCAL IP>, which
    is right unless the box sits behind NAT.
    """
    return [
        ("FORWARD", ("-o", name, "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN",
                     "-j", "TCPMSS", "--clamp-mss-to-pmtu")),
        ("INPUT", ("-p", "esp", "-s", right, "-d", local, "-j", "MARK", "--set-xmark",
                   str(mark))),
    ]


def _rules_from_restore(
    text: str, name: str, right: str | None
) -> list[tuple[str, tuple[str, ...]]]:
    """This tunnel's `-A` lines of the iptables-restore file the plan writes."""
    rules = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] != "-A":
            continue
        if ("-o" in words and _option(words, "-o") == name) or (
            right and "-s" in words and _option(words, "-s") == right
        ):
            rules.append((words[1], tuple(words[2:])))
    return rules


# --------------------------------------------------------------------------- assembly


_IKE_RANK = {"ESTABLISHED": 0, "REKEYING": 1, "CONNECTING": 2}


def best_ike(sas: Iterable[IkeSa], name: str) -> IkeSa | None:
    """The IKE SA that best describes conn `name` when several exist (rekeying, retrying).

    An established SA with an installed CHILD SA wins over one without, which
    wins over one still connecting.
    """
    candidates = [sa for sa in sas if sa.name == name]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda sa: (
            _IKE_RANK.get(sa.state, 3),
            sa.installed_child is None,
            sa.established_s if sa.established_s is not None else 1 << 62,
        ),
    )


def build_snapshot(
    expected: Expected,
    *,
    taken_at: float,
    source: Source,
    daemon_running: bool,
    daemon_detail: str = "",
    sas: Sequence[IkeSa] = (),
    loaded_conns: Iterable[str] | None = None,
    links: dict[str, LinkStatus] | None = None,
    routes: Sequence[Route] | None = None,
    mangle: Sequence[str] | None = None,
    rules_source: str = "iptables -t mangle -S",
    heartbeat: HeartbeatState | None = None,
    heartbeat_file: str = STATE_FILE,
    notes: Sequence[str] = (),
    target: Target = Target(),
) -> StatusSnapshot:
    """Put what the readers returned together, tunnel by tunnel. Pure.

    Args:
        links: VTI name -> link, for those that exist; None when netlink could not be read.
        routes: main-table routes; None when they could not be read.
        mangle: `iptables -t mangle -S` lines; None when they could not be read.
    """
    from wizard.system.iptables_status import rule_present

    loaded = set(loaded_conns) if loaded_conns is not None else None
    tunnels = []
    for exp in expected.tunnels:
        link = (links or {}).get(exp.name)
        route_checks = tuple(
            RouteCheck(
                dst,
                exp.name,
                exp.mark,
                routes is not None and _has_route(routes, dst, exp.name, exp.mark),
            )
            for dst in exp.routes
        )
        rule_checks = tuple(
            RuleCheck(chain, rule, None if mangle is None else rule_present(mangle, chain, rule))
            for chain, rule in exp.rules
        )
        inside = exp.aws_inside_ip or _peer_of(link)
        beat = heartbeat.target(inside) if heartbeat and inside else None
        tunnels.append(
            TunnelStatus(
                expected=exp,
                ike=best_ike(sas, exp.name),
                loaded=None if loaded is None else exp.name in loaded,
                link=link,
                routes=route_checks,
                rules=rule_checks,
                heartbeat=beat,
                link_read=links is not None,
            )
        )
    all_notes = list(notes)
    if links is None and expected.tunnels:
        all_notes.append("the tunnel interfaces could not be read over netlink")
    return StatusSnapshot(
        taken_at=taken_at,
        source=source,
        daemon_running=daemon_running,
        expected=expected,
        tunnels=tuple(tunnels),
        daemon_detail=daemon_detail,
        rules_source=rules_source,
        heartbeat_file=heartbeat_file,
        heartbeat_updated=heartbeat.updated if heartbeat else None,
        heartbeat_interval=heartbeat.interval if heartbeat else None,
        notes=tuple(all_notes),
        target=target,
    )


def _peer_of(link: LinkStatus | None) -> str | None:
    """The remote inside address set on a VTI (`ip addr add L remote P`), if any."""
    for _, peer in link.addresses if link else ():
        if peer:
            return str(IPv4Interface(peer).ip)
    return None


def _has_route(routes: Sequence[Route], dst: str, dev: str, metric: int | None) -> bool:
    try:
        want = IPv4Network(dst, strict=False)
    except ValueError:
        return False
    for route in routes:
        try:
            got = IPv4Network(route.dst, strict=False)
        except ValueError:
            continue
        if got == want and route.dev == dev and (metric is None or route.metric == metric):
            return True
    return False


# --------------------------------------------------------------------------- diagnosis


def human_duration(seconds: float | None) -> str:
    """"45 s", "3 min", "2 h 05 min", "3 d 4 h": short enough for a panel column."""
    if seconds is None:
        return "?"
    s = int(max(0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def heartbeat_silence_limit(interval: float | None) -> float:
    """Seconds without a reply after which the heartbeat counts as failing.

    Three missed rounds, and never less than 15 s, so one lost ping on a
    busy link is not an alarm.
    """
    return max(15.0, 3 * (interval or 5.0))


def _label(tunnel: TunnelStatus, index: int) -> str:
    plain = f"Tunnel {index + 1}"
    return plain if tunnel.name.replace(" ", "") == plain.replace(" ", "") else (
        f"{plain} ({tunnel.name})"
    )


def diagnose(snapshot: StatusSnapshot) -> list[str]:
    """What is wrong, one sentence per finding, in the operator's words. Pure.

    An empty list means every expected tunnel is up with its interface,
    routes, rules and heartbeat as configured.
    """
    found: list[str] = []
    if not snapshot.applied:
        return [
            "No tunnels configured by vpn-wizard on this box: no plan has been applied yet "
            "(run vpn-wizard, or vpn-wizard apply)."
        ]
    if snapshot.target.dry_run:
        # Nothing was applied: a daemon that is not running is what a dry run
        # leaves, not a fault to fix. Where one runs, the box's own state is
        # still worth comparing with the plan.
        found.append(DRY_RUN_FINDING)
        if not snapshot.daemon_running:
            return [*found, *snapshot.notes]
    elif not snapshot.daemon_running:
        detail = f" ({snapshot.daemon_detail})" if snapshot.daemon_detail else ""
        found.append(f"strongSwan is not running{detail} — start it with 'ipsec start'.")
    for index, tunnel in enumerate(snapshot.tunnels):
        found.extend(_diagnose_tunnel(snapshot, tunnel, _label(tunnel, index)))
    found.extend(_diagnose_heartbeat(snapshot))
    found.extend(snapshot.notes)
    return found


def _diagnose_tunnel(snapshot: StatusSnapshot, t: TunnelStatus, label: str) -> list[str]:
    found: list[str] = []
    exp = t.expected
    peer = exp.aws_outside_ip or "the AWS endpoint"
    if snapshot.daemon_running:
        ike = t.ike
        if t.loaded is False:
            found.append(
                f"{label}: strongSwan has not loaded conn {exp.name} — check {IPSEC_CONF} "
                "and run 'ipsec reload'."
            )
        elif ike is None:
            found.append(f"{label}: down, no IKE SA with {peer}.")
        elif ike.state == "CONNECTING":
            found.append(
                f"{label}: down, IKE still connecting to {peer} — is it reachable on UDP "
                "500/4500, and do the PSK and phase 1 proposals match?"
            )
        elif ike.state != "ESTABLISHED":
            found.append(f"{label}: IKE SA is {ike.state}.")
        elif ike.installed_child is None:
            found.append(f"{label}: IKE up, no CHILD SA — check phase 2 proposals.")
        else:
            child = ike.installed_child
            if child.bytes_out > 0 and child.bytes_in == 0 and (child.packets_out or 0) >= 3:
                found.append(
                    f"{label}: ESP goes out but none comes back — check the mangle MARK rule "
                    "and the AWS side."
                )
    link = t.link
    vti_expected = exp.mode == "manual" or t.up
    if link is None:
        if vti_expected and t.link_read:
            why = " (the updown script did not create it)" if exp.mode == "updown" else ""
            found.append(f"{label}: VTI {exp.name} is missing{why}.")
    else:
        if not link.up:
            found.append(f"{label}: VTI down.")
        if exp.mark is not None and link.ikey is not None and link.ikey != exp.mark:
            found.append(
                f"{label}: VTI key {link.ikey} differs from the conn's mark {exp.mark}."
            )
    if vti_expected:
        for route in t.routes:
            if not route.present:
                metric = f" metric {route.metric}" if route.metric is not None else ""
                found.append(
                    f"{label}: route to {route.dst} missing (dev {route.dev}{metric})."
                )
        for rule in t.rules:
            if rule.present is False:
                found.append(f"{label}: mangle rule missing: {rule.chain} {' '.join(rule.rule)}.")
    return found


def _diagnose_heartbeat(snapshot: StatusSnapshot) -> list[str]:
    found: list[str] = []
    if snapshot.heartbeat_updated is None:
        if snapshot.expected.heartbeat:
            found.append(
                f"heartbeat: not running (no state in {snapshot.heartbeat_file}) — check "
                "'systemctl status vpn-wizard-heartbeat'."
            )
        return found
    limit = heartbeat_silence_limit(snapshot.heartbeat_interval)
    age = snapshot.taken_at - snapshot.heartbeat_updated
    if age > limit:
        found.append(f"heartbeat: not running (last round {int(age)} s ago).")
        return found
    for index, tunnel in enumerate(snapshot.tunnels):
        beat = tunnel.heartbeat
        if beat is None:
            if tunnel.expected.aws_inside_ip:
                found.append(
                    f"heartbeat: does not ping {tunnel.expected.aws_inside_ip} "
                    f"({_label(tunnel, index)})."
                )
            continue
        where = f"{beat.address}, {_label(tunnel, index)}"
        if beat.last_reply is None:
            if beat.attempts:
                found.append(f"heartbeat: no reply yet ({where}).")
            continue
        silent = snapshot.taken_at - beat.last_reply
        if silent > limit:
            found.append(f"heartbeat: no reply for {int(silent)} s ({where}).")
        elif beat.attempts and beat.replies < beat.attempts:
            found.append(
                f"heartbeat: {beat.attempts - beat.replies} of {beat.attempts} pings lost "
                f"in the last minute ({where})."
            )
    return found


# --------------------------------------------------------------------------- the live source


StrongswanReading = tuple[Source, bool, str, list[IkeSa], "list[str] | None"]
"""(source, running, detail, IKE SAs, loaded conns or None when unknown)."""


@runtime_checkable
class StatusReaders(Protocol):
    """Where `LiveStatus` reads the daemon, the links and the rules of one target.

    `HostReaders` reads this machine (vici or `ipsec statusall`, netlink,
    `iptables -t mangle -S`); `wizard.system.simulated.SimStatusReaders`
    reads the simulated kernel kept under a `--root` directory. Reading only:
    what changes the target goes through `System`, like apply.
    """

    def strongswan(self, notes: list[str]) -> StrongswanReading: ...
    def links(self, names: Sequence[str]) -> tuple[dict[str, LinkStatus], list[Route]]: ...
    def mangle(self) -> tuple[list[str] | None, str]: ...
    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...
    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None: ...


class HostReaders:
    """This machine's strongSwan, kernel and iptables, read without changing anything.

    Args:
        vici_socket: charon's vici socket.
    """

    def __init__(self, vici_socket: str = VICI_SOCKET) -> None:
        self.vici_socket = vici_socket

    def strongswan(self, notes: list[str]) -> StrongswanReading:
        """vici when charon serves it, else `ipsec statusall`."""
        from wizard.system import statusall, vici_source

        if Path(self.vici_socket).exists():
            try:
                reading = vici_source.read(self.vici_socket)
            except ConnectionRefusedError:
                return "vici", False, "its vici socket refuses connections", [], None
            except (OSError, vici_source.ViciError) as err:
                notes.append(f"vici: {err}")
                return "vici", False, f"vici failed: {err}", [], None
            return "vici", True, f"strongSwan {reading.version}", list(reading.sas), list(
                reading.conns
            )
        try:
            result = statusall.read_statusall()
        except FileNotFoundError:
            return "none", False, "not installed: no vici socket and no ipsec command", [], None
        except (OSError, ValueError) as err:
            return "ipsec statusall", False, f"ipsec statusall failed: {err}", [], None
        if not result.running:
            return "ipsec statusall", False, "", [], None
        return (
            "ipsec statusall",
            True,
            f"strongSwan {result.version}",
            list(result.sas),
            list(result.conns),
        )

    def links(self, names: Sequence[str]) -> tuple[dict[str, LinkStatus], list[Route]]:
        from wizard.system import netlink_status

        return netlink_status.read(names)

    def mangle(self) -> tuple[list[str] | None, str]:
        from wizard.system import iptables_status

        return iptables_status.read_mangle()

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        from wizard.system import vici_source

        vici_source.listen(self.vici_socket, stop, notify)

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        from wizard.system import netlink_status

        netlink_status.watch(stop, notify)


FAILOVER_TABLE = "filter"
FAILOVER_CHAIN = "INPUT"
MAX_RULE_COPIES = 16
"""`unblock_peer` removes at most this many copies of the DROP rule (a loop bound, not a limit
anyone should reach: `block_peer` adds one only when none is there)."""


def drop_rule(address: str) -> list[str]:
    """The document's failover test rule for one VGW address (`iptables -A INPUT` ... this)."""
    return ["-s", address, "-j", "DROP"]


class LiveStatus:
    """A target's tunnels, read by `readers` and changed only through a `System`.

    One `snapshot()` opens one vici session (or runs `ipsec statusall` when
    there is no vici socket), one netlink socket and one `iptables -t mangle
    -S` on this machine, or reads one JSON file under `--root`; and reads the
    heartbeat's small state file. It is safe to call from any thread; the
    status panel calls it from a worker thread.

    The keys' actions (`initiate`, `terminate`, `block_peer`, `unblock_peer`)
    go through `system`, the same seam apply uses: `System.recording` under
    `--dry-run` only records the command, the simulated kernel under
    `--root` changes only its file, and only `System.real` on `/` acts on
    this machine. Which one is used follows from `target` in `open_status`;
    nothing here can reach the host except through `system` and `readers`.

    Args:
        expected: the tunnels to report on.
        system: what the keys act through; None for this machine's (made on first use).
        readers: what the snapshots read; None for this machine's (`HostReaders`).
        target: which box this is, shown by the panel and `status`.
        heartbeat_file: local path of the heartbeat's state file.
        vici_socket: charon's vici socket, for the default `HostReaders`.
        clock: wall-clock time, for `taken_at`.
    """

    def __init__(
        self,
        expected: Expected,
        *,
        system: System | None = None,
        readers: StatusReaders | None = None,
        target: Target = Target(),
        heartbeat_file: str = STATE_FILE,
        vici_socket: str = VICI_SOCKET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.expected = expected
        self._system = system
        self.readers: StatusReaders = readers or HostReaders(vici_socket)
        self.target = target
        self.heartbeat_file = heartbeat_file
        self.clock = clock
        self._lock = threading.Lock()

    @property
    def system(self) -> System:
        """The seam the keys act through (this machine's real one unless given)."""
        if self._system is None:
            from wizard.system import System
            from wizard.system.paths import Root

            self._system = System.real(Root("/"))
        return self._system

    # -- reading ---------------------------------------------------------------

    def snapshot(self) -> StatusSnapshot:
        """Read everything once."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> StatusSnapshot:
        notes: list[str] = []
        source, running, detail, sas, loaded = self.readers.strongswan(notes)
        names = [t.name for t in self.expected.tunnels]
        links: dict[str, LinkStatus] | None = {}
        routes: list[Route] | None = []
        mangle: list[str] | None = None
        rules_source = "not read: no tunnels to check"
        if names:
            try:
                links, routes = self.readers.links(names)
            except Exception as err:  # pyroute2 raises its own errors for netlink failures
                links, routes = None, None
                notes.append(f"netlink could not be read: {err}")
            mangle, rules_source = self.readers.mangle()
            if mangle is None and any(t.rules for t in self.expected.tunnels):
                notes.append(f"mangle rules not checked: {rules_source}")
        try:
            beat = read_state(self.heartbeat_file)
        except (OSError, ValueError) as err:
            beat = None
            notes.append(f"heartbeat state unreadable: {err}")
        return build_snapshot(
            self.expected,
            taken_at=self.clock(),
            source=source,
            daemon_running=running,
            daemon_detail=detail,
            sas=sas,
            loaded_conns=loaded,
            links=links,
            routes=routes,
            mangle=mangle,
            rules_source=rules_source,
            heartbeat=beat,
            heartbeat_file=self.heartbeat_file,
            notes=notes,
            target=self.target,
        )

    # -- controls --------------------------------------------------------------

    def _tunnel(self, name: str) -> ExpectedTunnel:
        for tunnel in self.expected.tunnels:
            if tunnel.name == name:
                return tunnel
        raise KeyError(name)

    def _peer(self, name: str) -> str:
        peer = self._tunnel(name).aws_outside_ip
        if not peer:
            raise KeyError(f"{name}: its AWS endpoint is not known")
        return peer

    def _did(self, action: Callable[[System], None], done: str) -> str:
        """Run one key's action through the seam; say what was done, or only recorded."""
        system = self.system
        before = len(system.log)
        action(system)
        commands = "; ".join(system.log[before:]) or "nothing (already so)"
        if self.target.dry_run:
            return f"Dry run: would run {commands}. Nothing was changed."
        if self.target.root is not None:
            return f"{done} in the simulated kernel under --root {self.target.root} ({commands})"
        return done

    def initiate(self, name: str) -> str:
        """Ask charon to bring tunnel `name` up (vici `initiate`, returning at once)."""
        self._tunnel(name)
        return self._did(lambda s: s.strongswan.initiate(name),
                         f"asked strongSwan to bring {name} up")

    def terminate(self, name: str) -> str:
        """Ask charon to take tunnel `name` down (vici `terminate` of its IKE SA)."""
        self._tunnel(name)
        return self._did(lambda s: s.strongswan.terminate(name),
                         f"asked strongSwan to take {name} down")

    def block_peer(self, name: str) -> str:
        """The document's failover test: drop everything from this tunnel's VGW address, once."""
        peer = self._peer(name)
        rule = drop_rule(peer)

        def block(system: System) -> None:
            if not system.iptables.present(FAILOVER_TABLE, FAILOVER_CHAIN, rule):
                system.iptables.append(FAILOVER_TABLE, FAILOVER_CHAIN, rule)

        return self._did(block, f"dropping all packets from {peer} ({name}'s AWS endpoint)")

    def unblock_peer(self, name: str) -> str:
        """Undo `block_peer` (every copy of its rule)."""
        peer = self._peer(name)
        rule = drop_rule(peer)

        def unblock(system: System) -> None:
            # A recording System answers `present` as the box would be after what it
            # recorded, so a dry run's recorded block is undone by a recorded delete.
            for _ in range(MAX_RULE_COPIES):
                if not system.iptables.present(FAILOVER_TABLE, FAILOVER_CHAIN, rule):
                    return
                system.iptables.delete(FAILOVER_TABLE, FAILOVER_CHAIN, rule)

        return self._did(unblock, f"no longer dropping packets from {peer}")

    def peer_blocked(self, name: str) -> bool:
        """Whether the failover test's DROP rule for this tunnel is in place."""
        peer = self._tunnel(name).aws_outside_ip
        return bool(peer) and self.system.iptables.present(
            FAILOVER_TABLE, FAILOVER_CHAIN, drop_rule(peer or "")
        )

    # -- events ----------------------------------------------------------------

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        """Call `notify` on every IKE/CHILD SA up or down event until `stop` is set.

        Returns at once when there is nothing to listen to (no vici socket, a
        simulated daemon): the panel then keeps to its interval refresh.
        """
        self.readers.watch_strongswan(stop, notify)

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        """Call `notify` on every link, address or route change until `stop` is set."""
        self.readers.watch_netlink(stop, notify)


def open_status(expected: Expected, root: Root, *, dry_run: bool) -> LiveStatus:
    """The status source for a target, acting and reading only where the target allows.

    The one place that turns `--dry-run`/`--root` into a source, for the TUI
    and `vpn-wizard status` alike, with the same choice apply makes:
    `System.recording(root)` for a dry run, `System.real(root)` otherwise
    (a simulated kernel under any root but `/`); and the simulated kernel's
    readers under a root, this machine's only on `/`.
    """
    from wizard.system import System
    from wizard.system.simulated import SimStatusReaders

    system = System.recording(root) if dry_run else System.real(root)
    readers: StatusReaders = SimStatusReaders(root) if system.simulated else HostReaders()
    target = Target(dry_run=dry_run, root=None if root.is_host else str(root.root))
    return LiveStatus(
        expected,
        system=system,
        readers=readers,
        target=target,
        heartbeat_file=str(root.path(STATE_FILE)),
    )


__all__ = [
    "ChildSa",
    "EventSource",
    "Expected",
    "ExpectedTunnel",
    "HostReaders",
    "IkeSa",
    "LinkStatus",
    "LiveStatus",
    "Route",
    "RouteCheck",
    "RuleCheck",
    "StatusReaders",
    "StatusSnapshot",
    "StatusSource",
    "Target",
    "TunnelControls",
    "TunnelStatus",
    "build_snapshot",
    "diagnose",
    "expected_from_root",
    "expected_from_setup",
    "human_duration",
    "open_status",
]
