"""The AWS side of the lab: a strongSwan responder in the ``vgw`` namespace.

AWS's virtual private gateway is played by a charon of its own (started with
``ipsec start``) that only answers (``auto=add``), with a VTI per tunnel that
carries the AWS-side inside address, and routes back to the customer's LAN
over the tunnels, tunnel 1 preferred.

Its configuration comes from a small plain dataclass, not from the product's
model: the lab must be able to disagree with the product, and a test that
derives both ends from one source can not catch a wrong value in it.

The vgw's charon needs its own /run (pid files, the stroke and vici sockets)
and its own /etc/ipsec.conf, ipsec.secrets and strongswan.conf. Those are
mounts, and mounts live in a mount namespace; ``ip netns exec`` makes a new
one on every call. So a long-lived holder process does the mounts, starts
charon and then sleeps; its pid goes to /lab/vgw.pid, and from then on the
lab's agent enters every ``ns="vgw"`` command into that process's mount and
network namespaces (nsenter), where ``ipsec status`` and ``swanctl`` reach
this charon and no other.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uml import Lab

VGW = "vgw"
"""The namespace the AWS stand-in lives in."""
CONF_DIR = "/lab/vgw"
"""Where the vgw's files are kept inside UML (tmpfs, mode 700)."""
PID_FILE = f"/lab/{VGW}.pid"
"""The holder's pid; the lab's agent enters its namespaces when it exists."""
LAN_CIDR = "192.0.2.0/24"
"""The customer's LAN, which the vgw routes back over the tunnels."""
VTI_MTU = 1419
"""The MTU the AWS document gives its tunnel interfaces."""

_PSK = re.compile(r"[A-Za-z1-9._][A-Za-z0-9._]{7,63}")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,14}")
_PROPOSAL = re.compile(r"[a-z0-9_-]+(?:,[a-z0-9_-]+)*!?")


@dataclass(frozen=True)
class PeerTunnel:
    """One tunnel as AWS's end sees it. Addresses are the lab's, not AWS's."""

    name: str
    """Connection and VTI name on the vgw, e.g. "Tunnel1"."""
    customer_outside_ip: str
    """The customer gateway's public address: the vgw's ``right``."""
    aws_outside_ip: str
    """The AWS endpoint's public address: the vgw's ``left``."""
    customer_inside_cidr: str
    """The customer end of the /30 inside the tunnel, e.g. "169.254.23.6/30"."""
    aws_inside_cidr: str
    """The AWS end of that /30, e.g. "169.254.23.5/30"; set on the vgw's VTI."""
    psk: str = field(repr=False)
    """Pre-shared key; AWS's rule: 8-64 of letters, digits, . and _, not starting with 0."""
    mark: int
    """The VTI key and the conn's mark; also the route metric, so the lower
    mark is the preferred tunnel, as in the AWS document."""
    ike_version: int = 1
    """1 or 2: the vgw's ``keyexchange``."""
    ike: str = "aes128-sha1-modp1024"
    """Phase 1 proposals in ipsec.conf syntax; a trailing ! makes them strict."""
    esp: str = "aes128-sha1-modp1024"
    """Phase 2 proposals in ipsec.conf syntax."""
    ike_lifetime: int = 28800
    """Phase 1 lifetime in seconds (the document's 8h)."""
    lifetime: int = 3600
    """Phase 2 lifetime in seconds (the document's 1h)."""
    dpd_delay: int = 10
    """Seconds between dead peer detection probes."""
    dpd_timeout: int = 30
    """Seconds without an answer before the peer is declared dead (IKEv1)."""
    dpd_action: str = "clear"
    """What AWS does with a dead peer: it clears and waits to be called again."""

    def __post_init__(self) -> None:
        """Refuse values that would render a broken or unsafe configuration."""
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"tunnel name {self.name!r} is not a usable interface name")
        for label in ("customer_outside_ip", "aws_outside_ip"):
            ipaddress.IPv4Address(getattr(self, label))
        cust = ipaddress.IPv4Interface(self.customer_inside_cidr)
        aws = ipaddress.IPv4Interface(self.aws_inside_cidr)
        if cust.network != aws.network or cust.ip == aws.ip:
            raise ValueError(f"{self.name}: inside addresses are not two ends of one subnet")
        if not _PSK.fullmatch(self.psk) or self.psk.startswith("0"):
            # The message must not carry the key itself.
            raise ValueError(f"{self.name}: the PSK does not follow AWS's rule")
        if not 1 <= self.mark <= 0xFFFFFFFF:
            raise ValueError(f"{self.name}: mark {self.mark} out of range")
        if self.ike_version not in (1, 2):
            raise ValueError(f"{self.name}: IKE version must be 1 or 2")
        for label in ("ike", "esp"):
            if not _PROPOSAL.fullmatch(getattr(self, label)):
                raise ValueError(f"{self.name}: {label} proposal {getattr(self, label)!r}")
        if self.dpd_action not in ("clear", "hold", "restart", "none"):
            raise ValueError(f"{self.name}: dpd_action {self.dpd_action!r}")

    @property
    def aws_inside_ip(self) -> str:
        """The AWS end's inside address without prefix: what the cgw pings."""
        return str(ipaddress.IPv4Interface(self.aws_inside_cidr).ip)

    @property
    def customer_inside_ip(self) -> str:
        """The customer end's inside address without prefix."""
        return str(ipaddress.IPv4Interface(self.customer_inside_cidr).ip)


def render_ipsec_conf(tunnels: Sequence[PeerTunnel]) -> str:
    """The vgw's ipsec.conf: one responder conn per tunnel, mirroring the seed's."""
    lines = ["# vgw stand-in (tests/lab/peer.py)", "config setup", "\tuniqueids=no", ""]
    for t in tunnels:
        lines += [
            f"conn {t.name}",
            "\tauto=add",
            f"\tleft={t.aws_outside_ip}",
            f"\tleftid={t.aws_outside_ip}",
            f"\tright={t.customer_outside_ip}",
            f"\trightid={t.customer_outside_ip}",
            "\ttype=tunnel",
            "\tleftauth=psk",
            "\trightauth=psk",
            f"\tkeyexchange=ikev{t.ike_version}",
            f"\tike={t.ike}",
            f"\tikelifetime={t.ike_lifetime}s",
            f"\tesp={t.esp}",
            f"\tlifetime={t.lifetime}s",
            "\tleftsubnet=0.0.0.0/0",
            "\trightsubnet=0.0.0.0/0",
            f"\tdpddelay={t.dpd_delay}s",
            f"\tdpdtimeout={t.dpd_timeout}s",
            f"\tdpdaction={t.dpd_action}",
            f"\tmark={t.mark}",
            "",
        ]
    return "\n".join(lines)


def render_ipsec_secrets(tunnels: Sequence[PeerTunnel]) -> str:
    """The vgw's ipsec.secrets. Only ever written with Lab.write_file."""
    return "".join(f'{t.aws_outside_ip} {t.customer_outside_ip} : PSK "{t.psk}"\n' for t in tunnels)


def render_strongswan_conf() -> str:
    """The vgw's strongswan.conf, self-contained.

    It does not include /etc/strongswan.d/*.conf, so a test that edits the
    cgw's charon.conf (install_routes, say) leaves the AWS side as it was.
    The file log flushes every line, for a human reading it after a failure.

    `max_ikev1_exchanges`: strongSwan keeps the IV of only the last 3 IKEv1
    exchanges per IKE SA (iv_manager.c) and recomputes a forgotten one from
    phase 1, which is wrong mid-exchange. In updown mode the customer's
    charon runs the updown script synchronously and handles no IKE message
    meanwhile; on a loaded 2-core lab machine that took 15 s, during which
    both ends' 10 s DPD piled up exchanges, so this stand-in forgot the
    pending Quick Mode and could not decrypt the box's last Quick Mode message
    ("invalid HASH_V1 payload length, decryption failed?", "QUICK_MODE
    request ... processing failed"); the box, already past it, never sent it
    again ("received retransmit of response ... but next request already
    sent"), so the CHILD_SA never came up at this end. AWS's side is not
    strongSwan; the stand-in must not be the weak link, so it tracks more
    exchanges than any test's wait can produce (DPD every 10 s from both ends).
    """
    return """\
# vgw stand-in (tests/lab/peer.py)
charon {
    # see render_strongswan_conf: a late Quick Mode message still decrypts
    max_ikev1_exchanges = 64
    install_routes = no
    install_virtual_ip = no
    load_modular = yes
    plugins {
        include /etc/strongswan.d/charon/*.conf
    }
    filelog {
        lab {
            path = /run/charon.log
            time_format = %T
            default = 1
            ike = 2
            flush_line = yes
        }
    }
}
"""


def render_network(tunnels: Sequence[PeerTunnel], lan_cidr: str | None = LAN_CIDR) -> str:
    """Shell commands, run in the vgw namespace, for its VTIs and routes.

    With `lan_cidr` None the vgw routes nothing back by itself: BGP does (`start_bgp`).
    """
    lines = ["set -e"]
    for t in tunnels:
        n = shlex.quote(t.name)
        lines += [
            f"ip link add {n} type vti local {t.aws_outside_ip} remote {t.customer_outside_ip}"
            f" key {t.mark}",
            f"ip addr add {t.aws_inside_cidr} remote {t.customer_inside_cidr} dev {n}",
            f"ip link set {n} up mtu {VTI_MTU}",
            # Replies may come back over the other tunnel; VTIs carry no policy.
            f"sysctl -qw net.ipv4.conf.{t.name}.rp_filter=2"
            f" net.ipv4.conf.{t.name}.disable_policy=1",
        ]
        if lan_cidr is not None:
            lines.append(f"ip route add {lan_cidr} dev {n} metric {t.mark}")
    return "\n".join(lines) + "\n"


def render_holder() -> str:
    """The holder process: private mounts, charon, then sleep as the anchor.

    The pid file appears only once the mounts are in place: a command that
    joined earlier would see the cgw's /run, and the cgw's charon on it.
    """
    return f"""\
set -e
mount -t tmpfs -o mode=755 vgw-run /run
mkdir -p /run/lock
for f in ipsec.conf ipsec.secrets strongswan.conf; do
    mount --bind {CONF_DIR}/$f /etc/$f
done
echo $$ > {PID_FILE}.new
mv {PID_FILE}.new {PID_FILE}
ipsec start
exec sleep infinity
"""


def start_peer(
    lab: Lab,
    tunnels: Sequence[PeerTunnel],
    *,
    lan_cidr: str | None = LAN_CIDR,
    timeout: float = 30.0,
) -> None:
    """Configure the vgw and start its responder; return once it holds the conns.

    Waiting for the conns to be loaded matters: an initiator that calls
    before then is refused, and IKEv1's retry backs off for seconds.
    """
    if lab.run(["test", "-e", PID_FILE]).ok:
        raise RuntimeError("the vgw responder already runs in this lab; boot a fresh one")
    lab.run(["mkdir", "-p", "-m", "700", CONF_DIR], check=True)
    lab.write_file(f"{CONF_DIR}/ipsec.conf", render_ipsec_conf(tunnels))
    lab.write_file(f"{CONF_DIR}/ipsec.secrets", render_ipsec_secrets(tunnels), mode=0o600)
    lab.write_file(f"{CONF_DIR}/strongswan.conf", render_strongswan_conf())
    lab.write_file(f"{CONF_DIR}/holder.sh", render_holder())
    lab.run(render_network(tunnels, lan_cidr), ns=VGW, check=True)
    # `ip netns exec` execs the shell, so the holder's $$ is the process
    # that keeps the namespaces alive; it writes PID_FILE itself.
    lab.run(
        f"ip netns exec {VGW} /bin/sh {CONF_DIR}/holder.sh >{CONF_DIR}/holder.log 2>&1 &",
        check=True,
    )
    lab.wait_until(["test", "-s", PID_FILE], timeout=timeout, interval=0.05).check(
        f"waiting for the vgw holder (see {CONF_DIR}/holder.log)"
    )
    names = " ".join(shlex.quote(t.name) for t in tunnels)
    loaded = lab.wait_until(
        f"out=$(swanctl --list-conns 2>&1) || exit 1\n"
        f'for n in {names}; do printf "%s" "$out" | grep -q "^$n:" || exit 1; done\n',
        ns=VGW,
        timeout=timeout,
    )
    if not loaded.ok:
        log = lab.run(f"cat {CONF_DIR}/holder.log; tail -n 40 /run/charon.log", ns=VGW).out
        raise RuntimeError(f"the vgw responder did not load its conns:\n{loaded.out}\n{log}")


def seed_tunnels() -> list[PeerTunnel]:
    """The seed document's two tunnels, moved to the lab's addresses.

    Inside addresses, marks and proposals are the seed's; the outside
    addresses are the lab's (cgw 198.51.100.10; AWS 198.51.100.1 and .2), and
    the keys are the lab's own: the seed's keys are fixtures that must never
    show in the lab's output.
    """
    cgw = "198.51.100.10"
    return [
        PeerTunnel(
            name="Tunnel1",
            customer_outside_ip=cgw,
            aws_outside_ip="198.51.100.1",
            customer_inside_cidr="169.254.23.6/30",
            aws_inside_cidr="169.254.23.5/30",
            psk="lab.Tunnel1_k3y",
            mark=100,
        ),
        PeerTunnel(
            name="Tunnel2",
            customer_outside_ip=cgw,
            aws_outside_ip="198.51.100.2",
            customer_inside_cidr="169.254.22.74/30",
            aws_inside_cidr="169.254.22.73/30",
            psk="lab.Tunnel2_k3y",
            mark=200,
        ),
    ]


# --------------------------------------------------------------------------- BGP (issue 12)

FRR_DIR = "/run/lab-vgw-frr"
"""The vgw's FRR: its configuration, sockets, pid files and logs, in the vgw's own /run
(the holder's tmpfs, so the cgw never sees them), owned by the frr user FRR drops to."""
AWS_ASN = 64512
"""A virtual private gateway's default ASN."""
VPC_CIDR = "203.0.113.0/24"
"""What AWS announces: the VPC's network (the vgw's vpc0)."""


def render_bgpd(tunnels: Sequence[PeerTunnel], customer_asn: int, *, hold: int = 30,
                aws_asn: int = AWS_ASN, vpc_cidr: str = VPC_CIDR) -> str:
    """AWS's side of BGP: its ASN and 10/30 timers, the VPC announced, every route accepted.

    Written from the plain `PeerTunnel` values, not the product's model, like
    the rest of the stand-in. AWS accepts what a customer announces (up to its
    limits) and announces the VPC's CIDR; FRR's eBGP policy requirement is
    switched off here only, where the stand-in plays a router that is not FRR.
    A 10 s connect retry (FRR's default is 120 s) lets a tunnel that comes back
    carry BGP again at once, as the wizard's own side is configured to.
    """
    lines = [f"router bgp {aws_asn}", f" bgp router-id {tunnels[0].aws_inside_ip}",
             " no bgp ebgp-requires-policy"]
    for t in tunnels:
        lines += [f" neighbor {t.customer_inside_ip} remote-as {customer_asn}",
                  f" neighbor {t.customer_inside_ip} timers {hold // 3} {hold}",
                  f" neighbor {t.customer_inside_ip} timers connect 10"]
    lines += [" address-family ipv4 unicast", f"  network {vpc_cidr}", " exit-address-family",
              "exit"]
    return "\n".join(lines) + "\n"


def vtysh(command: str) -> str:
    """A `vtysh -c` line that reaches the vgw's FRR (run it with ns="vgw")."""
    return f"vtysh --vty_socket {FRR_DIR} -c {shlex.quote(command)}"


def start_bgp(lab: Lab, tunnels: Sequence[PeerTunnel], customer_asn: int, *,
              hold: int = 30, timeout: float = 30.0) -> None:
    """Run FRR (zebra, bgpd) in the vgw namespace as AWS's BGP speaker.

    The daemons are started directly with every path under FRR_DIR (-f, -z,
    --vty_socket, -i), so the vgw's FRR never reads or writes the cgw's
    /etc/frr or /run/frr, which the product under test configures.
    """
    # In the vgw's own /run (the holder's tmpfs): the frr user must reach it, which
    # /lab (mode 700, it holds keys) does not allow.
    lab.run(["mkdir", "-p", FRR_DIR], ns=VGW, check=True)
    lab.write_file(f"{FRR_DIR}/zebra.conf", "hostname vgw\n", ns=VGW)
    lab.write_file(f"{FRR_DIR}/bgpd.conf", render_bgpd(tunnels, customer_asn, hold=hold), ns=VGW)
    lab.run(["chown", "-R", "frr:frr", FRR_DIR], ns=VGW, check=True)
    common = f"-d -z {FRR_DIR}/zserv.api --vty_socket {FRR_DIR} -P 0"
    lab.run(
        f"/usr/lib/frr/zebra {common} -i {FRR_DIR}/zebra.pid -f {FRR_DIR}/zebra.conf "
        f"--log file:{FRR_DIR}/zebra.log\n"
        f"/usr/lib/frr/bgpd {common} -i {FRR_DIR}/bgpd.pid -f {FRR_DIR}/bgpd.conf "
        f"--log file:{FRR_DIR}/bgpd.log\n",
        ns=VGW, check=True, timeout=timeout,
    )
    lab.wait_until(vtysh("show bgp summary json"), ns=VGW, timeout=timeout).check(
        f"waiting for the vgw's bgpd (see {FRR_DIR}/bgpd.log)")
