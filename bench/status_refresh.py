"""What one status refresh costs, beside what reading the same by hand costs.

Prints, from one run on this box:

* the CPU time (this process plus its children) of one `LiveStatus.snapshot()`
  for two tunnels, in the steady state of the status panel, which keeps one
  source: vici over a kept session (or `ipsec statusall` when there is no
  vici socket), netlink dumps only after the kernel announced a change (else
  the counters from /proc/net/dev), `iptables -t mangle -S` only after the
  kernel's mangle table changed, the heartbeat file;
* the CPU time of the hand-made alternative: `ipsec statusall` plus
  `ip -s link`, run once each;
* their ratio. Both are measured in alternating batches (`--batches`; each
  `--refreshes` refreshes, then `--rounds` runs by hand: a refresh is cheap
  enough that a few calls would be below the clock's resolution under UML),
  so a change in the machine's load hits both; the medians over the batches
  are printed, and this kernel's load average beside them.
* the resident memory of the status panel (`StatusApp`, headless, with the
  live source and its event watchers running).

Run it where the tunnels are (`tests/lab/test_status_lab.py` runs it inside
the lab with both tunnels up), or anywhere else: on a box with no tunnels it
reads the two tunnels of an answers file if one is given, else two lab-like
tunnels that do not exist, which still exercises every reader. The first
line says which.

    python bench/status_refresh.py [--answers FILE] [--rounds N] [--refreshes N] [--batches N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wizard.status.desired import expected_on_box
from wizard.status.live import LiveStatus
from wizard.status.model import Expected, ExpectedTunnel
from wizard.system.paths import Root


def _cpu() -> float:
    """CPU seconds used so far by this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _stand_in() -> Expected:
    """Two tunnels shaped like the seed's, at documentation addresses."""
    return Expected(
        (
            ExpectedTunnel("Tunnel1", "198.51.100.1", "169.254.23.5", 100, ("203.0.113.0/24",),
                           (("INPUT", ("-p", "esp", "-s", "198.51.100.1", "-d",
                                       "198.51.100.10", "-j", "MARK", "--set-xmark", "100")),)),
            ExpectedTunnel("Tunnel2", "198.51.100.2", "169.254.22.73", 200, ("203.0.113.0/24",),
                           (("INPUT", ("-p", "esp", "-s", "198.51.100.2", "-d",
                                       "198.51.100.10", "-j", "MARK", "--set-xmark", "200")),)),
        ),
        "bench stand-in",
    )


def _expected(args: argparse.Namespace) -> tuple[Expected, str]:
    if args.answers:
        from wizard import inputs
        from wizard.status.desired import expected_from_setup

        loaded = inputs.load(None, args.answers, Root("/"))
        return expected_from_setup(loaded.setup), f"the tunnels of {args.answers}"
    found = expected_on_box(Root("/"))
    if found.tunnels:
        return found, "the tunnels configured on this box"
    return _stand_in(), "two stand-in tunnels (none configured on this box)"


def _measure(func, rounds: int, warm: bool = True) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(CPU ms, wall ms) per call, averaged over `rounds` calls (after one warm-up call)."""
    if warm:
        func()
    cpu0, wall0 = _cpu(), time.perf_counter()
    for _ in range(rounds):
        func()
    return (_cpu() - cpu0) * 1000 / rounds, (time.perf_counter() - wall0) * 1000 / rounds


def _by_hand() -> None:
    for argv in (["ipsec", "statusall"], ["ip", "-s", "link"]):
        subprocess.run(argv, capture_output=True, check=False, stdin=subprocess.DEVNULL)


PANEL = """
import resource, sys
sys.path.insert(0, {repo!r})
from screens.status import StatusApp
from wizard.status.live import LiveStatus
import bench.status_refresh as b
expected = b._expected(b._parse(sys.argv[1:]))[0]
app = StatusApp(LiveStatus(expected), refresh_interval=1.0)
def done():
    rss = [l for l in open('/proc/self/status') if l.startswith(('VmRSS', 'VmHWM'))]
    app.exit(message=''.join(rss))
app.call_later(lambda: app.set_timer({seconds}, done))
app.run(headless=True, size=(120, 36))
print(app.return_value if app.return_value is not None else '', end='')
"""


def _panel_memory(args: argparse.Namespace, seconds: float = 3.0) -> str:
    """The panel's resident memory after `seconds` live, measured in a process of its own."""
    repo = str(Path(__file__).resolve().parents[1])
    argv = [sys.executable, "-c", PANEL.format(repo=repo, seconds=seconds)]
    if args.answers:
        argv += ["--answers", args.answers]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                          cwd=repo)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Vm")]
    if not lines:
        return f"(panel did not report: {(proc.stderr or proc.stdout).strip()[-300:]})"
    return ", ".join(" ".join(line.split()) for line in lines)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--answers", help="read the tunnels of this answers file")
    parser.add_argument("--rounds", type=int, default=10, help="runs by hand per batch")
    parser.add_argument("--refreshes", type=int, default=100, help="refreshes per batch")
    parser.add_argument("--batches", type=int, default=5,
                        help="alternating batches of each; medians are printed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    expected, what = _expected(args)
    source = LiveStatus(expected)
    first = source.snapshot()
    up = sum(t.up for t in first.tunnels)
    print(f"reading {what}; "
          f"strongSwan {'running' if first.daemon_running else 'not running'}, "
          f"read via {first.source}; tunnels up: {up}/{len(first.tunnels)}")

    hand = shutil.which("ipsec") and shutil.which("ip")
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for batch in range(args.batches):
        ours.append(_measure(source.snapshot, args.refreshes, warm=batch == 0))
        if hand:
            theirs.append(_measure(_by_hand, args.rounds, warm=batch == 0))
    last = source.snapshot()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"medians over {args.batches} alternating batches ({args.refreshes} refreshes, "
          f"{args.rounds} by hand); this kernel's load average {load}")
    cpu, wall = (statistics.median(x) for x in zip(*ours, strict=True))
    print(f"one status refresh (2 tunnels):           {cpu:7.2f} ms CPU  {wall:7.2f} ms wall"
          f"  (iptables -t mangle -S only after a change: told by {last.rules_watch or '-'}"
          f"{'; + ipsec statusall' if first.source == 'ipsec statusall' else ''})")
    if theirs:
        cpu_hand, wall_hand = (statistics.median(x) for x in zip(*theirs, strict=True))
        print(f"ipsec statusall + ip -s link, once each:  {cpu_hand:7.2f} ms CPU  "
              f"{wall_hand:7.2f} ms wall"
              "  (processes: ipsec is a shell script that runs stroke, plus ip)")
        ratios = [o[0] / t[0] for o, t in zip(ours, theirs, strict=True) if t[0] > 0]
        if ratios:
            print(f"ratio, CPU: {statistics.median(ratios):.3f}x (median of the batches' "
                  f"ratios; per batch {', '.join(f'{r:.3f}' for r in ratios)})")
    else:
        print("ipsec statusall + ip -s link: not measured (ipsec or ip is not installed)")
    source.close()
    print(f"status panel, resident memory after 3 s live: {_panel_memory(args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
