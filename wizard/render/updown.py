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
    """The updown script's text; only the MTU depends on the setup."""
    return _TEMPLATE.replace("__MTU__", str(setup.choices.mtu))
