"""Where the `vpn-wizard` executable lives on this box, for the heartbeat unit's ExecStart.

systemd wants an absolute path and starts units with a minimal PATH, so the
plan cannot just write `vpn-wizard`. The renderers stay pure: the command
that builds a plan for this box asks here and passes the answer to
`build_plan(..., heartbeat_command=...)`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from wizard.render.heartbeat import DEFAULT_COMMAND


def vpn_wizard_command() -> str:
    """The absolute path of the running `vpn-wizard`, else the one on PATH, else the default.

    The running one comes first: an operator who runs the wizard from a
    virtualenv wants the heartbeat to run that same installation.
    """
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == "vpn-wizard" and running.exists():
        # absolute(), not resolve(): a virtualenv's bin/ must stay in the path.
        return str(running.absolute())
    found = shutil.which("vpn-wizard")
    return str(Path(found).absolute()) if found else DEFAULT_COMMAND
