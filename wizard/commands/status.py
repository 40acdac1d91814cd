"""`vpn-wizard status`: the live panel, or `--once [--json]` for scripts and monitoring.

Exit status of `--once` (and of the panel when it quits):

* 0 — every expected tunnel is up (IKE established, CHILD SA installed);
* 1 — at least one is not, or strongSwan is not running;
* 2 — the `--answers`/`--import` inputs are unusable;
* 3 — nothing to check: no tunnel configured by vpn-wizard on this box.

Which tunnels to expect comes from `--answers`/`--import` when given, else
from the manifest of the setup vpn-wizard applied on the box
(`wizard.status.desired`, `/var/lib/vpn-wizard/applied.json`); with neither,
there is nothing to check and the output says so.

`--dry-run` and `--root DIR` are honoured as everywhere else
(`wizard.status.live.open_status`): under `--root` the simulated kernel in DIR is
read instead of this machine, and under either the panel's keys act only
through the same recording or simulated `System` as apply. The first line
of the output says which it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from wizard import inputs
from wizard.manifest import ManifestError
from wizard.safe_text import printable
from wizard.status.desired import expected_from_setup, expected_on_box
from wizard.status.diagnosis import carrier, diagnose, human_duration, ping_counts
from wizard.status.document import snapshot_json
from wizard.status.live import LiveStatus, open_status
from wizard.status.model import Expected, StatusSnapshot, TunnelStatus
from wizard.status.sources import StatusSource
from wizard.system.paths import Root

EXIT_UP = 0
EXIT_DOWN = 1
EXIT_INVALID = 2
EXIT_NOTHING = 3


class _InputProblem(Exception):
    """The inputs named on the command line cannot give a setup."""


def expected_for(args: argparse.Namespace) -> Expected:
    """The tunnels to report on, from the command line's inputs or the box's manifest.

    Raises:
        _InputProblem: an answers/import file was given but cannot be used, or
            the manifest on the box is not one this version wrote.
    """
    root = Root(getattr(args, "root", "/") or "/")
    if getattr(args, "answers", None) or getattr(args, "import_path", None):
        try:
            loaded = inputs.load(args.import_path, args.answers, root)
        except inputs.InputError as exc:
            raise _InputProblem(str(exc)) from None
        if loaded.errors:
            raise _InputProblem("; ".join(str(p) for p in loaded.errors))
        return expected_from_setup(loaded.setup)
    try:
        return expected_on_box(root)
    except ManifestError as exc:
        raise _InputProblem(str(exc)) from None


def make_source(args: argparse.Namespace) -> LiveStatus:
    """The source for the target the command line names (raises _InputProblem like
    `expected_for`): this box, a `--root` directory's simulated kernel, or a dry run."""
    root = Root(getattr(args, "root", "/") or "/")
    return open_status(expected_for(args), root, dry_run=bool(getattr(args, "dry_run", False)))


def exit_code(snapshot: StatusSnapshot) -> int:
    """The documented exit status for one snapshot."""
    if not snapshot.applied:
        return EXIT_NOTHING
    return EXIT_UP if snapshot.all_up else EXIT_DOWN


def bgp_words(snapshot: StatusSnapshot, t: TunnelStatus) -> str:
    """One tunnel's BGP session in a line: state, uptime, prefixes, neighbor."""
    peer = t.bgp
    neighbor = f"neighbor {t.expected.bgp_neighbor}"
    if peer is None:
        why = "FRR not read" if not snapshot.bgp_read else "no such neighbor in FRR"
        return f"unknown ({why}), {neighbor}"
    if not peer.established:
        return f"{peer.state}, {neighbor} AS {peer.remote_as or '?'}"
    return (f"Established {human_duration(peer.up_s)}, {peer.received} received, "
            f"{peer.sent} sent, {neighbor} AS {peer.remote_as or '?'}")


def format_text(snapshot: StatusSnapshot) -> str:
    """A few plain lines per tunnel: what an operator or a cron mail wants to read."""
    lines = []
    banner = snapshot.target.banner()
    if banner:
        lines.append(banner)
    daemon = snapshot.daemon_detail or ("running" if snapshot.daemon_running else "not running")
    lines.append(f"strongSwan: {daemon} (read via {snapshot.source})")
    for path in snapshot.in_force:
        lines.append(f"traffic to {path.dst}: {carrier(snapshot, path)}")
    for t in snapshot.tunnels:
        head = f"{t.name}: {'UP' if t.up else 'DOWN'}"
        if t.expected.aws_outside_ip:
            head += f"  peer {t.expected.aws_outside_ip}"
        lines.append(head)
        ike = t.ike
        if ike is None:
            lines.append("  IKE    down")
        else:
            since = f" {human_duration(ike.established_s)}" if ike.established_s is not None else ""
            rekey = f", rekey in {human_duration(ike.rekey_in_s)}" if ike.rekey_in_s else ""
            lines.append(f"  IKE    {ike.state}{since}{rekey}  {ike.algorithms}".rstrip())
        child = t.child
        if child is None:
            lines.append("  CHILD  none")
        else:
            lines.append(
                f"  CHILD  {child.state}  in {child.bytes_in} B"
                f"{_pkts(child.packets_in)}, out {child.bytes_out} B{_pkts(child.packets_out)}"
                f"  {child.algorithms}".rstrip()
            )
        link = t.link
        if link is None:
            lines.append(f"  VTI    {t.name} missing")
        else:
            lines.append(
                f"  VTI    {link.name} {'up' if link.up else 'DOWN'} mtu {link.mtu}  "
                f"rx {link.rx_bytes} B ({link.rx_errors} err), "
                f"tx {link.tx_bytes} B ({link.tx_errors} err)"
            )
        if t.expected.bgp_neighbor is not None:
            lines.append(f"  BGP    {bgp_words(snapshot, t)}")
        for route in t.routes:
            lines.append(f"  route  {route.dst} {'present' if route.present else 'MISSING'}")
        for rule in t.rules:
            state = {True: "present", False: "MISSING", None: "unknown"}[rule.present]
            lines.append(f"  rule   {rule.label} {state}")
        beat = t.heartbeat
        if beat is not None:
            if beat.last_reply is None:
                lines.append(f"  ping   {beat.address} no reply yet")
            else:
                ago = human_duration(snapshot.taken_at - beat.last_reply)
                rtt = f"{beat.last_rtt_ms:.1f} ms" if beat.last_rtt_ms is not None else "?"
                lines.append(
                    f"  ping   {beat.address} last reply {ago} ago, rtt {rtt}, "
                    f"{ping_counts(snapshot, beat)}"
                )
    findings = diagnose(snapshot)
    lines.append("diagnosis: all good" if not findings else "diagnosis:")
    lines.extend(f"  - {f}" for f in findings)
    return "\n".join(lines) + "\n"


def _pkts(count: int | None) -> str:
    return f" ({count} pkts)" if count is not None else ""


def run_status(
    args: argparse.Namespace,
    source: StatusSource | None = None,
    out: TextIO | None = None,
) -> int:
    """Print one snapshot (`--once`) or run the live panel.

    Args:
        args: the parsed `status` sub-command.
        source: where snapshots come from; tests inject recorded data here.
        out: where `--once` writes (stdout by default).
    """
    out = out or sys.stdout
    if source is None:
        try:
            source = make_source(args)
        except _InputProblem as exc:
            print(f"error: {printable(exc)}", file=sys.stderr)
            return EXIT_INVALID
    if not getattr(args, "once", False):
        if getattr(args, "json", False):
            print("error: --json needs --once", file=sys.stderr)
            return EXIT_INVALID
        from screens.status import StatusApp

        app = StatusApp(source)
        app.run()
        last = app.last_snapshot
        return exit_code(last) if last is not None else EXIT_DOWN
    try:
        snapshot = source.snapshot()
    finally:
        close = getattr(source, "close", None)  # a live source keeps sockets open
        if close is not None:
            close()
    if getattr(args, "json", False):
        document = snapshot_json(snapshot)
        document["exit_code"] = exit_code(snapshot)
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(printable(format_text(snapshot), keep_newlines=True))
    return exit_code(snapshot)
