"""The live status of both tunnels and the heartbeat, side by side.

`StatusScreen` shows what a `wizard.status.StatusSource` reads: per tunnel
the IKE and CHILD SAs, the VTI, its routes and mangle rules, the heartbeat,
and a sparkline of the traffic through it; under them, `diagnose`'s findings
in the operator's words.

It is pushed rather than polled where the source allows: a `LiveStatus`
source listens for strongSwan's `ike-updown`/`child-updown` events over vici
and for the kernel's link/address/route events on a bound netlink socket,
each in a worker thread that posts `StatusChanged` to the screen; a modest
interval refresh keeps the counters and the heartbeat moving and stands in
for the events where there are none (no vici socket). Snapshots are read in
a worker thread too, so a slow `iptables` never freezes the keys.

Keys bring the selected tunnel up or down (vici initiate/terminate) and run
the AWS document's failover test (DROP everything from the tunnel's VGW
address), each behind a confirmation. The source carries them out through
the same `System` as apply, so after a dry run they only record, and under
`--root` they change only that directory's simulated kernel; a banner under
the title and every confirmation say so (`wizard.status.Target`).
`StatusApp` is `vpn-wizard status`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.filter import LineFilter
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from screens.dialogs import ConfirmDialog, HelpDialog
from screens.safe import TerminalSafeFilter
from wizard.status.diagnosis import (
    carrier,
    diagnose,
    heartbeat_silence_limit,
    human_duration,
    ping_counts,
)
from wizard.status.model import StatusSnapshot, TunnelStatus
from wizard.status.sources import EventSource, StatusSource, TunnelControls

HISTORY = 60
"""Traffic samples kept per tunnel for its sparkline (five minutes at the default interval)."""


def human_bytes(count: float) -> str:
    """"252 B", "5.3 kB", "1.2 MB": decimal units, as `ip -s -h link` prints them."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def tunnel_label(index: int) -> str:
    return f"Tunnel {index + 1}"


MEASURING = "traffic: measuring (a rate needs two readings)"


def _not_applied(snapshot: StatusSnapshot) -> bool:
    """A dry run on a box where nothing runs: no tunnel is expected to be up."""
    return snapshot.target.dry_run and not snapshot.daemon_running


class TunnelPanel(Vertical):
    """One tunnel's column: its state in words, then a sparkline of its traffic."""

    DEFAULT_CSS = """
    TunnelPanel {
        width: 1fr;
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    TunnelPanel.-selected {
        border: round $accent;
    }
    TunnelPanel.-down {
        border-title-color: $error;
    }
    TunnelPanel .tunnel-body {
        height: auto;
    }
    TunnelPanel .traffic-caption {
        height: auto;
        margin-top: 1;
        color: $text-muted;
    }
    TunnelPanel Sparkline {
        height: 2;
        margin: 0;
    }
    """

    def __init__(self, index: int, name: str) -> None:
        super().__init__(id=f"tunnel-{index + 1}")
        self.index = index
        self.border_title = f"{tunnel_label(index)} · {name}"

    def compose(self) -> ComposeResult:
        yield Static("", classes="tunnel-body")
        yield Static(MEASURING, classes="traffic-caption")
        graph = Sparkline([], summary_function=max)
        graph.display = False
        yield graph

    def show(self, snapshot: StatusSnapshot, tunnel: TunnelStatus, rates: list[float]) -> None:
        """Render one tunnel of one snapshot, and its traffic history.

        A rate needs two readings and a graph two rates: until then the
        caption says it is measuring, rather than a flat "0 B/s" block
        claiming there is no traffic.
        """
        not_applied = _not_applied(snapshot)
        self.set_class(not tunnel.up and not not_applied, "-down")
        self.border_subtitle = "not applied" if not_applied else ("UP" if tunnel.up else "DOWN")
        self.query_one(".tunnel-body", Static).update(tunnel_details(snapshot, tunnel))
        graph = self.query_one(Sparkline)
        if len(rates) < 2:
            caption = MEASURING
            graph.display = False
        else:
            caption = (f"traffic now {human_bytes(rates[-1])}/s · "
                       f"peak {human_bytes(max(rates))}/s")
            graph.data = rates
            graph.display = True
        self.query_one(".traffic-caption", Static).update(caption)


def _ok(flag: bool | None) -> Text:
    if flag is None:
        return Text("?", style="yellow")
    return Text("✓", style="green") if flag else Text("✗", style="bold red")


def tunnel_details(snapshot: StatusSnapshot, t: TunnelStatus) -> Table:
    """The words of one panel: a two-column table, label and value."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    not_applied = _not_applied(snapshot)
    if not_applied:
        state = Text("○ not applied (dry run)", style="bold")
    else:
        state = Text("● UP", style="bold green") if t.up else Text("● DOWN", style="bold red")
    table.add_row("State", state)
    table.add_row("AWS", t.expected.aws_outside_ip or "?")

    ike = t.ike
    if not_applied:
        table.add_row("IKE", Text("none: nothing was applied", style="dim"))
    elif not snapshot.daemon_running:
        table.add_row("IKE", Text("strongSwan not running", style="red"))
    elif ike is None:
        table.add_row("IKE", Text("down (no SA)", style="red"))
    else:
        style = "green" if ike.state == "ESTABLISHED" else "yellow"
        words = Text(ike.state, style=style)
        if ike.established_s is not None:
            words.append(f" {human_duration(ike.established_s)}")
        if ike.rekey_in_s:
            words.append(f" · rekey in {human_duration(ike.rekey_in_s)}", style="dim")
        table.add_row("IKE", words)
        if ike.algorithms:
            table.add_row("", Text(ike.algorithms, style="dim"))

    child = t.child
    if child is None:
        table.add_row("CHILD", Text("none", style="red" if ike is not None else "dim"))
    else:
        style = "green" if child.state == "INSTALLED" else "yellow"
        words = Text(child.state, style=style)
        if child.installed_s is not None:
            words.append(f" {human_duration(child.installed_s)}")
        if child.rekey_in_s:
            words.append(f" · rekey in {human_duration(child.rekey_in_s)}", style="dim")
        table.add_row("CHILD", words)
        if child.algorithms:
            table.add_row("", Text(child.algorithms, style="dim"))
        pin = f" ({child.packets_in} pkts)" if child.packets_in is not None else ""
        pout = f" ({child.packets_out} pkts)" if child.packets_out is not None else ""
        table.add_row(
            "", f"in {human_bytes(child.bytes_in)}{pin} · out {human_bytes(child.bytes_out)}{pout}"
        )

    link = t.link
    if link is None:
        missing = "not present (created when the tunnel comes up)" if (
            t.expected.mode == "updown" and not t.ipsec_up) else "missing"
        table.add_row("VTI", Text(f"{t.name} {missing}", style="dim" if "created" in missing
                                  else "red"))
    else:
        words = Text(f"{link.name} ")
        words.append("up" if link.up else "down", style="green" if link.up else "bold red")
        words.append(f" · mtu {link.mtu}")
        if link.ikey is not None:
            words.append(f" · key {link.ikey}")
        table.add_row("VTI", words)
        table.add_row(
            "",
            f"rx {human_bytes(link.rx_bytes)} · tx {human_bytes(link.tx_bytes)} · "
            f"errors {link.rx_errors}/{link.tx_errors}",
        )

    if t.expected.bgp_neighbor is not None and not not_applied:
        peer = t.bgp
        if peer is None:
            table.add_row("BGP", Text("unknown: FRR not read" if not snapshot.bgp_read
                                      else f"no neighbor {t.expected.bgp_neighbor} in FRR",
                                      style="red"))
        else:
            words = Text(peer.state, style="green" if peer.established else "bold red")
            if peer.established:
                words.append(f" {human_duration(peer.up_s)} · {peer.received} in · "
                             f"{peer.sent} out")
            words.append(f" · {peer.address} AS {peer.remote_as or '?'}", style="dim")
            table.add_row("BGP", words)

    if t.routes:
        routes = Text()
        for i, route in enumerate(t.routes):
            if i:
                routes.append(" · ")
            routes.append(f"{route.dst} ")
            routes.append_text(_ok(route.present))
        table.add_row("Routes", routes)
    if t.rules:
        rules = Text()
        for i, rule in enumerate(t.rules):
            if i:
                rules.append(" · ")
            rules.append(f"{rule.label} ")
            rules.append_text(_ok(rule.present))
        table.add_row("Mangle", rules)

    beat = t.heartbeat
    if beat is not None:
        words = Text(f"{beat.address} ")
        if beat.last_reply is None:
            words.append("no reply yet", style="red")
        else:
            silent = snapshot.taken_at - beat.last_reply
            late = silent > heartbeat_silence_limit(snapshot.heartbeat_interval)
            rtt = f"{beat.last_rtt_ms:.1f} ms" if beat.last_rtt_ms is not None else "?"
            words.append(f"{rtt} · last reply {human_duration(silent)} ago",
                         style="bold red" if late else "")
        words.append(f" · {ping_counts(snapshot, beat)}", style="dim")
        table.add_row("Ping", words)
    elif t.expected.aws_inside_ip:
        table.add_row("Ping", Text(f"{t.expected.aws_inside_ip} not pinged", style="dim"))
    return table


def headline(snapshot: StatusSnapshot) -> Text:
    """One line on where the numbers come from, so an operator knows what to trust."""
    text = Text()
    if _not_applied(snapshot):
        text.append("strongSwan: not started here", style="bold")
        text.append(" (not needed: a dry run applied nothing)")
    elif snapshot.daemon_running:
        text.append(snapshot.daemon_detail or "strongSwan", style="bold")
        text.append(f" via {snapshot.source}")
    else:
        text.append("strongSwan not running", style="bold red")
        if snapshot.daemon_detail:
            text.append(f" ({snapshot.daemon_detail})")
    if snapshot.applied:
        text.append(f" · rules via {snapshot.rules_source}", style="dim")
        text.append(f" · tunnels from {snapshot.expected.origin}", style="dim")
    return text


def traffic_text(snapshot: StatusSnapshot) -> Text:
    """Which tunnel carries the VPC's traffic now: the route the kernel uses, per CIDR."""
    text = Text()
    if not snapshot.applied or _not_applied(snapshot):
        return text
    if not snapshot.in_force:
        return Text("Traffic: the routing table could not be read.", style="yellow")
    up = {t.name: t.up for t in snapshot.tunnels}
    for i, path in enumerate(snapshot.in_force):
        if i:
            text.append("\n")
        text.append(f"Traffic to {path.dst} → ", style="bold")
        dropped = path.route is None or (path.tunnel is not None and not up.get(path.tunnel))
        text.append(carrier(snapshot, path), style="bold red" if dropped else "bold green")
        if path.tunnel is not None and not up.get(path.tunnel):
            text.append(" — down: this traffic is dropped", style="bold red")
        elif path.route is not None and path.tunnel is None:
            text.append(" — it does not reach the VPC", style="bold red")
    return text


def diagnosis_text(snapshot: StatusSnapshot) -> Text:
    findings = diagnose(snapshot)
    if not findings:
        return Text("✓ Both tunnels up; nothing to report.", style="green")
    text = Text()
    for i, finding in enumerate(findings):
        if i:
            text.append("\n")
        text.append("• ", style="bold red")
        text.append(finding)
    return text


@dataclass
class StatusChanged(Message):
    """Something changed on the box (a vici or netlink event): read a fresh snapshot."""

    reason: str


@dataclass
class SnapshotRead(Message):
    """A worker thread finished reading a snapshot."""

    snapshot: StatusSnapshot


@dataclass
class ActionDone(Message):
    """A key's action (up, down, failover) finished, with what to tell the operator."""

    notice: str
    error: bool = False


class StatusScreen(Screen[None]):
    """Both tunnels side by side, live.

    Args:
        source: where snapshots come from (`LiveStatus`, or recorded data in tests).
        refresh_interval: seconds between refreshes besides the event-driven
            ones; None for none (tests, where the data never changes).
        threaded: read snapshots and run actions in worker threads (the real
            source); False reads in the event loop, for deterministic tests.
        watch: listen for vici/netlink events when the source offers them.
        can_go_back: pushed over the wizard, so Escape and ctrl+p return to it
            (`vpn-wizard status` on its own has nowhere to go back to).
    """

    DEFAULT_CSS = """
    StatusScreen {
        layout: vertical;
    }
    StatusScreen #status-title {
        height: 1;
        text-style: bold;
        background: $panel;
        padding: 0 1;
    }
    StatusScreen #status-body {
        height: 1fr;
    }
    StatusScreen #status-head, StatusScreen #status-traffic {
        height: auto;
        padding: 0 1;
    }
    StatusScreen #status-traffic.-empty {
        display: none;
    }
    StatusScreen #status-target {
        height: auto;
        padding: 0 1;
        color: $warning;
        text-style: bold;
    }
    StatusScreen #status-target.-live {
        display: none;
    }
    StatusScreen #tunnels {
        height: auto;
    }
    StatusScreen #nothing-applied {
        height: auto;
        padding: 1 2;
    }
    StatusScreen #diagnosis {
        height: auto;
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1;
    }
    StatusScreen #notice.-empty {
        display: none;
    }
    StatusScreen #notice {
        height: auto;
        max-height: 3;
        padding: 0 1;
        color: $text-muted;
    }
    """

    TUNNEL_KEYS = Binding.Group("Tunnel", compact=True)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+p", "back", "Back", show=False),
        Binding("1", "select(0)", "Tunnel 1", group=TUNNEL_KEYS),
        Binding("2", "select(1)", "Tunnel 2", group=TUNNEL_KEYS),
        Binding("u", "bring_up", "Up"),
        Binding("d", "take_down", "Down"),
        Binding("f", "failover", "Failover"),
        Binding("r", "refresh", "Refresh"),
        Binding("f1", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
        # The wizard's own keys mean nothing here: shadowed, so the footer does not offer
        # them (ctrl+q stays Quit, but the footer already shows q).
        Binding("ctrl+n", "app.bell", show=False),
        Binding("ctrl+s", "app.bell", show=False),
        Binding("ctrl+q", "app.quit", "Quit", show=False, priority=True),
    ]

    snapshot: reactive[StatusSnapshot | None] = reactive(None, init=False)
    """The latest reading; every panel is redrawn from it."""
    selected: reactive[int] = reactive(0, init=False)
    """Index of the tunnel the keys act on."""

    def __init__(
        self,
        source: StatusSource,
        *,
        refresh_interval: float | None = 5.0,
        threaded: bool = True,
        watch: bool = True,
        can_go_back: bool = False,
    ) -> None:
        super().__init__(id="live-status-panel")
        self.source = source
        self.can_go_back = can_go_back
        self.refresh_interval = refresh_interval
        self.threaded = threaded
        self.watch_events = watch
        self._stop = threading.Event()
        self._history: dict[str, deque[float]] = {}
        self._last_bytes: dict[str, tuple[float, int]] = {}
        self._blocked: set[str] = set()
        self._refresh_pending = False
        self._layout: tuple[str, ...] | None = None
        self._columns_mounting = False
        """New tunnel columns are mounted but not composed yet: they are drawn after refresh."""

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The title and the footer stay; everything between scrolls, so at 80x24
        # nothing is cut off and every key stays in sight.
        yield Static("vpn-wizard · tunnel status", id="status-title")
        with VerticalScroll(id="status-body"):
            yield Static("", id="status-target", classes="-live")
            yield Static(Text("Reading the tunnels…", style="dim"), id="status-head")
            yield Static("", id="status-traffic", classes="-empty")
            yield Horizontal(id="tunnels")
            yield Static("", id="diagnosis")
        # What the last key did stays in sight, whatever the scroll.
        yield Static("", id="notice", classes="-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#diagnosis", Static).border_title = "Diagnosis"
        self.query_one("#status-body", VerticalScroll).focus()
        # The first reading goes where every other one goes: a worker thread for
        # a live source, so it is read exactly as the tenth is (and a slow iptables
        # cannot hold the first frame).
        self.action_refresh()
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self.action_refresh)
        if self.watch_events and isinstance(self.source, EventSource):
            self._watch(self.source.watch_strongswan, "vici")
            self._watch(self.source.watch_netlink, "netlink")

    def on_unmount(self) -> None:
        self._stop.set()
        close = getattr(self.source, "close", None)  # a live source keeps sockets open
        if close is not None:
            close()

    # -- reading -----------------------------------------------------------------

    def action_refresh(self) -> None:
        """Read a fresh snapshot (in a worker thread for a live source)."""
        if self.threaded:
            self._read_in_thread()
        else:
            self._apply(self.source.snapshot())

    @work(thread=True, exclusive=True, group="status-read")
    def _read_in_thread(self) -> None:
        self.post_message(SnapshotRead(self.source.snapshot()))

    def _watch(self, watcher: Callable[[threading.Event, Callable[[str], None]], None],
               name: str) -> None:
        def notify(reason: str) -> None:
            self.post_message(StatusChanged(reason))

        def run() -> None:
            try:
                watcher(self._stop, notify)
            except Exception as err:  # an event source failing leaves the interval refresh
                self.post_message(ActionDone(f"{name} events unavailable: {err}", error=True))

        self.run_worker(run, thread=True, group=f"status-{name}", name=f"{name} events")

    @on(StatusChanged)
    def _changed(self, event: StatusChanged) -> None:
        # Events come in bursts (IKE down, CHILD down, route gone): read once per burst.
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(0.2, self._refresh_after_event)

    def _refresh_after_event(self) -> None:
        self._refresh_pending = False
        self.action_refresh()

    @on(SnapshotRead)
    def _snapshot_read(self, event: SnapshotRead) -> None:
        self._apply(event.snapshot)

    def _apply(self, snapshot: StatusSnapshot) -> None:
        current = self.snapshot
        if current is not None and snapshot.taken_at < current.taken_at:
            return  # a slower, older reading finishing after a newer one
        for t in snapshot.tunnels:
            self._sample(snapshot.taken_at, t)
        self.snapshot = snapshot

    def _sample(self, when: float, t: TunnelStatus) -> None:
        """Turn the byte counters of two readings into a rate for the sparkline."""
        child = t.child
        if child is not None:
            total = child.bytes_in + child.bytes_out
        elif t.link is not None:
            total = t.link.rx_bytes + t.link.tx_bytes
        else:
            total = 0
        history = self._history.setdefault(t.name, deque(maxlen=HISTORY))
        last = self._last_bytes.get(t.name)
        self._last_bytes[t.name] = (when, total)
        if last is None or when <= last[0]:
            return
        # A new CHILD SA starts its counters at zero: count that as no traffic, not negative.
        history.append(max(0, total - last[1]) / (when - last[0]))

    # -- drawing -----------------------------------------------------------------

    def watch_snapshot(self, snapshot: StatusSnapshot | None) -> None:
        if snapshot is None:
            return
        banner = snapshot.target.banner()
        target = self.query_one("#status-target", Static)
        target.set_class(banner is None, "-live")
        target.update(Text(banner or ""))
        title = "vpn-wizard · tunnel status"
        if snapshot.target.dry_run:
            title += " · DRY RUN"
        elif snapshot.target.root is not None:
            title += f" · --root {snapshot.target.root}"
        self.query_one("#status-title", Static).update(Text(title))
        self.query_one("#status-head", Static).update(headline(snapshot))
        traffic = traffic_text(snapshot)
        traffic_line = self.query_one("#status-traffic", Static)
        traffic_line.set_class(not traffic.plain, "-empty")
        traffic_line.update(traffic)
        container = self.query_one("#tunnels", Horizontal)
        layout = tuple(t.name for t in snapshot.tunnels)
        if layout != self._layout:
            # First reading, or the set of tunnels changed: rebuild the columns.
            self._layout = layout
            container.remove_children()
            if layout:
                container.mount_all(TunnelPanel(i, n) for i, n in enumerate(layout))
            else:
                container.mount(Static(_nothing_applied_text(), id="nothing-applied"))
            self._columns_mounting = True
            self.call_after_refresh(self._draw_mounted_panels)
        elif not self._columns_mounting:
            self._draw_panels()
        # else: a reading that came before the new columns were composed (a quick second
        # refresh) is drawn by the pending draw, which shows the latest snapshot
        self.query_one("#diagnosis", Static).update(diagnosis_text(snapshot))

    def _draw_mounted_panels(self) -> None:
        self._columns_mounting = False
        self._draw_panels()

    def _draw_panels(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        for panel in self.query(TunnelPanel):
            if panel.index < len(snapshot.tunnels):
                t = snapshot.tunnels[panel.index]
                panel.show(snapshot, t, list(self._history.get(t.name, ())))
                panel.set_class(panel.index == self.selected, "-selected")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer Back only where there is a wizard to go back to."""
        if action == "back":
            return self.can_go_back
        return True

    def action_back(self) -> None:
        """Escape / ctrl+p: back to the wizard's last step, the panel closed."""
        if self.can_go_back:
            self.dismiss(None)

    def action_help(self) -> None:
        """F1: what the panel shows and what each key does."""
        self.app.push_screen(HelpDialog("Help · live status", HELP))

    def watch_selected(self, selected: int) -> None:
        for panel in self.query(TunnelPanel):
            panel.set_class(panel.index == selected, "-selected")

    def _notice(self, text: str, error: bool = False) -> None:
        notice = self.query_one("#notice", Static)
        notice.set_class(not text, "-empty")
        notice.update(Text(text, style="bold red" if error else ""))

    # -- keys --------------------------------------------------------------------

    def action_select(self, index: int) -> None:
        """Choose the tunnel the other keys act on."""
        snapshot = self.snapshot
        if snapshot is not None and index < len(snapshot.tunnels):
            self.selected = index

    def _target(self) -> TunnelStatus | None:
        snapshot = self.snapshot
        if snapshot is None or not snapshot.tunnels:
            self._notice("No tunnel to act on: nothing has been applied yet.", error=True)
            return None
        if not isinstance(self.source, TunnelControls):
            self._notice("This view shows recorded data; it cannot change the tunnels.",
                         error=True)
            return None
        return snapshot.tunnels[min(self.selected, len(snapshot.tunnels) - 1)]

    def action_bring_up(self) -> None:
        """Ask strongSwan to bring the selected tunnel up, after a confirmation."""
        tunnel = self._target()
        if tunnel is None:
            return
        body = Text(f"strongSwan will initiate {tunnel.name} to "
                    f"{tunnel.expected.aws_outside_ip or 'its AWS endpoint'} now.")
        self._confirm(f"Bring {tunnel.name} up?", body, "Bring up",
                      lambda: self.source.initiate(tunnel.name))  # type: ignore[attr-defined]

    def action_take_down(self) -> None:
        """Ask strongSwan to take the selected tunnel down, after a confirmation."""
        tunnel = self._target()
        if tunnel is None:
            return
        body = Text(
            f"strongSwan will delete {tunnel.name}'s IKE and CHILD SAs. Traffic to the VPC "
            "moves to the other tunnel if it is up. The tunnel stays down until you bring it "
            "up again (u) or strongSwan restarts."
        )
        self._confirm(f"Take {tunnel.name} down?", body, "Take down",
                      lambda: self.source.terminate(tunnel.name))  # type: ignore[attr-defined]

    def action_failover(self) -> None:
        """The document's failover test on the selected tunnel, or its undo."""
        tunnel = self._target()
        if tunnel is None:
            return
        peer = tunnel.expected.aws_outside_ip
        if not peer:
            self._notice(f"{tunnel.name}'s AWS endpoint is unknown.", error=True)
            return
        source = self.source
        if tunnel.name in self._blocked:
            body = Text(f"Removes the rule that drops packets from {peer}:\n"
                        f"iptables -D INPUT -s {peer} -j DROP")
            self._confirm(f"End the failover test on {tunnel.name}?", body, "Unblock",
                          lambda: source.unblock_peer(tunnel.name),  # type: ignore[attr-defined]
                          lambda: self._blocked.discard(tunnel.name))
            return
        body = Text.assemble(
            "The AWS document's failover test: drop every packet from this tunnel's VGW "
            "address, as in\n",
            (f"iptables -A INPUT -s {peer} -j DROP\n", "bold"),
            f"{tunnel.name} goes down once dead peer detection gives up (DPD: up to "
            "40 s) and traffic should move to the other tunnel. Press f again to remove "
            "the rule.",
        )
        self._confirm(f"Block {peer} ({tunnel.name})?", body, "Block",
                      lambda: source.block_peer(tunnel.name),  # type: ignore[attr-defined]
                      lambda: self._blocked.add(tunnel.name))

    def _confirm(self, title: str, body: Text, yes: str, action: Callable[[], str],
                 after: Callable[[], None] | None = None) -> None:
        snapshot = self.snapshot
        target = snapshot.target if snapshot is not None else None
        if target is not None and target.dry_run:
            # Say it before the question, not after: nothing will run.
            title = f"Dry run: {title[0].lower()}{title[1:]}"
            body = Text.assemble(
                ("Dry run: nothing will be done. The command is only recorded and "
                 "shown.\n\n", "bold"), body)
            yes = "Show command"
        elif target is not None and target.root is not None:
            body = Text.assemble(
                (f"--root {target.root}: this changes only the simulated kernel kept "
                 "there, not this machine.\n\n", "bold"), body)

        def answered(confirmed: bool | None) -> None:
            if not confirmed:
                self._notice("Nothing was changed.")
                return
            self._notice(f"{title.rstrip('?')}…")
            if self.threaded:
                self._run_action(action, after)
            else:
                self._finish(action, after)

        self.app.push_screen(ConfirmDialog(title, body, yes=yes, no="Cancel",
                                           dialog_id="status-confirm"), answered)

    @work(thread=True, group="status-action")
    def _run_action(self, action: Callable[[], str], after: Callable[[], None] | None) -> None:
        try:
            notice = action()
        except Exception as err:  # vici/iptables refusals: show them, the panel stays up
            self.post_message(ActionDone(f"failed: {err}", error=True))
            return
        if after is not None:
            self.app.call_from_thread(after)
        self.post_message(ActionDone(notice))

    def _finish(self, action: Callable[[], str], after: Callable[[], None] | None) -> None:
        try:
            notice = action()
        except Exception as err:
            self._notice(f"failed: {err}", error=True)
            return
        if after is not None:
            after()
        self._notice(notice)
        self.action_refresh()

    @on(ActionDone)
    def _action_done(self, event: ActionDone) -> None:
        self._notice(event.notice, event.error)
        if not event.error:
            self.action_refresh()


HELP = Text.assemble(
    ("What you see\n", "bold"),
    "Where the VPC's traffic goes now (the route the kernel uses), then both tunnels side "
    "by side: IKE and CHILD SAs, the tunnel interface (VTI), routes, mangle rules, the "
    "heartbeat's pings and the traffic. Under them, what is wrong, in plain words.\n\n",
    ("Keys\n", "bold"),
    "1, 2      choose the tunnel the other keys act on\n"
    "u, d      bring it up / take it down (asks first)\n"
    "f         the AWS document's failover test: drop its VGW's packets; f again undoes it\n"
    "r         read again now (it refreshes on its own on every change, and every 5 s)\n"
    "↑ ↓ PgUp PgDn  scroll\n"
    "Escape    back to the wizard (when opened from it)\n"
    "q         quit",
)


def _nothing_applied_text() -> Text:
    return Text.assemble(
        ("No tunnels configured by vpn-wizard on this box yet.\n\n", "bold"),
        "No setup applied by vpn-wizard on this box: give --import or --answers "
        "(vpn-wizard status --answers FILE), or run vpn-wizard to apply one; both "
        "tunnels appear here once it is applied.",
    )


class StatusApp(App[int]):
    """`vpn-wizard status` on its own: the status screen, with the wizard's stylesheet."""

    CSS_PATH = "app.tcss"
    TITLE = "vpn-wizard status"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True)
    ]

    def __init__(
        self,
        source: StatusSource,
        *,
        refresh_interval: float | None = 5.0,
        threaded: bool = True,
        watch: bool = True,
    ) -> None:
        super().__init__()
        self.source = source
        self.status_screen = StatusScreen(
            source, refresh_interval=refresh_interval, threaded=threaded, watch=watch
        )

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the one that keeps control bytes off the terminal."""
        return [*super().get_line_filters(), TerminalSafeFilter()]

    @property
    def last_snapshot(self) -> StatusSnapshot | None:
        """The latest reading, for the exit status of `vpn-wizard status`."""
        return self.status_screen.snapshot

    def on_mount(self) -> None:
        self.push_screen(self.status_screen)


__all__ = ["StatusApp", "StatusChanged", "StatusScreen", "TunnelPanel", "human_bytes"]
