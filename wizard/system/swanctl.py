"""The IKE daemon driven through `swanctl` (vici), for the swanctl backend.

On a box without the `ipsec` starter (strongSwan 6 on Ubuntu 26.04, or
charon-systemd alone) the daemon is systemd's `strongswan.service`
(charon-systemd) and configuration reaches it only through vici. A load is
done only when the daemon lists the connections it should have: `swanctl
--load-all` reports a file it rejects, but a connection it silently drops is
only visible in `--list-conns`.

The daemon is restarted before loading when the caller says so (the plan
changed charon.conf, which charon reads only at start). Which daemon to
restart is a fact of the box, in this order: charon run by the starter
(`ipsec restart`, whose charon serves vici as well); charon-systemd under
systemd (`systemctl restart strongswan.service`); the starter, if it is
there but stopped. Anything else is an error that says so.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from wizard.system import charon_state, vici_source
from wizard.system.base import HostError, run_argv

SERVICE = "strongswan.service"
"""charon-systemd's unit on Debian and Ubuntu (the starter's is strongswan-starter.service)."""
STARTER_PID = ("/run/starter.charon.pid", "/var/run/starter.charon.pid")
"""Written by the starter for the charon it runs."""
POLL_S = 0.05
"""Between two asks while the daemon starts or loads (a vici request costs a millisecond)."""
LOAD_ALL = ("swanctl", "--load-all", "--noprompt")

_CONN = re.compile(r"^([^\s:]+): IKE", re.MULTILINE)


def parse_list_conns(text: str) -> set[str]:
    """Connection names from `swanctl --list-conns` ("Tunnel1: IKEv1, ..." at column 0)."""
    return set(_CONN.findall(text))


def _starter_runs_charon() -> bool:
    return any(Path(p).exists() for p in STARTER_PID)


def _systemd_runs() -> bool:
    return Path("/run/systemd/system").is_dir()


def _charon_systemd_installed() -> bool:
    return shutil.which("charon-systemd") is not None or Path(
        "/usr/lib/ipsec/charon-systemd"
    ).is_file()


class Swanctl:
    """The real daemon, reached with the `swanctl` command."""

    def __init__(self, log: list[str], binary: str = "swanctl",
                 vici_socket: str = vici_source.SOCKET) -> None:
        self.log = log
        self.binary = binary
        self.vici_socket = vici_socket

    def installed(self) -> bool:
        return shutil.which(self.binary) is not None

    def conns(self) -> set[str] | None:
        """Loaded connections; None when the daemon does not answer on vici.

        One `list-conns` request on the socket when it answers there; the
        `swanctl` command otherwise (it may be configured to another socket).
        """
        if not self.installed():
            return None
        loaded = charon_state.vici_conns(self.vici_socket)
        if loaded is not None:
            return loaded
        proc = run_argv([self.binary, "--list-conns"], [], check=False, timeout=15)
        return parse_list_conns(proc.stdout) if proc.returncode == 0 else None

    def _restart_daemon(self, timeout: float, verb: str = "restart") -> None:
        """`verb` ("restart", or "start" for a daemon that answers nothing) the box's daemon."""
        if _starter_runs_charon() and shutil.which("ipsec"):
            # The starter's charon is there (its pid file says so), only silent on vici:
            # `ipsec start` would refuse ("already running").
            run_argv(["ipsec", "restart"], self.log, timeout=timeout)
        elif _systemd_runs() and _charon_systemd_installed():
            run_argv(["systemctl", verb, SERVICE], self.log, timeout=timeout)
        elif shutil.which("ipsec"):
            run_argv(["ipsec", verb], self.log, timeout=timeout)
        else:
            raise HostError(
                "cannot (re)start the IKE daemon: charon-systemd under systemd and the ipsec "
                "starter are both missing; install charon-systemd (apt-get install "
                "charon-systemd) or start charon yourself and re-run"
            )

    def load(self, conns: Sequence[str], *, restart: bool, timeout: float = 30.0) -> None:
        """Restart when asked (or when the daemon is down), load every file, check `conns`."""
        if not self.installed():
            raise HostError(f"{self.binary}: command not found (install strongswan-swanctl)")
        deadline = time.monotonic() + timeout
        down = self.conns() is None
        if restart or down:
            # A daemon that is down is started: the starter's restart would stop
            # nothing, pause 2 s, then start.
            self._restart_daemon(timeout, "start" if down else "restart")
            while self.conns() is None:
                if time.monotonic() > deadline:
                    raise HostError(f"the IKE daemon did not answer on vici within {timeout:.0f}s "
                                    "(see 'journalctl -u strongswan' or the system log)")
                time.sleep(POLL_S)
        run_argv([self.binary, *LOAD_ALL[1:]], self.log, timeout=timeout)
        wanted = set(conns)
        loaded: set[str] = set()
        while True:
            loaded = self.conns() or set()
            if wanted <= loaded:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        raise HostError(
            f"swanctl --load-all: {', '.join(sorted(wanted - loaded))} not loaded after "
            f"{timeout:.0f}s (see 'swanctl --list-conns' and the daemon's log)"
        )

    def stop(self) -> None:
        """Stop the daemon the way it was started (undo of a load that started it)."""
        if _starter_runs_charon() and shutil.which("ipsec"):
            run_argv(["ipsec", "stop"], self.log, timeout=30)
        elif _systemd_runs() and _charon_systemd_installed():
            run_argv(["systemctl", "stop", SERVICE], self.log, timeout=30)
