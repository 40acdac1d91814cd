"""Two real FRRs face to face in network namespaces: this box's, and an AWS stand-in.

The wizard's rendered bgpd configuration runs in a namespace `cgw` against
an FRR in a namespace `vgw` that plays AWS's virtual private gateway (its
ASN, its 10/30 timers, announcing the VPC's network and accepting anything,
as AWS does up to its limits). Two veth pairs stand for the two tunnels'
VTIs, with the tunnels' inside /30s: what BGP sees of a tunnel is exactly
that point-to-point link. IPsec itself is the UML lab's to prove; this pair
proves the BGP half with FRR's own daemons and parser, in seconds.

Nothing of the host is touched: each namespace has its own links and routes,
and each FRR its own files, sockets and pid files under a temporary
directory (zebra and bgpd started directly with `-f`, `-z`, `--vty_socket`,
`-i`; never the host's /etc/frr or frr.service). Teardown kills the daemons
by the pids they wrote and deletes the namespaces.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRR = Path("/usr/lib/frr")
VPC = "203.0.113.0/24"
VPC_HOST = "203.0.113.10"
AWS_ASN = 64512



NETNS_PREFIX = "vpnw-frr-pair-"
"""The pair's namespaces on the host are named so; tests/lab/hostguard.py leaves them out of
its fingerprint, since this test may run while a lab in the other xdist worker is being
checked. The pair removes them itself and says so if it could not."""

def available() -> str | None:
    """None when the pair can run here; otherwise why not (for a skip)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not (FRR / "bgpd").exists() or shutil.which("vtysh") is None:
        return "FRR is not installed (apt-get install frr)"
    if shutil.which("ip") is None:
        return "iproute2 is not installed"
    return None


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=check)


@dataclass
class Node:
    """One FRR (zebra + bgpd) in its own network namespace, with its own files."""

    netns: str
    base: Path

    def ns(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run("ip", "netns", "exec", self.netns, *argv, check=check)

    def start(self, bgpd_conf: str) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.base, "frr", "frr")  # zebra drops to frr:frr, as the package runs it
        (self.base / "zebra.conf").write_text("hostname " + self.netns + "\n")
        (self.base / "bgpd.conf").write_text(bgpd_conf)
        common = ("-d", "-z", str(self.base / "zserv.api"),
                  "--vty_socket", str(self.base), "-P", "0")
        self.ns(str(FRR / "zebra"), *common, "-i", str(self.base / "zebra.pid"),
                "-f", str(self.base / "zebra.conf"), "--log", f"file:{self.base}/zebra.log")
        self.ns(str(FRR / "bgpd"), *common, "-i", str(self.base / "bgpd.pid"),
                "-f", str(self.base / "bgpd.conf"), "--log", f"file:{self.base}/bgpd.log")

    def vtysh(self, command: str) -> str:
        return self.ns("vtysh", "--vty_socket", str(self.base), "-c", command).stdout

    def json(self, command: str) -> Any:
        return json.loads(self.vtysh(command) or "{}")

    def stop(self) -> None:
        for name in ("bgpd", "zebra"):
            pid_file = self.base / f"{name}.pid"
            with suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)

    def neighbors(self) -> dict[str, Any]:
        return self.json("show bgp neighbors json")

    def state(self, peer: str) -> str:
        return str(self.neighbors().get(peer, {}).get("bgpState", "absent"))

    def route_dev(self, address: str) -> str | None:
        """The interface the kernel of this namespace sends `address` out of (None: no route)."""
        out = self.ns("ip", "-j", "route", "get", address, check=False)
        if out.returncode != 0:
            return None
        routes = json.loads(out.stdout or "[]")
        return routes[0].get("dev") if routes else None


@dataclass
class Link:
    """One tunnel's point-to-point link: the cgw's end and the vgw's end of its /30."""

    cgw_dev: str
    vgw_dev: str
    cgw_ip: str
    vgw_ip: str


@dataclass
class Pair:
    cgw: Node
    vgw: Node
    links: tuple[Link, ...]

    def set_link(self, index: int, up: bool) -> None:
        """Take one tunnel's link down (the tunnel failing) or bring it back."""
        link = self.links[index]
        self.cgw.ns("ip", "link", "set", link.cgw_dev, "up" if up else "down")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> float:
    """Wait until `condition()` holds (polled; a state, not a time); returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - start


def aws_config(links: tuple[Link, ...], customer_asn: int, hold: int = 30) -> str:
    """The AWS stand-in: AWS's ASN and timers, the VPC announced, everything accepted."""
    lines = [f"router bgp {AWS_ASN}", f" bgp router-id {links[0].vgw_ip}",
             " no bgp ebgp-requires-policy"]
    for link in links:
        lines += [f" neighbor {link.cgw_ip} remote-as {customer_asn}",
                  f" neighbor {link.cgw_ip} timers {hold // 3} {hold}"]
    lines += [" address-family ipv4 unicast", f"  network {VPC}", " exit-address-family",
              "exit"]
    return "\n".join(lines) + "\n"


@contextmanager
def frr_pair(cgw_conf: str, tunnels: tuple[tuple[str, str], ...], lan: str,
             customer_asn: int) -> Iterator[Pair]:
    """Both FRRs running, linked by one veth pair per tunnel.

    Args:
        cgw_conf: the wizard's bgpd configuration (`wizard.render.frr.bgpd_config`).
        tunnels: per tunnel (this box's inside address/30, AWS's inside address/30).
        lan: this box's LAN (a dummy interface's network, so `network` has a route).
        customer_asn: this box's ASN, for the AWS side's neighbors.
    """
    tag = uuid.uuid4().hex[:6]
    # FRR's daemons run as the frr user: their directory must be reachable by it, which a
    # pytest tmp_path (under a 0700 directory of root's) is not.
    base = Path(tempfile.mkdtemp(prefix="vpn-wizard-frr-"))
    base.chmod(0o755)
    cgw = Node(f"{NETNS_PREFIX}cgw-{tag}", base / "cgw")
    vgw = Node(f"{NETNS_PREFIX}vgw-{tag}", base / "vgw")
    links: list[Link] = []
    try:
        for node in (cgw, vgw):
            _run("ip", "netns", "add", node.netns)
            node.ns("ip", "link", "set", "lo", "up")
        for index, (mine, theirs) in enumerate(tunnels, start=1):
            link = Link(f"t{index}c{tag}"[:15], f"t{index}v{tag}"[:15],
                        mine.split("/")[0], theirs.split("/")[0])
            _run("ip", "link", "add", link.cgw_dev, "netns", cgw.netns, "type", "veth",
                 "peer", "name", link.vgw_dev, "netns", vgw.netns)
            cgw.ns("ip", "addr", "add", mine, "dev", link.cgw_dev)
            vgw.ns("ip", "addr", "add", theirs, "dev", link.vgw_dev)
            for node, dev in ((cgw, link.cgw_dev), (vgw, link.vgw_dev)):
                node.ns("ip", "link", "set", dev, "up")
            links.append(link)
        # the LAN and the VPC: a veth pair each, inside one namespace (no dummy module needed)
        for node, dev, address in ((cgw, "lan0", lan.replace(".0/", ".1/")),
                                   (vgw, "vpc0", VPC_HOST + "/24")):
            node.ns("ip", "link", "add", dev, "type", "veth", "peer", "name", dev + "p")
            node.ns("ip", "addr", "add", address, "dev", dev)
            for end in (dev, dev + "p"):
                node.ns("ip", "link", "set", end, "up")
        pair = Pair(cgw, vgw, tuple(links))
        vgw.start(aws_config(pair.links, customer_asn))
        cgw.start(cgw_conf)
        yield pair
    finally:
        for node in (cgw, vgw):
            node.stop()
        for node in (cgw, vgw):  # the daemons are gone once their sockets are
            with suppress(AssertionError):
                wait_for(lambda n=node: not any((n.base).glob("*.pid")) or not _alive(n),
                         f"{node.netns}'s FRR to stop", timeout=15)
            _run("ip", "netns", "del", node.netns, check=False)
        shutil.rmtree(base, ignore_errors=True)
        left = [n.netns for n in (cgw, vgw) if Path("/run/netns", n.netns).exists()]
        assert not left, f"the FRR pair left namespaces on the host: {left}"


def _alive(node: Node) -> bool:
    for pid_file in node.base.glob("*.pid"):
        with suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 0)
            return True
    return False


def record(dest: Path) -> None:
    """Write FRR's `show bgp neighbors json` for the status tests' cases (tests/data/frr/).

    Run as root with FRR installed: `python tests/frr_pair.py tests/data/frr`.
    Each case is a real FRR's answer, cut to this box's view:
    established.json both sessions up; policy-missing.json the wizard's route-maps
    taken out; asn-mismatch.json AWS expecting another ASN; unreachable.json
    tunnel 1's link down before BGP starts.
    """
    from bgp_setup import CUSTOMER_ASN, bgp_setup

    from wizard.render import frr

    setup = bgp_setup()
    tunnels = tuple((str(t.customer_inside_cidr), str(t.aws_inside_cidr)) for t in setup.tunnels)
    peers = [str(t.aws_inside_cidr.ip) for t in setup.tunnels]
    conf = frr.bgpd_config(setup)
    no_policy = "\n".join(line for line in conf.splitlines() if " route-map " not in line) + "\n"
    dest.mkdir(parents=True, exist_ok=True)

    def save(name: str, pair: Pair) -> None:
        (dest / name).write_text(json.dumps(pair.cgw.neighbors(), indent=1, sort_keys=True)
                                 + "\n")

    with frr_pair(conf, tunnels, "192.0.2.0/24", CUSTOMER_ASN) as pair:
        wait_for(lambda: all(pair.cgw.state(p) == "Established" for p in peers), "sessions")
        wait_for(lambda: all(pair.cgw.neighbors()[p]["addressFamilyInfo"]["ipv4Unicast"]
                             .get("acceptedPrefixCounter") for p in peers), "routes")
        save("established.json", pair)
    with frr_pair(no_policy, tunnels, "192.0.2.0/24", CUSTOMER_ASN) as pair:
        wait_for(lambda: all(pair.cgw.state(p) == "Established" for p in peers), "sessions")
        save("policy-missing.json", pair)
    with frr_pair(conf, tunnels, "192.0.2.0/24", CUSTOMER_ASN + 1) as pair:
        wait_for(lambda: all(pair.cgw.neighbors()[p].get("lastNotificationReason")
                             for p in peers), "the refusal")
        save("asn-mismatch.json", pair)
    with frr_pair(conf, tunnels, "192.0.2.0/24", CUSTOMER_ASN) as pair:
        pair.set_link(0, up=False)
        wait_for(lambda: pair.cgw.neighbors()[peers[1]]["addressFamilyInfo"]["ipv4Unicast"]
                 .get("acceptedPrefixCounter"), "tunnel 2's session and routes")
        save("unreachable.json", pair)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    record(Path(sys.argv[1]))
