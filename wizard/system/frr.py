"""FRR, the routing suite that runs BGP for a dynamic-routing connection.

Started and stopped the way its Debian/Ubuntu packaging does: by systemd's
`frr.service` where systemd runs the box (the engine uses the systemd
adapter for that), else by the package's own init script,
/usr/lib/frr/frrinit.sh, which is what `frr.service` itself runs. Restart,
not reload: `frrinit.sh reload` needs frr-pythontools (frr-reload.py), which
the package only recommends, and a reload does not start a daemon newly
enabled in the daemons file, while bgpd is exactly that on first apply.

Status comes from `vtysh -c 'show bgp ... json'`: FRR's JSON, never its
screen text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from wizard.system.base import HostError, run_argv

FRRINIT = "/usr/lib/frr/frrinit.sh"
INSTALL = "apt-get install frr"


class FrrDaemons:
    """The real FRR on this box."""

    def __init__(self, log: list[str], frrinit: str = FRRINIT) -> None:
        self.log = log
        self.frrinit = frrinit

    def installed(self) -> bool:
        return Path(self.frrinit).is_file() and shutil.which("vtysh") is not None

    def running(self) -> bool:
        if not self.installed():
            return False
        return run_argv([self.frrinit, "status"], [], check=False).returncode == 0

    def restart(self) -> None:
        if not self.installed():
            raise HostError(f"FRR is not installed ({self.frrinit} is missing): {INSTALL}")
        run_argv([self.frrinit, "restart"], self.log, timeout=120.0)

    def stop(self) -> None:
        if self.installed():
            run_argv([self.frrinit, "stop"], self.log, timeout=120.0)

    def vtysh_json(self, command: str) -> str | None:
        """`vtysh -c COMMAND` (a `show ... json`), or None when FRR does not answer."""
        if shutil.which("vtysh") is None:
            return None
        try:
            proc = run_argv(["vtysh", "-c", command], [], check=False, timeout=10.0)
        except HostError:
            return None
        return proc.stdout if proc.returncode == 0 else None
