"""strongSwan's state from `ipsec statusall`, for boxes whose charon serves no vici socket.

vici (see `vici_source`) is preferred: it is a socket, not a process per
refresh, and its numbers are exact. Without the vici plugin (a charon from a
distribution that ships it separately) the starter's `statusall` is the only
way in, so this module parses it: the text format of strongSwan 5.x's
stroke plugin, the one the AWS document tells operators to read.

`parse_statusall` is pure and tested on recorded output; `read_statusall`
runs the command once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from wizard.status.model import ChildSa, IkeSa
from wizard.system.base import run_argv

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_DELTA = r"(\d+) (second|minute|hour|day)s?"

_HEADER = re.compile(r"^Status of IKE charon daemon \(strongSwan ([^,\s]+)")
_SA_LINE = re.compile(r"^\s*(?P<name>[^\s\[{]+)(?P<kind>[\[{])(?P<id>\d+)[\]}]:\s+(?P<rest>.*)$")
_IKE_STATE = re.compile(
    rf"^(?P<state>[A-Z_]+)(?: {_DELTA} ago)?, "
    r"(?P<local>[^\[\s]+)\[(?P<local_id>[^\]]*)\]\.\.\.(?P<remote>[^\[\s]+)\[(?P<remote_id>[^\]]*)\]"
)
_IKE_SPIS = re.compile(r"^IKEv(?P<version>\d) SPIs: ")
_REKEY = re.compile(rf"(?:rekeying|reauthentication) in {_DELTA}")
_CHILD_STATE = re.compile(r"^(?P<state>[A-Z_]+), (?P<mode>[A-Z_]+)")
_CHILD_TRAFFIC = re.compile(
    r"^(?P<algs>[A-Za-z0-9_/]+)?,?\s*(?P<bytes_in>\d+) bytes_i"
    r"(?: \((?P<pkts_in>\d+) pkts?, (?P<use_in>\d+)s ago\))?"
    r", (?P<bytes_out>\d+) bytes_o"
    r"(?: \((?P<pkts_out>\d+) pkts?, (?P<use_out>\d+)s ago\))?"
)
_INSTALLED_AGO = re.compile(rf"installed {_DELTA} ago")


@dataclass(frozen=True)
class Statusall:
    """What one `ipsec statusall` said.

    Attributes:
        running: False when the daemon is not running (the starter's exit
            status 3, or no "Status of IKE charon daemon" header).
        version: strongSwan's version from the header ("5.9.8").
        conns: names under "Connections:" (what the daemon has loaded).
        sas: every IKE SA listed, with its CHILD SAs, in the order listed.
    """

    running: bool
    version: str | None = None
    conns: tuple[str, ...] = ()
    sas: tuple[IkeSa, ...] = ()


def _seconds(number: str | None, unit: str | None) -> int | None:
    """strongSwan's rounded "%V" durations ("7 hours") back to seconds (approximate)."""
    if number is None or unit is None:
        return None
    return int(number) * _UNITS[unit]


def parse_statusall(text: str) -> Statusall:
    """Parse `ipsec statusall` output (strongSwan 5.x, stroke plugin).

    Times in this format are rounded by strongSwan ("7 hours"), so the
    seconds returned are approximate; counters are exact. Packet counts are
    None where strongSwan prints none (it omits them for a direction that has
    not been used).
    """
    lines = text.splitlines()
    header = next((m for m in map(_HEADER.match, lines) if m), None)
    if header is None:
        return Statusall(running=False)
    conns: list[str] = []
    section = ""
    # Parsed IKE SAs as mutable dicts, keyed by "name[id]", in order.
    ikes: dict[str, dict] = {}
    current_ike: str | None = None
    children: dict[str, dict] = {}
    child_owner: dict[str, str] = {}
    for line in lines:
        if line and not line[0].isspace():
            section = line.split("(", 1)[0].split(":", 1)[0].strip()
            continue
        if section == "Connections":
            name = line.strip().split(":", 1)[0]
            if name and name not in conns:
                conns.append(name)
            continue
        if section != "Security Associations":
            continue
        match = _SA_LINE.match(line)
        if not match:
            continue
        name, kind, ident, rest = match.group("name", "kind", "id", "rest")
        if kind == "[":
            key = f"{name}[{ident}]"
            ike = ikes.setdefault(key, {"name": name, "id": int(ident)})
            current_ike = key
            _parse_ike_line(ike, rest)
        else:
            key = f"{name}{{{ident}}}"
            child = children.setdefault(key, {"name": name, "id": int(ident)})
            if current_ike is not None:
                child_owner.setdefault(key, current_ike)
            _parse_child_line(child, rest)
    sas = []
    for key, ike in ikes.items():
        kids = tuple(
            _child(children[c]) for c, owner in child_owner.items() if owner == key
        )
        sas.append(
            IkeSa(
                name=ike["name"],
                state=ike.get("state", "UNKNOWN"),
                version=ike.get("version"),
                local_host=ike.get("local"),
                remote_host=ike.get("remote"),
                established_s=ike.get("established_s"),
                rekey_in_s=ike.get("rekey_in_s"),
                algorithms=ike.get("algorithms", ""),
                children=kids,
            )
        )
    return Statusall(True, header.group(1), tuple(conns), tuple(sas))


def _parse_ike_line(ike: dict, rest: str) -> None:
    state = _IKE_STATE.match(rest)
    if state:
        ike["state"] = state.group("state")
        ike["established_s"] = _seconds(state.group(2), state.group(3))
        ike["local"] = state.group("local")
        ike["remote"] = state.group("remote")
        return
    spis = _IKE_SPIS.match(rest)
    if spis:
        ike["version"] = int(spis.group("version"))
        rekey = _REKEY.search(rest)
        if rekey:
            ike["rekey_in_s"] = _seconds(rekey.group(1), rekey.group(2))
        return
    if rest.startswith("IKE proposal: "):
        ike["algorithms"] = rest[len("IKE proposal: ") :].strip()


def _parse_child_line(child: dict, rest: str) -> None:
    traffic = _CHILD_TRAFFIC.match(rest)
    if traffic:
        child["algorithms"] = traffic.group("algs") or ""
        child["bytes_in"] = int(traffic.group("bytes_in"))
        child["bytes_out"] = int(traffic.group("bytes_out"))
        for key, group in (("packets_in", "pkts_in"), ("packets_out", "pkts_out")):
            value = traffic.group(group)
            child[key] = int(value) if value is not None else None
        rekey = _REKEY.search(rest)
        if rekey:
            child["rekey_in_s"] = _seconds(rekey.group(1), rekey.group(2))
        return
    state = _CHILD_STATE.match(rest)
    if state and "state" not in child:
        child["state"] = state.group("state")
        child["mode"] = state.group("mode")
        installed = _INSTALLED_AGO.search(rest)
        if installed:
            child["installed_s"] = _seconds(installed.group(1), installed.group(2))


def _child(data: dict) -> ChildSa:
    return ChildSa(
        name=data["name"],
        state=data.get("state", "UNKNOWN"),
        installed_s=data.get("installed_s"),
        rekey_in_s=data.get("rekey_in_s"),
        algorithms=data.get("algorithms", ""),
        bytes_in=data.get("bytes_in", 0),
        bytes_out=data.get("bytes_out", 0),
        packets_in=data.get("packets_in"),
        packets_out=data.get("packets_out"),
    )


Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Through the one command helper (`run_argv`); reads only, so nothing is logged."""
    return run_argv(argv, [], check=False, timeout=15)


def read_statusall(run: Runner = _run, binary: str = "ipsec") -> Statusall:
    """Run `ipsec statusall` once and parse it.

    Raises:
        FileNotFoundError: the `ipsec` starter script is not installed.
    """
    if run is _run and shutil.which(binary) is None:
        raise FileNotFoundError(binary)
    proc = run([binary, "statusall"])
    result = parse_statusall(proc.stdout)
    if proc.returncode == 3 and not proc.stdout.strip():
        # The starter's "service not running" status.
        return Statusall(running=False)
    return result
