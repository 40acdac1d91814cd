"""The document's tunnel heartbeat, as a service that survives the shell and reboots.

The document runs `./heartbeat.sh <IP1> <IP2> &`: a bash loop pinging each
AWS inside address every 5 seconds. The plan installs a systemd unit running
`vpn-wizard heartbeat IP1 IP2 --interval N` instead (`wizard.heartbeat`):
the same pings, restarted when it dies, started at boot, and writing what
it saw to a state file that `vpn-wizard status` shows.

The unit needs the absolute path of the `vpn-wizard` executable. Renderers
do not look at the host, so the caller passes it in (`command`); the default
is where `pip install` puts console scripts for the system interpreter.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from wizard.model import Setup
from wizard.render.boot_guard import ZIPAPP_CACHE

if TYPE_CHECKING:  # the session reads DEFAULT_COMMAND at start; the plan's types load with it
    from wizard.plan_types import Note

DEFAULT_COMMAND = "/usr/local/bin/vpn-wizard"
"""The executable the unit runs when the caller does not say (pip's system-wide location)."""
UNIT_NAME = "vpn-wizard-heartbeat.service"
UNIT = f"/etc/systemd/system/{UNIT_NAME}"


def targets(setup: Setup) -> list[str]:
    """The remote (AWS) inside addresses, one per tunnel, as the document says to ping."""
    return [str(t.aws_inside_cidr.ip) for t in setup.tunnels]


FAST_INTERVAL = 1
"""Seconds between pings with fast failover: 2 missed in a row is then a dead tunnel."""


def argv(setup: Setup, command: str = DEFAULT_COMMAND) -> list[str]:
    """The heartbeat's command line: the document's two addresses and its interval.

    With fast failover it pings every second and is told, per address, the
    tunnel's interface and route metric (the mark, as every route of the plan
    uses) and the VPC CIDRs, so it can take a dead tunnel's routes off.
    """
    choices = setup.choices
    if not choices.fast_failover:
        return [command, "heartbeat", *targets(setup),
                "--interval", str(choices.heartbeat_interval)]
    line = [command, "heartbeat", *targets(setup), "--interval", str(FAST_INTERVAL)]
    for tunnel in setup.tunnels:
        line += ["--failover", f"{tunnel.name}:{tunnel.mark}"]
    for cidr in choices.vpc_cidrs:
        line += ["--route", str(cidr)]
    return line


def unit(setup: Setup, command: str = DEFAULT_COMMAND) -> str:
    """A systemd unit that keeps the heartbeat running, restarted whenever it stops.

    `Restart=always` rather than on-failure: the heartbeat never exits on
    its own, so any exit (a kill by an operator included) is a reason to come back.
    """
    if not command.startswith("/"):
        raise ValueError(f"systemd needs an absolute path for ExecStart, not {command!r}")
    return (
        "[Unit]\n"
        "Description=vpn-wizard heartbeat: keeps the AWS tunnels from idling out\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        # The release zipapp unpacks on tmpfs, afresh each boot (render.boot_guard).
        f"Environment=SHIV_ROOT={ZIPAPP_CACHE}\n"
        f"ExecStart={shlex.join(argv(setup, command))}\n"
        "Restart=always\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def manual_command(setup: Setup, command: str = DEFAULT_COMMAND) -> str:
    """The document's way, for a box without systemd: started in the background by hand."""
    return f"{shlex.join(argv(setup, command))} >/dev/null 2>&1 &"


def without_systemd_note(setup: Setup, command: str = DEFAULT_COMMAND) -> Note:
    """What to do where PID 1 is not systemd and the unit therefore cannot run."""
    from wizard.plan_types import Note

    return Note(
        "heartbeat-without-systemd",
        "Where systemd is not running (PID 1 is another init), apply skips the unit and says "
        "so; start the heartbeat the document's way instead, e.g. from /etc/rc.local: "
        f"{manual_command(setup, command)}",
    )
