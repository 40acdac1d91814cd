"""The preflight: what the box says about the plan, before the first change.

The model's validation knows the operator's answers; only the box knows
whether the physical interface exists, whether strongSwan is installed or
whether a `Tunnel1` that is not ours is in the way. Failing here costs
nothing; failing at step 9 costs a rollback. Three views of the same
question, all in the core and all working on what `wizard.system` reports:

* `host_checks(facts)`: the welcome screen's list (root, strongSwan, tools,
  VTI, distribution, boot-time network configuration), each with its fix;
* `interface_problems(facts, choices)`: the Interfaces step's mistakes (a WAN
  that is not there, down or without IPv4, a private address on no interface);
* `preflight(setup, system)`: right before applying, against the target the
  engine will change (the simulated kernel under `--root` included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Literal

from wizard.blocks import lines_outside_blocks
from wizard.fields import show
from wizard.model import Choices, Problem, Setup
from wizard.render import frr, swanctl
from wizard.render.ipsec import IPSEC_CONF, IPSEC_SECRETS, existing_conns
from wizard.system import System
from wizard.system.host import TOOLS, HostFacts, version_tuple
from wizard.system.paths import Root

#: The oldest strongSwan the AWS document recommends ("not recommended ... prior to 5.5.1").
MIN_STRONGSWAN = (5, 5, 1)

CheckStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One preflight check, as the welcome screen lists it.

    Attributes:
        id: stable key ("root", "strongswan", "tool.ip", "vti", "distribution", "ifupdown").
        title: what is checked, in a few words.
        status: "pass", "warn" (shown, allowed) or "fail".
        detail: what was found.
        fix: a command or instruction that resolves a warning or failure ("" when passing).
        blocks_apply: a failure that stops the plan from being applied to this box;
            never true in a dry run, which changes nothing.
    """

    id: str
    title: str
    status: CheckStatus
    detail: str
    fix: str = ""
    blocks_apply: bool = False


def install_command(facts: HostFacts, debian_package: str, other_package: str = "") -> str:
    """The command that installs a package on this distribution, as the operator would type it."""
    ids = set(facts.distribution_id)
    if ids & {"debian", "ubuntu"}:
        return f"sudo apt install {debian_package}"
    package = other_package or debian_package
    if ids & {"fedora", "rhel", "centos"}:
        return f"sudo dnf install {package}"
    if ids & {"suse", "opensuse"}:
        return f"sudo zypper install {package}"
    if "arch" in ids:
        return f"sudo pacman -S {package}"
    if "alpine" in ids:
        return f"sudo apk add {package}"
    return f"install {package} with your distribution's package manager"


def host_checks(facts: HostFacts, *, dry_run: bool) -> list[Check]:
    """The welcome screen's checks, in the order an operator fixes them.

    A dry run blocks nothing: it records instead of changing, so it needs no
    root, no strongSwan and no VTI support.
    """
    blocks = not dry_run
    checks: list[Check] = []
    if facts.is_root:
        checks.append(Check("root", "Running as root", "pass", "yes"))
    elif dry_run:
        checks.append(Check("root", "Running as root", "pass",
                            "not needed: a dry run changes nothing"))
    else:
        checks.append(Check("root", "Running as root", "fail",
                            "no: the plan writes to /etc and configures the network",
                            "run it again with sudo (sudo vpn-wizard), or add --dry-run", blocks))

    if not facts.is_host:
        # Under --root the engine drives a simulated kernel and strongSwan beside
        # the files: nothing of this machine's is used, so nothing of it is asked for.
        simulated = "not needed: --root applies to a simulated kernel"
        checks.append(Check("strongswan", "strongSwan installed", "pass", simulated))
        checks += [Check(f"tool.{tool}", f"'{tool}' command", "pass", simulated)
                   for tool in TOOLS]
        checks.append(Check("vti", "Kernel support for VTI (ip_vti)", "pass", simulated))
        return checks + _target_checks(facts)

    version = facts.strongswan_version
    install = install_command(facts, "strongswan-starter", "strongswan")
    if version is None and (facts.starter or facts.swanctl):
        found = "the ipsec starter" if facts.starter else "swanctl"
        checks.append(Check("strongswan", "strongSwan installed", "warn",
                            f"{found} is installed but did not say its version",
                            "check it with: ipsec --version (or swanctl --version)"))
    elif version is None:
        checks.append(Check("strongswan", "strongSwan installed", "fail",
                            "no 'ipsec' or 'swanctl' command answered", install, blocks))
    elif version_tuple(version) < MIN_STRONGSWAN:
        checks.append(Check("strongswan", "strongSwan installed", "warn",
                            f"version {version}: AWS does not recommend versions before 5.5.1",
                            "install strongSwan 5.5.1 or later (your distribution's "
                            "backports, or a newer release)"))
    else:
        checks.append(Check("strongswan", "strongSwan installed", "pass", f"version {version}"))

    for tool, package in TOOLS.items():
        path = facts.tools.get(tool)
        if path:
            checks.append(Check(f"tool.{tool}", f"'{tool}' command", "pass", path))
        else:
            checks.append(Check(f"tool.{tool}", f"'{tool}' command", "fail", "not found on PATH",
                                install_command(facts, package), blocks))

    vti_title = "Kernel support for VTI (ip_vti)"
    if facts.vti in ("loaded", "builtin"):
        checks.append(Check("vti", vti_title, "pass", f"ip_vti is {facts.vti}"))
    elif facts.vti == "module":
        checks.append(Check("vti", vti_title, "pass", "ip_vti module available (loads on use)"))
    elif facts.vti == "missing":
        checks.append(Check("vti", vti_title, "fail",
                            "this kernel has no ip_vti: 'ip link add ... type vti' will fail",
                            "install a kernel with CONFIG_NET_IPVTI (on Ubuntu: sudo apt "
                            "install linux-modules-extra-$(uname -r))", blocks))
    else:
        checks.append(Check("vti", vti_title, "warn", "no kernel configuration to read",
                            "check with: sudo modprobe ip_vti"))
    return checks + _target_checks(facts)


def _target_checks(facts: HostFacts) -> list[Check]:
    """What the target's own files say: its distribution and what reads the files at boot."""
    checks: list[Check] = []
    if facts.distribution:
        if set(facts.distribution_id) & {"debian", "ubuntu"}:
            checks.append(Check("distribution", "Distribution", "pass", facts.distribution))
        else:
            checks.append(Check("distribution", "Distribution", "warn",
                                f"{facts.distribution}: AWS tested the document on Ubuntu only",
                                "paths and package names may differ; review the plan closely"))
    else:
        checks.append(Check("distribution", "Distribution", "warn", "no /etc/os-release",
                            "review the plan closely"))

    if facts.ifupdown:
        checks.append(Check("ifupdown", "ifupdown (for persistence)", "pass", "ifup found"))
    elif facts.systemd and (facts.netplan or facts.networkd):
        other = "netplan" if facts.netplan else "systemd-networkd"
        checks.append(Check("ifupdown", "ifupdown (for persistence)", "pass",
                            f"no 'ifup', but {other} brings the tunnels back at boot "
                            "(the persistence proposed here)"))
    else:
        checks.append(Check("ifupdown", "ifupdown (for persistence)", "warn",
                            "no 'ifup': /etc/network/interfaces is not read at boot, so the "
                            "seed's persistence would not bring the tunnels back",
                            install_command(facts, "ifupdown")
                            + ", or choose persistence netplan or systemd-networkd"))
    return checks


def blocking(checks: list[Check]) -> list[Check]:
    """The failed checks that stop the plan from being applied."""
    return [c for c in checks if c.status == "fail" and c.blocks_apply]


def interface_problems(facts: HostFacts, choices: Choices) -> list[Problem]:
    """The Interfaces step's mistakes, found against the probed interfaces; pure.

    Each is placed on its question's field (`Problem.where`) so the step shows
    it, the sidebar does not tick the step, and Review lists it. Nothing is
    said when the interfaces were not read (`facts.interfaces is None`): not
    knowing is not a mistake of the operator's.

    Errors: a WAN or LAN interface that does not exist; a WAN without IPv4
    (no tunnel can leave through it); a private (behind-NAT) address that is
    on no interface (the tunnels would be bound to nothing). Warning: a WAN
    that is down (it may be brought up before the tunnels start).
    """
    if facts.interfaces is None:
        return []
    listed = ", ".join(i.name for i in facts.interfaces) or "none"
    problems: list[Problem] = []
    wan_name = choices.physical_interface
    wan = facts.interface(wan_name)
    where = "choices.physical_interface"
    if wan is None:
        problems.append(Problem(
            where, f"{wan_name} is not an interface of this box (it has: {listed}); "
            "choose the one the AWS endpoints are reached through"))
    elif not wan.addresses:
        problems.append(Problem(
            where, f"{wan_name} has no IPv4 address, so no tunnel can leave through it; "
            f"give it one (e.g. 'ip addr add ADDRESS/PREFIX dev {wan_name}', or your network "
            "configuration) or choose the interface that has this box's address"))
    elif wan.state not in ("up", "unknown"):
        problems.append(Problem(
            where, f"{wan_name} is {wan.state}; the tunnels cannot come up until it is up "
            f"('ip link set {wan_name} up', or check its cable/link)", "warning"))
    if choices.local_ip is not None:
        holder = next((i for i in facts.interfaces if i.holds(choices.local_ip)), None)
        if holder is None:
            problems.append(Problem(
                "choices.local_ip", f"{choices.local_ip} is on no interface of this box; the "
                "tunnels would be bound to an address it does not have. Give the address the "
                "NAT forwards to" + (f" (on {wan_name}: {wan.addresses[0].ip})"
                                     if wan is not None and wan.addresses else "")))
        elif holder.name != wan_name:
            problems.append(Problem(
                "choices.local_ip", f"{choices.local_ip} is on {holder.name}, not on the WAN "
                f"interface {wan_name}; the tunnels' packets would leave by one and be "
                "addressed from the other. Choose the address on the WAN interface, or make "
                f"{holder.name} the WAN interface", "warning"))
    for index, name in enumerate(choices.lan_interfaces):
        if facts.interface(name) is None:
            problems.append(Problem(
                f"choices.lan_interfaces[{index}]",
                f"LAN interface {name} is not an interface of this box (it has: {listed}); "
                "choose one it has, or none"))
    return problems


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


def frr_problems(system: System) -> list[str]:
    """What stops BGP on this box: FRR missing, or a BGP router of the operator's own."""
    problems: list[str] = []
    if system.frr is None or not system.frr.installed():
        problems.append(
            "FRR is not installed: dynamic routing (BGP) runs in FRR's bgpd; install it "
            "first, e.g. 'apt-get install frr'"
        )
    try:
        text = system.root.read(frr.FRR_CONF)
    except (OSError, ValueError):
        text = None
    router = frr.operator_router(text)
    if router is not None:
        problems.append(
            f"{frr.FRR_CONF} already configures a BGP router of its own ({router!r}) outside "
            "the wizard's block: FRR runs one BGP router per VRF, so the wizard cannot add "
            "its own beside it. Move that router into a VRF or remove it (docs/routing.md), "
            "then apply again"
        )
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
    if setup.dynamic:
        problems += frr_problems(system)
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
        from wizard.engine.journal import unfinished  # the engine: only when applying

        pending = unfinished(system.root)
        if pending is not None:
            problems.append(
                f"an earlier {pending.kind} ({pending.id}) is unfinished ({pending.state}); "
                "run 'vpn-wizard rollback' or 'vpn-wizard confirm' first"
            )
    return problems
