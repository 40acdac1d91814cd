"""Fast failover's one side effect: a tunnel's VPC routes taken off, and put back.

The heartbeat (`wizard.heartbeat.Failover`) decides which tunnels to route
around; this moves the routes, with the same `ip route` commands and the
same metric (the tunnel's mark) the plan and the updown script use, so what
it puts back is exactly what was there. It only puts back what it took off:
in updown mode a tunnel whose CHILD_SA is gone has no interface and no route,
and bringing them back is the updown script's job when the tunnel returns.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from wizard.system.base import CommandTimeout, HostError, run_argv


class RouteMover:
    """`Reroute` for the heartbeat: address -> (interface, metric), over the VPC CIDRs."""

    def __init__(self, tunnels: Mapping[str, tuple[str, int]], cidrs: Sequence[str],
                 log: list[str] | None = None) -> None:
        self.tunnels = dict(tunnels)
        self.cidrs = tuple(cidrs)
        self.log: list[str] = [] if log is None else log
        self.off: set[str] = set()
        """The addresses whose routes this process took off."""

    def __call__(self, withdrawn: frozenset[str]) -> None:
        for address, (dev, metric) in self.tunnels.items():
            if address in withdrawn and address not in self.off:
                self._all("del", dev, metric)
                self.off.add(address)
                self._say(f"{dev} ({address}) stopped answering: its VPC routes are off")
            elif address not in withdrawn and address in self.off:
                self._all("replace", dev, metric)
                self.off.discard(address)
                self._say(f"{dev} ({address}) answers again: its VPC routes are back")

    def _all(self, verb: str, dev: str, metric: int) -> None:
        for cidr in self.cidrs:
            try:
                # check=False: a route already gone (updown removed it) or an interface
                # not there (the tunnel is down) is the state wanted, or the updown's to fix.
                run_argv(["ip", "route", verb, cidr, "dev", dev, "metric", str(metric)],
                         self.log, check=False, timeout=5)
            except (CommandTimeout, HostError) as err:
                raise OSError(str(err)) from None

    @staticmethod
    def _say(line: str) -> None:
        print(f"vpn-wizard heartbeat: {line}", file=sys.stderr, flush=True)
