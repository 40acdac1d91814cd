"""The document's tunnel heartbeat, as a service that survives the shell and reboots."""

from __future__ import annotations

from wizard.model import Setup

SCRIPT = "/usr/local/sbin/vpn-wizard-heartbeat"
UNIT_NAME = "vpn-wizard-heartbeat.service"
UNIT = f"/etc/systemd/system/{UNIT_NAME}"


def targets(setup: Setup) -> list[str]:
    """The remote (AWS) inside addresses, one per tunnel, as the document says to ping."""
    return [str(t.aws_inside_cidr.ip) for t in setup.tunnels]


def script(setup: Setup) -> str:
    """The document's loop for any number of targets, variables quoted."""
    return (
        "#!/bin/bash\n"
        "# vpn-wizard heartbeat: pings each AWS inside address so DPD sees traffic.\n"
        "\n"
        "while true; do\n"
        '\tfor target in "$@"; do\n'
        '\t\tping -c 1 "$target" &> /dev/null\n'
        "\tdone\n"
        f"\tsleep {setup.choices.heartbeat_interval}\n"
        "done\n"
    )


def unit(setup: Setup) -> str:
    """A systemd unit that keeps the loop running, restarted on failure."""
    return (
        "[Unit]\n"
        "Description=vpn-wizard heartbeat: keeps the AWS tunnels from idling out\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        f"ExecStart={SCRIPT} {' '.join(targets(setup))}\n"
        "Restart=always\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
