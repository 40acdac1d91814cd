"""The product in the lab: inputs at lab addresses, the operator's command, state snapshots.

The AWS file handed to `vpn-wizard --import` is the seed document itself with
its addresses moved to the lab's and its keys replaced by the lab peer's (the
seed's keys are fixtures that never show in the lab). The answers file holds
only what an operator would choose.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from peer import PeerTunnel
from uml import CGW_LAN_IF, CGW_WAN_IF, CGW_WAN_IP, VPC_CIDR, Lab

SEED = Path(__file__).resolve().parents[2].parent / "shared/seed/aws-vpn-strongswan-generic.txt"
SEED_ADDRESSES = ("62.81.252.34", "52.50.67.155", "54.77.23.12")
SEED_PSKS = ("aM6ktTm3pv5etv9eC2", "aM6ktTm3pv5etv9eC")  # longest first
VPN_WIZARD = str(Path(sys.executable).with_name("vpn-wizard"))
"""The venv's entry point, visible inside UML through the host's filesystem."""
PYTHON = sys.executable
AWS_FILE = "/lab/aws-vpn.txt"
ANSWERS = "/lab/answers.toml"
DRIVER = str(Path(__file__).resolve().with_name("fault_driver.py"))

#: Every file a plan may touch, in either mode.
TOUCHED = (
    "/etc/sysctl.conf",
    "/etc/ipsec.conf",
    "/etc/ipsec.secrets",
    "/etc/strongswan.d/charon.conf",
    "/etc/rc.local",
    "/etc/network/interfaces",
    "/etc/vpn-wizard/iptables.rules",
    "/etc/ipsec.d/aws-updown.sh",
    "/usr/local/sbin/vpn-wizard-heartbeat",
    "/etc/systemd/system/vpn-wizard-heartbeat.service",
)
SYSCTLS = (
    "net.ipv4.ip_forward",
    *(
        f"net.ipv4.conf.{i}.{k}"
        for i in (CGW_WAN_IF, CGW_LAN_IF)
        for k in ("disable_xfrm", "disable_policy")
    ),
)

SNAPSHOT = (
    "for f in " + " ".join(TOUCHED) + "; do\n"
    '  if [ -e "$f" ]; then echo "file $f $(stat -c \'%a %u:%g\' "$f")'
    ' $(sha256sum < "$f" | cut -c1-16)"; else echo "file $f absent"; fi\n'
    "done\n"
    'echo "tree $(find /etc /usr/local -xdev 2>/dev/null | sort | sha256sum | cut -c1-16)"\n'
    # A table the kernel instantiated but that holds no rule is no difference.
    "echo '== iptables-save'; iptables-save | grep -v '^#' | sed 's/ \\[[0-9]*:[0-9]*\\]$//'"
    ' | awk \'/^[*]/{buf=$0; keep=0; next} /^COMMIT/{if (keep) print buf "\\n" $0; next}'
    ' {buf=buf "\\n" $0; if ($0 !~ /^:[A-Z]+ ACCEPT$/) keep=1}\'\n'
    "echo '== ip -d link'; ip -d link show\n"
    "echo '== ip addr'; ip addr show\n"
    "echo '== ip route'; ip route show table all\n"
    "echo '== xfrm'; ip xfrm state; ip xfrm policy\n"
    "echo '== sysctl'; sysctl " + " ".join(SYSCTLS) + "\n"
    "echo '== strongswan'; if ipsec statusall >/dev/null 2>&1; then echo running;"
    " else echo stopped; fi\n"
)
"""One command that prints everything rollback must restore (no comments, no counters)."""


def lab_aws_file(tunnels: Sequence[PeerTunnel]) -> str:
    """The seed document at the lab's addresses, with the lab peer's keys."""
    text = SEED.read_text()
    t1, t2 = tunnels
    for old, new in zip(SEED_PSKS, (t2.psk, t1.psk), strict=True):
        text = text.replace(old, new)
    for old, new in zip(
        SEED_ADDRESSES, (CGW_WAN_IP, t1.aws_outside_ip, t2.aws_outside_ip), strict=True
    ):
        text = text.replace(old, new)
    return text


def answers(mode: str = "manual", physical: str = CGW_WAN_IF) -> str:
    """What the operator chooses: the mode, the WAN and LAN interfaces, the VPC."""
    return (
        "[choices]\n"
        f'mode = "{mode}"\n'
        f'physical_interface = "{physical}"\n'
        f'lan_interfaces = ["{CGW_LAN_IF}"]\n'
        f'vpc_cidrs = ["{VPC_CIDR}"]\n'
    )


def write_big(lab: Lab, path: str, text: str, mode: int = 0o600) -> None:
    """Write a file in pieces: one request carrying the whole 20 KB seed hung the channel."""
    data = text.encode()
    lab.write_file(path, b"", mode=mode)
    for i in range(0, len(data), 1536):
        lab.write_file(path, data[i : i + 1536], mode=mode, append=True)


def prepare(
    lab: Lab, tunnels: Sequence[PeerTunnel], mode: str = "manual", physical: str = CGW_WAN_IF
) -> None:
    """Put the operator's two input files in place (keys only ever inside files)."""
    write_big(lab, AWS_FILE, lab_aws_file(tunnels))
    lab.write_file(ANSWERS, answers(mode, physical), mode=0o600)


def wizard(*args: str, env: str = "") -> str:
    """The shell line an operator types (with an optional VAR=value prefix)."""
    line = " ".join((VPN_WIZARD, *args))
    return f"{env} {line}".strip()


def apply_cmd(*extra: str, env: str = "") -> str:
    return wizard("apply", "--import", AWS_FILE, "--answers", ANSWERS, *extra, env=env)


def snapshot(lab: Lab) -> str:
    return lab.run("/bin/sh /lab/snapshot.sh", check=True, timeout=60).out


def install_snapshot(lab: Lab) -> None:
    """Put the snapshot script in the lab once; each snapshot is then one short request."""
    write_big(lab, "/lab/snapshot.sh", SNAPSHOT, mode=0o700)


def sa_states(status: str, name: str) -> tuple[bool, bool]:
    """From `ipsec status`: is the IKE SA established, is a CHILD_SA installed?"""
    ike = re.search(rf"^\s*{re.escape(name)}\[\d+\]: ESTABLISHED", status, re.M)
    child = re.search(rf"^\s*{re.escape(name)}\{{\d+\}}:\s+INSTALLED, TUNNEL", status, re.M)
    return ike is not None, child is not None


def wait_established(lab: Lab, names: Sequence[str], timeout: float = 60.0) -> tuple[bool, str]:
    """Poll the cgw's charon until every tunnel is up; (all up?, last status)."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = lab.run("ipsec status").out
        if all(all(sa_states(status, n)) for n in names):
            return True, status
        time.sleep(0.1)
    return False, status


def diff(before: str, after: str) -> str:
    """The lines that differ, for an assertion message."""
    import difflib

    return "\n".join(
        difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    )
