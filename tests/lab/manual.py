"""The seed's manual steps as an operator types them, and how to read the result.

The AWS document's steps #1-#5 for each tunnel, typed into the lab's cgw as
shell commands, so that the lab can be proven against the document itself
(test_lab_harness.py) and the product's result compared with the by-hand one.
Also the few readers of strongSwan's answers the lab tests share.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from peer import PeerTunnel
from uml import CGW_LAN_IF, CGW_WAN_IF, CGW_WAN_IP, VPC_CIDR, Lab


def seed_conn(t: PeerTunnel) -> str:
    """The seed's conn block for one tunnel, word for word, at lab addresses."""
    return f"""\
# AWS VPN will also support AES256 and SHA256 for the "ike" (Phase 1) and "esp" (Phase 2) entries below.
# For Phase 1, AWS VPN supports DH groups 2, 14-18, 22, 23, 24. Phase 2 supports DH groups 2, 5, 14-18, 22, 23, 24
# To see Strongswan's syntax for these different values, please refer to https://wiki.strongswan.org/projects/strongswan/wiki/IKEv1CipherSuites

conn {t.name}
\tauto=start
\tleft=%defaultroute
\tleftid={t.customer_outside_ip}
\tright={t.aws_outside_ip}
\ttype=tunnel
\tleftauth=psk
\trightauth=psk
\tkeyexchange=ikev1
\tike=aes128-sha1-modp1024
\tikelifetime=8h
\tesp=aes128-sha1-modp1024
\tlifetime=1h
\tkeyingtries=%forever
\tleftsubnet=0.0.0.0/0
\trightsubnet=0.0.0.0/0
\tdpddelay=10s
\tdpdtimeout=30s
\tdpdaction=restart
\t## Please note the following line assumes you only have two tunnels in your Strongswan configuration file. This "mark" value must be unique and may need to be changed based on other entries in your configuration file.
\tmark={t.mark}
\t## Uncomment the following line to utilize the script from the "Automated Tunnel Healhcheck and Failover" section. Ensure that the integer after "-m" matches the "mark" value above, and <VPC CIDR> is replaced with the CIDR of your VPC
\t## (e.g. 192.168.1.0/24)
\t#leftupdown="/etc/ipsec.d/aws-updown.sh -ln {t.name} -ll {t.customer_inside_cidr} -lr {t.aws_inside_cidr} -m {t.mark} -r <VPC CIDR>"
"""


def type_manual_steps(lab: Lab, tunnels: Sequence[PeerTunnel], *, restart: bool = True) -> None:
    """Do what the seed tells an operator to do by hand, tunnel by tunnel.

    Deviations: LOCAL IP and the addresses are the lab's; the LAN interface
    gets disable_xfrm/disable_policy too, which the document only gets away
    without when LAN and WAN are one interface (NOTES.md); and the operator
    finally starts strongSwan with ``ipsec restart``, as the document's
    failover section does (``restart=False`` leaves that to the caller, to
    time it apart: the ipsec script alone sleeps 2 s in it).
    """
    phys = CGW_WAN_IF
    for t in tunnels:
        # #1 Enable packet forwarding and configure the tunnel.
        lab.run(
            "sed -i 's/^#\\s*net.ipv4.ip_forward\\s*=\\s*1/net.ipv4.ip_forward = 1/'"
            " /etc/sysctl.conf\n"
            "sysctl -p\n"
            "sed -i 's/^\\(\\s*\\)#\\s*uniqueids\\s*=\\s*no/\\1uniqueids=no/' /etc/ipsec.conf\n"
            f"cat >> /etc/ipsec.conf <<'__CONN__'\n{seed_conn(t)}__CONN__\n",
            check=True,
        )
        secret = f'{t.customer_outside_ip} {t.aws_outside_ip} : PSK "{t.psk}"\n'
        lab.write_file("/etc/ipsec.secrets", secret, mode=0o600, append=True)

        # #2 Tunnel interface, route to the VPC, no routes from strongSwan.
        lab.run(
            f"ip link add {t.name} type vti local {CGW_WAN_IP} remote {t.aws_outside_ip}"
            f" key {t.mark}\n"
            f"ip addr add {t.customer_inside_cidr} remote {t.aws_inside_cidr} dev {t.name}\n"
            f"ip link set {t.name} up mtu 1419\n"
            f"ip route add {VPC_CIDR} dev {t.name} metric {t.mark}\n"
            "sed -i 's/^\\(\\s*\\)#\\s*install_routes\\s*=\\s*yes/\\1install_routes = no/'"
            " /etc/strongswan.d/charon.conf\n",
            check=True,
        )

        # #3 iptables.
        lab.run(
            f"iptables -t mangle -A FORWARD -o {t.name} -p tcp --tcp-flags SYN,RST SYN"
            " -j TCPMSS --clamp-mss-to-pmtu\n"
            f"iptables -t mangle -A INPUT -p esp -s {t.aws_outside_ip} -d {CGW_WAN_IP}"
            f" -j MARK --set-xmark {t.mark}\n",
            check=True,
        )

        # #4 sysctl, as written (procps passes the trailing comments on and
        # the kernel ignores them), plus the LAN interface (see docstring).
        lab.run(
            "cat >> /etc/sysctl.conf <<'__SYSCTL__'\n"
            f"net.ipv4.conf.{t.name}.rp_filter=2 #This value allows the Linux kernel to handle"
            " asymmetric routing\n"
            f"net.ipv4.conf.{t.name}.disable_policy=1 #This value disables IPsec policy (SPD)"
            " for the interface\n"
            f"net.ipv4.conf.{phys}.disable_xfrm=1 #This value disables crypto transformations"
            " on the physical interface\n"
            f"net.ipv4.conf.{phys}.disable_policy=1 #This value disables IPsec policy (SPD)"
            " for the interface\n"
            f"net.ipv4.conf.{CGW_LAN_IF}.disable_xfrm=1\n"
            f"net.ipv4.conf.{CGW_LAN_IF}.disable_policy=1\n"
            "__SYSCTL__\n"
            "sysctl -p\n",
            check=True,
        )

        # #5 Persistent configuration.
        lab.run(
            "iptables-save > /etc/iptables.conf\n"
            "[ -f /etc/rc.local ] || printf '#!/bin/sh -e\\nexit 0\\n' > /etc/rc.local\n"
            "grep -q '^iptables-restore < /etc/iptables.conf' /etc/rc.local ||"
            " sed -i 's|^exit 0|iptables-restore < /etc/iptables.conf\\nexit 0|' /etc/rc.local\n"
            "mkdir -p /etc/network\n"
            "cat >> /etc/network/interfaces <<'__IFACES__'\n"
            f"auto {t.name}\n"
            f"iface {t.name} inet manual\n"
            f"pre-up ip link add {t.name} type vti local {CGW_WAN_IP} remote {t.aws_outside_ip}"
            f" key {t.mark}\n"
            f"pre-up ip addr add {t.customer_inside_cidr} remote {t.aws_inside_cidr}"
            f" dev {t.name}\n"
            f"up ip link set {t.name} up mtu 1419\n"
            "__IFACES__\n",
            check=True,
        )
    if restart:
        lab.run("ipsec restart", check=True)


def sa_states(status: str, name: str) -> tuple[bool, bool]:
    """From `ipsec status`: is the IKE SA established, is a CHILD_SA installed?"""
    ike = re.search(rf"^\s*{re.escape(name)}\[\d+\]: ESTABLISHED", status, re.M)
    child = re.search(rf"^\s*{re.escape(name)}\{{\d+\}}:\s+INSTALLED, TUNNEL", status, re.M)
    return ike is not None, child is not None


def list_sas(lab: Lab) -> dict[str, str]:
    """The cgw's `swanctl --list-sas`, one text block per IKE SA by conn name."""
    out = lab.run("swanctl --list-sas 2>/dev/null", check=True).out
    return {block.split(":", 1)[0]: block for block in re.split(r"\n(?=\S)", out.strip())}


def esp_packets(block: str) -> tuple[int, int]:
    """Packets in and out of the CHILD_SA in one IKE SA's block."""
    found = dict(re.findall(r"^ +(in|out) +[0-9a-f]{8} .*?(\d+) packets", block, re.M))
    return int(found.get("in", -1)), int(found.get("out", -1))


def all_up(status: str, names: Sequence[str]) -> bool:
    """Whether `ipsec status` shows every named tunnel ESTABLISHED and INSTALLED."""
    return all(sa_states(status, n) == (True, True) for n in names)


def wait_tunnels_up(lab: Lab, names: Sequence[str], timeout: float = 60.0) -> str:
    """Poll the cgw's charon until every tunnel is up; return its last `ipsec status`.

    The caller asserts on the text, so a failure shows what charon last said.
    """
    deadline = time.monotonic() + timeout
    while True:
        status = lab.run("ipsec status").out
        if all_up(status, names) or time.monotonic() > deadline:
            return status
        time.sleep(0.2)
