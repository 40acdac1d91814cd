"""Checks against the live box that must pass before the first change.

The model's validation knows the operator's answers; only the box knows
whether the physical interface exists, whether strongSwan is installed or
whether a `Tunnel1` that is not ours is in the way. Failing here costs
nothing; failing at step 9 costs a rollback.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address

from wizard.fields import show
from wizard.journal import unfinished
from wizard.model import Problem, Setup
from wizard.render import swanctl
from wizard.render.blocks import lines_outside_blocks
from wizard.render.ipsec import IPSEC_CONF, IPSEC_SECRETS, existing_conns
from wizard.system import System
from wizard.system.paths import Root


def conflicting_conns(setup: Setup, ipsec_conf: str | None) -> list[Problem]:
    """Conns of the operator's own in ipsec.conf that the plan would duplicate.

    A hand-written `conn` (outside the wizard's blocks) with a tunnel's name
    would make strongSwan load two conns of that name; one with a tunnel's
    AWS endpoint as `right=` would negotiate a second set of SAs with the same
    peer, and the wizard's secret line would sit beside the operator's for the
    same address pair. Either is refused, naming the conn and its line, before
    anything is written. Only the stroke backend reads ipsec.conf.
    """
    if setup.choices.backend != "stroke" or not ipsec_conf:
        return []
    problems: list[Problem] = []
    conns = existing_conns(ipsec_conf)
    for index, tunnel in enumerate(setup.tunnels):
        ordinal = f"Tunnel {index + 1}"
        for conn in conns.values():
            where = f"{IPSEC_CONF} line {conn.line}"
            if conn.name == tunnel.name:
                problems.append(Problem(
                    f"tunnels[{index}].name",
                    f"{ordinal}'s name {tunnel.name} is already a conn of this box's own "
                    f"({where}, outside the wizard's blocks); strongSwan would load two conns "
                    "of that name. Rename or remove that conn, or give the tunnel another name",
                ))
            elif conn.right is not None and _same_address(conn.right, tunnel.aws_outside_ip):
                problems.append(Problem(
                    f"tunnels[{index}].aws_outside_ip",
                    f"conn {show(conn.name)} ({where}) already connects to "
                    f"{tunnel.aws_outside_ip}, {ordinal}'s AWS endpoint; two conns to the same "
                    "peer would fight over its security associations. Remove that conn (an "
                    "earlier hand-made setup of this VPN?) or comment it out, then run the "
                    "wizard again",
                ))
    return problems


SWANCTL_MAIN = "/etc/swanctl/swanctl.conf"
_SECRET_LINE = re.compile(r"^\s*([^:#\s][^:#]*?)\s*:\s*(PSK|XAUTH|EAP|RSA|ECDSA)\b")


def conflicting_secrets(setup: Setup, ipsec_secrets: str | None) -> list[Problem]:
    """Lines of the operator's own in ipsec.secrets that hold a key for a tunnel's AWS endpoint.

    The wizard adds its own line for each tunnel; beside an older one for the
    same peer, strongSwan would pick one of the two keys by its own rules, and
    the operator could not tell which. The line is named by number; its key is
    never quoted.
    """
    if setup.choices.backend != "stroke" or not ipsec_secrets:
        return []
    problems: list[Problem] = []
    for number, line in lines_outside_blocks(ipsec_secrets):
        match = _SECRET_LINE.match(line)
        if not match:
            continue
        selectors = match.group(1).split()
        for index, tunnel in enumerate(setup.tunnels):
            if any(_same_address(word, tunnel.aws_outside_ip) for word in selectors):
                problems.append(Problem(
                    f"tunnels[{index}].aws_outside_ip",
                    f"{IPSEC_SECRETS} line {number} (outside the wizard's blocks) already holds "
                    f"a key for {tunnel.aws_outside_ip}, Tunnel {index + 1}'s AWS endpoint; "
                    "with a second one strongSwan would pick either. Remove that line (or "
                    "comment it out) and run the wizard again",
                ))
    return problems


def _same_address(text: str, address: IPv4Address) -> bool:
    try:
        return IPv4Address(text) == address
    except ValueError:
        return False


def conflicting_swanctl(setup: Setup, files: dict[str, str]) -> list[Problem]:
    """Connections of the operator's own swanctl files that the plan would duplicate.

    The swanctl backend's counterpart of `conflicting_conns`: a connection of
    a tunnel's name in another file would be merged with the wizard's, and one
    whose `remote_addrs` is a tunnel's AWS endpoint would negotiate a second
    IKE SA with the same peer. The wizard's own two files are skipped.
    """
    if setup.choices.backend != "swanctl":
        return []
    problems: list[Problem] = []
    for path, text in sorted(files.items()):
        if path in (swanctl.SWANCTL_CONF, swanctl.SWANCTL_SECRETS):
            continue
        try:
            connections = swanctl.parse(text).get("connections", {})
        except swanctl.ParseError:  # not ours to judge; strongSwan reports its own files
            continue
        if not isinstance(connections, dict):
            continue
        for name, conn in connections.items():
            if not isinstance(conn, dict):
                continue
            remotes = str(conn.get("remote_addrs", "")).replace(",", " ").split()
            for index, tunnel in enumerate(setup.tunnels):
                ordinal = f"Tunnel {index + 1}"
                if name == tunnel.name:
                    problems.append(Problem(
                        f"tunnels[{index}].name",
                        f"{ordinal}'s name {tunnel.name} is already a connection in {path}; "
                        "swanctl would merge the two. Rename or remove that connection, or give "
                        "the tunnel another name",
                    ))
                elif any(_same_address(r, tunnel.aws_outside_ip) for r in remotes):
                    problems.append(Problem(
                        f"tunnels[{index}].aws_outside_ip",
                        f"connection {show(name)} in {path} already connects to "
                        f"{tunnel.aws_outside_ip}, {ordinal}'s AWS endpoint; two connections to "
                        "the same peer would fight over its security associations. Remove it, "
                        "then run the wizard again",
                    ))
    return problems


def _swanctl_files(root: Root) -> dict[str, str]:
    """The target's swanctl.conf and conf.d/*.conf, by path (unreadable ones left out)."""
    paths = [SWANCTL_MAIN]
    directory = root.path(swanctl.SWANCTL_DIR)
    if directory.is_dir() and not directory.is_symlink():
        paths += [f"{swanctl.SWANCTL_DIR}/{p.name}" for p in sorted(directory.glob("*.conf"))]
    files: dict[str, str] = {}
    for path in paths:
        try:
            text = root.read(path)
        except (OSError, ValueError):
            continue
        if text is not None:
            files[path] = text
    return files


def box_conflicts(setup: Setup, root: Root) -> list[Problem]:
    """`conflicting_conns` and `conflicting_secrets` against the target's own files.

    A file that cannot be read (ipsec.secrets without root) adds nothing here.
    """
    problems: list[Problem] = []
    for path, check in ((IPSEC_CONF, conflicting_conns), (IPSEC_SECRETS, conflicting_secrets)):
        try:
            text = root.read(path)
        except (OSError, ValueError):  # unreadable or not UTF-8: reported where it is edited
            continue
        problems += check(setup, text)
    if setup.choices.backend == "swanctl":
        problems += conflicting_swanctl(setup, _swanctl_files(root))
    return problems


def preflight(setup: Setup, system: System) -> list[str]:
    """Everything on the box that stops the plan from applying, each with a way out."""
    problems: list[str] = [str(p.message) for p in box_conflicts(setup, system.root)]
    choices = setup.choices
    for role, name in (("physical (WAN)", choices.physical_interface),
                       *(("LAN", n) for n in choices.lan_interfaces)):
        if system.links.get(name) is None:
            problems.append(
                f"the {role} interface {name} does not exist on this box; "
                "choose one that 'ip link' lists"
            )
    if choices.backend == "swanctl":
        if not system.strongswan.swanctl_installed():
            problems.append(
                "swanctl is not installed (the swanctl backend needs it); install it first, "
                "e.g. 'apt-get install charon-systemd strongswan-swanctl'"
            )
    elif not system.strongswan.installed():
        problems.append(
            "strongSwan is not installed (no 'ipsec' command on PATH); install it first, "
            "e.g. 'apt-get install strongswan-starter strongswan-charon'"
        )
    if choices.mode == "manual":
        for tunnel in setup.tunnels:
            info = system.links.get(tunnel.name)
            if info is None:
                continue
            vti = info.vti
            if info.kind != "vti" or vti is None or (vti.ikey, vti.okey) != (tunnel.mark,) * 2:
                problems.append(
                    f"an interface named {tunnel.name} already exists and is not this "
                    f"tunnel's VTI (key {tunnel.mark}); remove it or rename the tunnel"
                )
    if not system.dry_run:
        pending = unfinished(system.root)
        if pending is not None:
            problems.append(
                f"an earlier {pending.kind} ({pending.id}) is unfinished ({pending.state}); "
                "run 'vpn-wizard rollback' or 'vpn-wizard confirm' first"
            )
    return problems
