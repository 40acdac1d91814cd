"""What a newcomer answers to `sudo vpn-wizard --plain` in the booted lab (pty_driver.py's rules).

Kept apart from test_boot_lab.py so that a fast test (tests/test_plain_rules.py)
can check, without booting anything, that these rules still answer every
question plain mode asks: a question added to the wizard otherwise shows up
only as a stuck driver, minutes into the boot lab.
"""

from __future__ import annotations

from typing import Any

import bootimage


def plain_spec(persona: bootimage.Persona, persistence: str, *, aws_file: str, vpc_cidr: str,
               go_ahead: str) -> dict[str, Any]:
    """What a newcomer answers to `sudo vpn-wizard --plain` on this box (pty_driver.py's rules).

    The defaults where a newcomer has nothing to add (forwarding, the tunnels'
    values from AWS's file, the heartbeat), the box's own facts where the
    wizard asks (the WAN and LAN interfaces, the VPC's CIDR), and the choices
    of the persona's other cycles (manual mode, its backend and persistence).
    Each is found by the question's text and chosen by the option's label,
    so the keys follow the screen, not the order of the questions or options.
    """
    backend = {"swanctl": "swanctl", "stroke": "ipsec.conf"}[persona.backend]
    persistence = {"seed": "As the document", "netplan": "netplan",
                   "networkd": "systemd-networkd"}[persistence]
    return {
        "timeout": 300,
        "rules": [
            {"question": "The AWS configuration file", "action": {"type": aws_file}},
            {"question": "Enable IP packet forwarding", "action": {"enter": True}},
            {"question": "Change any of Tunnel1", "action": {"enter": True}},
            {"question": "Change any of Tunnel2", "action": {"enter": True}},
            {"question": "How should the tunnels be built", "action": {"select": "Manual"}},
            {"question": "How should strongSwan be configured", "action": {"select": backend}},
            {"question": "Which interface do the tunnels ride on",
             "action": {"select": bootimage.BOX_WAN_IF}},
            {"question": "Is this box behind NAT", "action": {"key": "n"}},
            {"question": "Which LAN interfaces", "action": {"check": [bootimage.BOX_LAN_IF]}},
            {"question": "Static routes to the VPC, or dynamic routing",
             "action": {"select": "Static"}},
            {"question": "The VPC's CIDRs", "action": {"type": vpc_cidr}},
            {"question": "What should survive a reboot", "action": {"select": persistence}},
            {"question": "Run a heartbeat", "action": {"enter": True}},
            {"question": "Seconds between heartbeat pings", "action": {"enter": True}},
            {"question": "Move the VPC routes off a tunnel that stops answering",
             "action": {"enter": True}},
            {"question": "Step 1 of", "action": {"select": "Skip to the end of the review"}},
            {"question": "Save these answers to a file", "action": {"key": "n"}},
            {"question": "steps now?", "action": {"key": "y"}},
        ],
        "expect": [
            {"text": "Keep these changes?", "after_file": go_ahead, "type": "yes\r"},
            {"text": "Confirmed: the changes are kept."},
        ],
    }
