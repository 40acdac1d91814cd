"""Where the `vpn-wizard` executable lives on this box, for the ExecStart of the wizard's units.

systemd wants an absolute path and starts units with a minimal PATH, so the
plan cannot just write `vpn-wizard`. The renderers stay pure: the command
that builds a plan for this box asks here and passes the answer to
`build_plan(..., heartbeat_command=...)`.

The unit's fallback (where the wizard is installed when nothing better is
known) is the caller's to give: `system/` decides nothing about the product.

The wizard reaches a box in one of three shapes (README "Install on a box"):
the release zipapp copied to any path (`/usr/local/sbin/vpn-wizard`, or run as
`python3 vpn-wizard.pyz`), a pipx or pip console script, or a development
virtualenv. The unit must run the same installation the operator ran.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path


def running_zipapp(argv0: str | None = None) -> Path | None:
    """The zipapp this process runs from (its real path), or None when it is not one.

    A zipapp is a regular file whose tail is a zip archive, whatever its name:
    `python3 ./vpn-wizard.pyz` and `/usr/local/sbin/vpn-wizard` alike. Its real
    path (symlinks resolved) is what a unit can exec, since the file starts
    with a `#!/usr/bin/env python3` line.
    """
    arg = sys.argv[0] if argv0 is None and sys.argv else argv0
    if not arg:
        return None
    path = Path(arg)
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            return path.resolve()
    except OSError:
        return None
    return None


def vpn_wizard_command(fallback: str) -> str:
    """The absolute path of the running `vpn-wizard`, else the one on PATH, else `fallback`.

    The running one comes first: an operator who runs the wizard from a
    virtualenv, pipx or the zipapp wants the units to run that same installation.
    """
    zipapp = running_zipapp()
    if zipapp is not None:
        return str(zipapp)
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == "vpn-wizard" and running.exists():
        # absolute(), not resolve(): a virtualenv's bin/ must stay in the path
        # (its python symlink is what makes the venv), and pipx's link in
        # /usr/local/bin is the stable name across upgrades.
        return str(running.absolute())
    found = shutil.which("vpn-wizard")
    return str(Path(found).absolute()) if found else fallback
