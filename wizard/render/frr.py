"""FRR's bgpd configuration for a dynamic-routing (BGP) VPN connection; pure text.

Where it goes, and why a managed block: FRR 8 (Debian's and Ubuntu's `frr`
package) runs in "integrated configuration" mode, where every daemon's
configuration is one file, /etc/frr/frr.conf, applied by `vtysh -b` at start;
that file has no include directive, and per-daemon files are ignored in that
mode. So the wizard's lines live in a marked block inside frr.conf
(`wizard.blocks`), next to whatever the operator keeps there: a re-run
replaces the block, uninstall removes it, nothing else moves. The daemons
file (a shell fragment FRR's init script sources) gets a block that sets
`bgpd=yes`, with the operator's own `bgpd=` line commented out while it
exists and brought back when it goes.

What the block says, per AWS's guidance for a customer gateway:
- `router bgp` with the customer ASN, one neighbor per tunnel at AWS's inside
  address with AWS's ASN and timers (keepalive a third of the hold time, as
  AWS's 10/30), and a 10 s connect retry so a tunnel that comes back is used
  again at once;
- explicit prefix-lists and route-maps in and out for every neighbor. FRR 8
  refuses to exchange eBGP routes without a policy (`bgp ebgp-requires-policy`),
  and that safety is kept: out, exactly the announced networks (so routes
  learned from one tunnel are never echoed to the other, nor the VPC's own
  network back to AWS); in, anything but the announced networks and the
  link-local block of the tunnels themselves;
- `network` for each announced prefix (FRR announces it while the box has a
  route to it);
- active/passive: local preference 200 on what tunnel 1 brings (this box
  sends through tunnel 1) and the customer ASN prepended twice on what tunnel
  2 announces (AWS sends through tunnel 1: it prefers the shorter AS path).
"""

from __future__ import annotations

from wizard.blocks import ManagedBlock
from wizard.model import Setup, Tunnel

FRR_CONF = "/etc/frr/frr.conf"
DAEMONS = "/etc/frr/daemons"
UNIT = "frr.service"
#: The names of the wizard's prefix-lists and route-maps: a prefix no FRR default uses.
PREFIX = "VPNW"
#: How many times active/passive prepends the customer ASN on tunnel 2.
PREPEND = 2
PASSIVE_LOCAL_PREF = 200
#: Seconds between attempts to open a session that is down (FRR's default is 120 s): a
#: tunnel that comes back carries BGP again within seconds, not minutes.
CONNECT_RETRY = 10
INSTALL_HINT = "apt-get install frr"


def neighbor_address(tunnel: Tunnel) -> str:
    """AWS's BGP speaker: its end of the tunnel's inside /30 (the file's 'Neighbor IP Address')."""
    return str(tunnel.aws_inside_cidr.ip)


def keepalive(hold: int) -> int:
    """A third of the hold time, at least 1 s: AWS's 10 s keepalive for its 30 s hold."""
    return max(1, hold // 3)


def _asns(setup: Setup) -> tuple[int, int, int]:
    """(customer ASN, AWS ASN, hold time); validation made them present and equal per tunnel."""
    bgp = setup.tunnels[0].bgp
    assert bgp is not None and bgp.customer_asn and bgp.aws_asn and bgp.hold_time
    return bgp.customer_asn, bgp.aws_asn, bgp.hold_time


def route_map_out(index: int) -> str:
    return f"{PREFIX}-OUT-T{index + 1}"


def route_map_in(index: int) -> str:
    return f"{PREFIX}-IN-T{index + 1}"


def bgpd_config(setup: Setup) -> str:
    """The frr.conf lines of the wizard's BGP router, policies first (FRR's own order)."""
    customer_asn, aws_asn, hold = _asns(setup)
    passive = setup.choices.bgp_mode == "active-passive"
    out: list[str] = []
    seq = 5
    for net in setup.choices.advertise:
        out.append(f"ip prefix-list {PREFIX}-ANNOUNCE seq {seq} permit {net}")
        seq += 5
    seq = 5
    for net in setup.choices.advertise:
        out.append(f"ip prefix-list {PREFIX}-LEARN seq {seq} deny {net} le 32")
        seq += 5
    out.append(f"ip prefix-list {PREFIX}-LEARN seq {seq} deny 169.254.0.0/16 le 32")
    out.append(f"ip prefix-list {PREFIX}-LEARN seq {seq + 5} permit 0.0.0.0/0 le 32")
    out.append("!")
    for index, _tunnel in enumerate(setup.tunnels):
        out.append(f"route-map {route_map_in(index)} permit 10")
        out.append(f" match ip address prefix-list {PREFIX}-LEARN")
        if passive and index == 0:
            out.append(f" set local-preference {PASSIVE_LOCAL_PREF}")
        out.append("exit")
        out.append("!")
        out.append(f"route-map {route_map_out(index)} permit 10")
        out.append(f" match ip address prefix-list {PREFIX}-ANNOUNCE")
        if passive and index > 0:
            out.append(" set as-path prepend " + " ".join([str(customer_asn)] * PREPEND))
        out.append("exit")
        out.append("!")
    out.append(f"router bgp {customer_asn}")
    out.append(f" bgp router-id {setup.tunnels[0].customer_inside_cidr.ip}")
    out.append(" bgp log-neighbor-changes")
    for tunnel in setup.tunnels:
        peer = neighbor_address(tunnel)
        out.append(f" neighbor {peer} remote-as {aws_asn}")
        out.append(f" neighbor {peer} description vpn-wizard {tunnel.name}")
        out.append(f" neighbor {peer} timers {keepalive(hold)} {hold}")
        out.append(f" neighbor {peer} timers connect {CONNECT_RETRY}")
    out.append(" !")
    out.append(" address-family ipv4 unicast")
    for net in setup.choices.advertise:
        out.append(f"  network {net}")
    for index, tunnel in enumerate(setup.tunnels):
        peer = neighbor_address(tunnel)
        out.append(f"  neighbor {peer} activate")
        out.append(f"  neighbor {peer} route-map {route_map_in(index)} in")
        out.append(f"  neighbor {peer} route-map {route_map_out(index)} out")
    out.append(" exit-address-family")
    out.append("exit")
    return "\n".join(out) + "\n"


def frr_conf_block(setup: Setup) -> ManagedBlock:
    """The wizard's block in frr.conf ('#' is a comment there, as Debian's own file uses)."""
    return ManagedBlock("bgp", bgpd_config(setup))


def daemons_block() -> ManagedBlock:
    """`bgpd=yes` in FRR's daemons file; the operator's own `bgpd=` line waits, commented."""
    return ManagedBlock("bgpd", "bgpd=yes", supersedes=r"^\s*bgpd\s*=")


def operator_router(text: str | None) -> str | None:
    """The operator's own `router bgp` line outside the wizard's block, when it would clash.

    FRR runs one BGP instance per VRF: a second `router bgp` with another ASN in
    the default VRF is refused when FRR loads the file, and one with the same
    ASN would merge the wizard's neighbors into the operator's router, which
    uninstall could not take apart. Either way the wizard stops and says so.
    """
    if not text:
        return None
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and "BEGIN vpn-wizard bgp" in stripped:
            inside = True
        elif stripped.startswith("#") and "END vpn-wizard bgp" in stripped:
            inside = False
        elif not inside and stripped.startswith("router bgp") and " vrf " not in stripped:
            return stripped
    return None
