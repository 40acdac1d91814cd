"""`vpn-wizard heartbeat ADDR...`: the service the plan installs, pinging AWS's inside addresses.

The pinger is the system's `ping` (one argv per ping, never a shell): it is
setuid or has the capability raw ICMP needs, which this process may lack,
and it is what the AWS document itself uses.

`--dry-run` and `--root DIR` mean what they mean everywhere else: a dry run
says what it would ping and where it would keep its state, and does
neither; under a root the state file is kept in DIR and no packet leaves
this machine (the root's kernel is simulated, with no tunnel to ping
through), so every target counts as silent.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
import signal
import sys
import time
from types import FrameType

from wizard.fields import check_interface_name
from wizard.heartbeat import Heartbeat, Pinger, concurrently
from wizard.safe_text import printable
from wizard.system.base import CommandTimeout, run_argv
from wizard.system.failover import RouteMover
from wizard.system.paths import Root

_RTT = re.compile(r"time[=<]\s*([0-9.]+)\s*ms")


def parse_ping_rtt(output: str) -> float | None:
    """The round-trip time in ms from one `ping -c 1` reply line, or None if there is none."""
    match = _RTT.search(output)
    return float(match.group(1)) if match else None


def ping_argv(address: str, timeout: float) -> list[str]:
    """One ping, waiting at most `timeout` seconds (whole seconds: older iputils want that)."""
    return ["ping", "-n", "-c", "1", "-W", str(max(1, math.ceil(timeout))), address]


def system_ping(address: str, timeout: float) -> float | None:
    """Ping once with the system's `ping`; the RTT in ms, or None when nothing answered."""
    try:
        proc = run_argv(ping_argv(address, timeout), [], check=False, timeout=timeout + 5)
    except CommandTimeout:  # a missing ping still fails loudly (HostError)
        return None
    if proc.returncode != 0:
        return None
    rtt = parse_ping_rtt(proc.stdout)
    # A reply whose time ping did not print (very old ping) still counts as a reply.
    return rtt if rtt is not None else 0.0


def no_peer(address: str, timeout: float) -> float | None:
    """The pinger under `--root`: a simulated kernel has no tunnel, so nothing ever answers."""
    return None


def _failover(specs: list[str], routes: list[str], targets: list[str]) -> RouteMover | str | None:
    """The route mover `--failover`/`--route` describe; None without them; a reason if wrong."""
    if not specs and not routes:
        return None
    if len(specs) != len(targets):
        return f"--failover: one TUNNEL:METRIC per address ({len(targets)}), got {len(specs)}"
    if not routes:
        return "--failover needs at least one --route CIDR to move"
    tunnels: dict[str, tuple[str, int]] = {}
    for address, spec in zip(targets, specs, strict=True):
        name, _, metric = spec.rpartition(":")
        if check_interface_name(name) is not None or not metric.isdigit():
            return f"--failover: {printable(spec)!r} is not TUNNEL:METRIC"
        tunnels[address] = (name, int(metric))
    cidrs = []
    for route in routes:
        try:
            cidrs.append(str(ipaddress.IPv4Network(route)))
        except ValueError:
            return f"--route: {printable(route)!r} is not an IPv4 network"
    return RouteMover(tunnels, cidrs)


def run_heartbeat(args: argparse.Namespace) -> int:
    """Ping every target each interval until SIGTERM/SIGINT; exit 0 then, 2 on bad arguments."""
    targets: list[str] = []
    for text in args.targets:
        try:
            targets.append(str(ipaddress.IPv4Address(text)))
        except ValueError:
            print(f"vpn-wizard heartbeat: {text!r} is not an IPv4 address", file=sys.stderr)
            return 2
    if not args.interval > 0:
        print("vpn-wizard heartbeat: --interval must be positive", file=sys.stderr)
        return 2
    failover = _failover(args.failover, args.route, targets)
    if isinstance(failover, str):
        print(f"vpn-wizard heartbeat: {failover}", file=sys.stderr)
        return 2
    root = Root(getattr(args, "root", "/") or "/")
    state_file = args.state_file
    pinger: Pinger = system_ping
    where = ""
    if not root.is_host:
        try:
            state_file = str(root.path(args.state_file))
        except ValueError as err:
            print(f"vpn-wizard heartbeat: --state-file under --root: {err}", file=sys.stderr)
            return 2
        pinger = no_peer
        failover = None  # no tunnel, no route to move
        where = f" (--root {root.root}: simulated, no packet is sent)"
    if getattr(args, "dry_run", False):
        print(
            f"vpn-wizard heartbeat: dry run: would ping {' '.join(targets)} every "
            f"{args.interval:g} s and keep its state in {state_file}{where}. "
            "Nothing was sent or written.",
            file=sys.stderr,
        )
        return 0

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def sleep(seconds: float) -> None:
        # Sleep in short slices so a SIGTERM ends the service promptly.
        deadline = time.monotonic() + seconds
        while not stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))

    try:
        beat = Heartbeat(
            targets,
            pinger,
            interval=args.interval,
            state_file=state_file,
            clock=time.time,
            sleep=sleep,
            reroute=failover,
            ping_all=concurrently(pinger),
        )
    except ValueError as err:
        print(f"vpn-wizard heartbeat: {printable(err)}", file=sys.stderr)
        return 2
    print(
        f"vpn-wizard heartbeat: pinging {' '.join(targets)} every {args.interval:g} s; "
        f"state in {printable(state_file)}{printable(where)}",
        file=sys.stderr,
        flush=True,
    )
    beat.run(stop=lambda: stopping)
    return 0
