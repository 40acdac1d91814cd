"""The document's "Automated Tunnel Healthcheck and Failover" script, with its defects fixed.

The script is the seed's line for line except where a comment `# vpn-wizard:`
says otherwise (see docs/deviations.md#updown-quoting). strongSwan runs it with
PLUTO_VERB=up-client/down-client each time a tunnel's CHILD_SA comes or goes,
which is what makes failover automatic.
"""

from __future__ import annotations

from importlib import resources

from wizard.model import Setup

_TEMPLATE = (resources.files("wizard.render") / "aws-updown.sh.in").read_text(encoding="utf-8")


def script(setup: Setup) -> str:
    """The updown script's text; the MTU and forwarding follow the setup.

    The document's script turns on `ip_forward` every time a tunnel comes up;
    an operator who declined forwarding (the box is the only client) keeps it
    off, so that line is dropped then.
    """
    text = _TEMPLATE.replace("__MTU__", str(setup.choices.mtu))
    if not setup.choices.enable_forwarding:
        text = text.replace("\tsysctl -w net.ipv4.ip_forward=1\n", "")
    return text
