"""The product in the lab: inputs at lab addresses, the operator's command, state snapshots.

The AWS file handed to `vpn-wizard --import` is the seed document itself with
its addresses moved to the lab's and its keys replaced by the lab peer's (the
seed's keys are fixtures that never show in the lab). The answers file holds
only what an operator would choose.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from peer import PeerTunnel, seed_tunnels
from uml import CGW_LAN_IF, CGW_WAN_IF, CGW_WAN_IP, VPC_CIDR, Lab

from wizard.inputs import load
from wizard.operations import SetSysctl
from wizard.plan import build_plan
from wizard.plan_types import Plan
from wizard.system.paths import Root

SEED = Path(__file__).resolve().parents[2].parent / "shared/seed/aws-vpn-strongswan-generic.txt"
SEED_ADDRESSES = ("62.81.252.34", "52.50.67.155", "54.77.23.12")
SEED_PSKS = ("aM6ktTm3pv5etv9eC2", "aM6ktTm3pv5etv9eC")  # longest first
VPN_WIZARD = str(Path(sys.executable).with_name("vpn-wizard"))
"""The venv's entry point, visible inside UML through the host's filesystem."""
PYTHON = sys.executable
AWS_FILE = "/lab/aws-vpn.txt"
ANSWERS = "/lab/answers.toml"
DRIVER = str(Path(__file__).resolve().with_name("fault_driver.py"))

MODES = ("manual", "updown")


@dataclasses.dataclass(frozen=True)
class Footprint:
    """What the plans of every mode touch on the cgw: the scope of a snapshot."""

    files: tuple[str, ...]
    """Every file a plan writes (`Plan.final_files`)."""
    dirs: tuple[str, ...]
    """Their directories and every ancestor up to /, listed so stray files show."""
    sysctls: tuple[str, ...]
    """Every kernel parameter a plan sets."""


def lab_plan(tunnels: Sequence[PeerTunnel], mode: str = "manual") -> Plan:
    """The plan the cgw will build from the lab's inputs, built here on the host."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp)
        (local / "aws.txt").write_text(lab_aws_file(tunnels))
        (local / "answers.toml").write_text(answers(mode))
        setup = load(local / "aws.txt", local / "answers.toml", Root(local / "empty")).setup
    return build_plan(setup)


def footprint(tunnels: Sequence[PeerTunnel], modes: Sequence[str] = MODES) -> Footprint:
    """Derived from the plans themselves, so a file a plan starts writing is covered."""
    files: set[str] = set()
    sysctls: set[str] = set()
    for mode in modes:
        plan = lab_plan(tunnels, mode)
        files |= set(plan.final_files())
        for step in plan:
            sysctls |= {op.key for op in step.commands if isinstance(op, SetSysctl)}
    dirs = {str(parent) for f in files for parent in PurePosixPath(f).parents}
    dirs.discard("/")
    return Footprint(tuple(sorted(files)), tuple(sorted(dirs)), tuple(sorted(sysctls)))


SCOPE_FILE = "/lab/scope.json"
"""The footprint, as labstate.py reads it inside the lab."""
LABSTATE = str(Path(__file__).resolve().with_name("labstate.py"))


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
    """What the operator chooses: the mode, the WAN and LAN interfaces, the VPC.

    The persistence is the document's, named: the guest (this machine's / over
    hostfs) has no ifupdown, so left out it would default to none
    (wizard.host_defaults), and the lab proves the seed's own layout.
    """
    return (
        "[choices]\n"
        f'mode = "{mode}"\n'
        'persistence = "seed"\n'
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


def snapshot(lab: Lab, *, full: bool = True) -> str:
    """Everything rollback must restore, as text to compare (see labstate.py).

    `full` (the default here) also covers every name under /etc and /usr/local.
    """
    arg = " full" if full else ""
    return lab.run(f"{PYTHON} {LABSTATE} {SCOPE_FILE}{arg}", check=True, timeout=60).out


def install_snapshot(lab: Lab, tunnels: Sequence[PeerTunnel] | None = None) -> None:
    """Tell the lab where the plans write; each snapshot is then one short request."""
    scope = footprint(tunnels if tunnels is not None else seed_tunnels())
    lab.write_file(SCOPE_FILE, json.dumps(dataclasses.asdict(scope)), mode=0o600)


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
