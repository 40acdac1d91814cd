"""Checks against the live box that must pass before the first change.

The model's validation knows the operator's answers; only the box knows
whether the physical interface exists, whether strongSwan is installed or
whether a `Tunnel1` that is not ours is in the way. Failing here costs
nothing; failing at step 9 costs a rollback.
"""

from __future__ import annotations

from wizard.journal import unfinished
from wizard.model import Setup
from wizard.system import System


def preflight(setup: Setup, system: System) -> list[str]:
    """Everything on the box that stops the plan from applying, each with a way out."""
    problems: list[str] = []
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
