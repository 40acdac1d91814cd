"""The values a status reading is made of: SAs, links, routes, rules, pings, one snapshot.

A leaf: it imports nothing of the product, so the readers in
`wizard.system` (vici, `ipsec statusall`, netlink, the simulated kernel)
can build these values without depending on how a snapshot is assembled,
diagnosed or shown. Everything here is frozen and pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["vici", "ipsec statusall", "simulated", "none"]


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


StrongswanReading = tuple[Source, bool, str, list[IkeSa], "list[str] | None"]
"""What a daemon reader returns: (source, running, detail, IKE SAs, loaded conns or None
when unknown)."""


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
class RouteInForce:
    """Where the kernel sends traffic for one VPC CIDR right now.

    The answer to an operator's first question, "which tunnel carries my
    traffic?": not which tunnels are up, but which route the kernel picks
    (longest prefix, then lowest metric) among those in the main table.

    Attributes:
        dst: the VPC CIDR.
        route: the route the kernel uses for it; None when no route covers it.
        tunnel: the expected tunnel whose VTI that route leaves by; None when
            it leaves by another interface (a default route) or there is none.
    """

    dst: str
    route: Route | None
    tunnel: str | None


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
class PingStatus:
    """The heartbeat's record of one AWS inside address, with the time its counts were made.

    The counts are the heartbeat's, over the `window` that ended when it last
    wrote its file (`counted_at`), not over the minute before this reading:
    a panel that shows them beside "last reply N s ago" must say when they
    were counted, or a stopped heartbeat's last good minute reads as now.

    Attributes:
        address: the address pinged.
        last_reply: wall-clock time of the last answered ping (None: none yet).
        last_rtt_ms: that reply's round-trip time.
        last_attempt: wall-clock time of the last ping sent.
        replies/attempts: pings answered / sent in the window.
        counted_at: when the heartbeat counted them (its file's `updated`).
        window: the window's length in seconds (60 by default).
    """

    address: str
    last_reply: float | None = None
    last_rtt_ms: float | None = None
    last_attempt: float | None = None
    replies: int = 0
    attempts: int = 0
    counted_at: float | None = None
    window: float = 60.0


@dataclass(frozen=True)
class BgpPeer:
    """One BGP neighbor as FRR reports it (`show bgp neighbors json`), for a BGP connection.

    Attributes:
        address: the neighbor, AWS's inside address of the tunnel.
        state: FRR's state name: "Established" exchanges routes; "Idle", "Connect",
            "Active" (no TCP session), "OpenSent", "OpenConfirm" on the way.
        remote_as: the ASN FRR is configured to expect there.
        up_s: seconds the session has been Established (None when it is not).
        received/sent: prefixes accepted from / announced to the neighbor.
        hold_s: the negotiated hold time.
        last_reset: FRR's reason for the last session reset ("" when none).
        last_notification: the last BGP NOTIFICATION's reason ("" when none).
        policy_missing: "inbound"/"outbound"/both when FRR discards updates for want
            of a policy (`bgp ebgp-requires-policy`), else "".
    """

    address: str
    state: str
    remote_as: int | None = None
    up_s: int | None = None
    received: int | None = None
    sent: int | None = None
    hold_s: int | None = None
    last_reset: str = ""
    last_notification: str = ""
    policy_missing: str = ""

    @property
    def established(self) -> bool:
        return self.state == "Established"


BgpReading = tuple[bool, str, "dict[str, BgpPeer]"]
"""What the BGP reader returns: (FRR answered, why not or "", neighbor address -> peer)."""


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
    bgp_neighbor: str | None = None
    """With BGP: AWS's inside address, FRR's neighbor over this tunnel (None: static)."""
    bgp_remote_as: int | None = None
    """With BGP: AWS's ASN, as the wizard configured it."""


@dataclass(frozen=True)
class Expected:
    """The tunnels to check, and where that list came from.

    Attributes:
        origin: "manifest" (the setup vpn-wizard applied on this box),
            "answers" (--answers/--import) or "none" (nothing to check).
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
    heartbeat: PingStatus | None = None
    link_read: bool = True
    """False when netlink could not be read, so a missing `link` means "unknown"."""
    bgp: BgpPeer | None = None
    """With BGP: FRR's neighbor over this tunnel (None: no BGP, FRR unread, or no such
    neighbor; `StatusSnapshot.bgp_read` tells which)."""

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
    def ipsec_up(self) -> bool:
        """IKE established and a CHILD SA installed."""
        return self.ike_state == "ESTABLISHED" and self.ike is not None and (
            self.ike.installed_child is not None
        )

    @property
    def up(self) -> bool:
        """Carrying traffic: IPsec up, and with BGP its session Established too.

        AWS counts a tunnel of a BGP connection UP, and routes over it, only
        once BGP is Established over it; so does this status.
        """
        if self.expected.bgp_neighbor is not None:
            return self.ipsec_up and self.bgp is not None and self.bgp.established
        return self.ipsec_up


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


THIS_BOX = Target()
"""This machine's own tunnels: the default target, live keys."""


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
        rules_watch: how a change of the rules is told between two runs of that
            command on this box: "nftables generation (NFT_MSG_GETGEN)", "the legacy
            mangle table's content (IPT_SO_GET_ENTRIES)", or "none: ... runs at
            every refresh (why)"; empty where it does not apply (--root, no tunnels).
        heartbeat_file: where the heartbeat state was looked for.
        heartbeat_updated: when the heartbeat last wrote it (None: no file).
        heartbeat_interval: the heartbeat's own interval, to judge staleness.
        in_force: per VPC CIDR, the route the kernel uses now (empty when the
            routes could not be read).
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
    rules_watch: str = ""
    heartbeat_file: str = ""
    heartbeat_updated: float | None = None
    heartbeat_interval: float | None = None
    in_force: tuple[RouteInForce, ...] = ()
    notes: tuple[str, ...] = ()
    target: Target = THIS_BOX
    bgp_read: bool | None = None
    """With BGP: whether FRR answered (None: not a BGP setup, or not asked)."""
    bgp_detail: str = ""
    """Why FRR did not answer."""

    @property
    def applied(self) -> bool:
        """Whether the wizard has configured any tunnel to look at."""
        return bool(self.expected.tunnels)

    @property
    def all_up(self) -> bool:
        """Every expected tunnel carries traffic (False when none is expected)."""
        return self.applied and all(t.up for t in self.tunnels)
