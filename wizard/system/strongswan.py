"""The strongSwan daemon, through the `ipsec` starter script (the seed's commands).

A restart is done only when the conns it should load are really loaded:
`ipsec restart` returns before starter has fed charon the configuration, and
reporting success on a daemon that then rejects the file would hide the one
error an operator most needs to see.

Whether it runs and what it has loaded are asked without a process where the
box allows (`charon_state`: the starter's pid file, vici's `list-conns`);
`ipsec statusall` is the fallback for a charon without the vici plugin.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence

from wizard.system import charon_state, vici_source
from wizard.system.base import CommandTimeout, HostError, run_argv
from wizard.system.swanctl import Swanctl

POLL_S = 0.05
"""Between two asks while the daemon loads its conns."""

_CONN_LINE = re.compile(r"^\s*([^\s:\[{]+):\s+\S*\.\.\.\S*\s+IKE", re.MULTILINE)


def parse_loaded_conns(statusall: str) -> set[str]:
    """Names of the conns `ipsec statusall` lists under "Connections:"."""
    section = statusall.split("Connections:", 1)
    if len(section) < 2:
        return set()
    body = re.split(r"^(?:Routed|Security Associations|Shunted)", section[1], maxsplit=1,
                    flags=re.MULTILINE)[0]
    return set(_CONN_LINE.findall(body))


class IpsecStrongswan:
    """The real daemon."""

    def __init__(self, log: list[str], binary: str = "ipsec",
                 vici_socket: str = vici_source.SOCKET) -> None:
        self.log = log
        self.binary = binary
        self.vici_socket = vici_socket
        self.vici = Swanctl(log)
        """The same daemon through swanctl, for the swanctl backend."""

    def installed(self) -> bool:
        return shutil.which(self.binary) is not None

    def _statusall(self) -> str | None:
        if not self.installed():
            return None
        proc = run_argv([self.binary, "statusall"], [], check=False, timeout=15)
        return proc.stdout if proc.returncode == 0 else None

    def running(self) -> bool:
        """What `ipsec status`'s exit status says (the starter lives), without its processes."""
        return self.installed() and charon_state.starter_alive()

    def loaded_conns(self) -> set[str]:
        loaded = self._loaded_now()
        return loaded or set()

    def _loaded_now(self) -> set[str] | None:
        """The conns charon holds, or None for "no answer (yet)".

        vici first (one request, no fork); `ipsec statusall` when charon is up
        but serves no vici socket. Before charon has written its pid file
        statusall would ask nobody either, so neither is tried.
        """
        if not charon_state.charon_started():
            return None
        loaded = charon_state.vici_conns(self.vici_socket)
        if loaded is not None:
            return loaded
        try:
            text = self._statusall()
        except CommandTimeout:
            # charon answers nothing while it runs updown scripts (synchronously, up to
            # seconds each on a slow box): no answer yet is "not yet", not a failure.
            return None
        return parse_loaded_conns(text) if text is not None else None

    def restart(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        self._until_loaded("restart", conns, timeout)

    def start(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        """The daemon is not running: `ipsec start` (the starter's restart is a stop, a 2 s
        pause and a start), then the same wait for the conns."""
        self._until_loaded("start", conns, timeout)

    def _until_loaded(self, verb: str, conns: Sequence[str], timeout: float) -> None:
        if not self.installed():
            raise HostError(f"{self.binary}: command not found (is strongSwan installed?)")
        run_argv([self.binary, verb], self.log, timeout=timeout)
        deadline = time.monotonic() + timeout
        wanted = set(conns)
        loaded: set[str] = set()
        while time.monotonic() < deadline:
            answer = self._loaded_now()
            if answer is not None:
                loaded = answer
                if wanted <= loaded:
                    return
            # The starter hands charon its conns one by one after charon is up; there is
            # no event for "loaded", so ask again soon: a vici request costs a millisecond.
            time.sleep(POLL_S)
        missing = ", ".join(sorted(wanted - loaded)) or "the daemon"
        raise HostError(
            f"ipsec {verb}: {missing} not loaded after {timeout:.0f}s "
            "(see the system log or 'ipsec statusall')"
        )

    def stop(self) -> None:
        run_argv([self.binary, "stop"], self.log, timeout=30)

    def swanctl_installed(self) -> bool:
        return self.vici.installed()

    def swanctl_conns(self) -> set[str] | None:
        return self.vici.conns()

    def load_swanctl(self, conns: Sequence[str], *, restart: bool, timeout: float = 30.0) -> None:
        self.vici.load(conns, restart=restart, timeout=timeout)

    def stop_swanctl(self) -> None:
        self.vici.stop()

    def initiate(self, name: str) -> None:
        vici_source.control("initiate", name, self.log)

    def terminate(self, name: str) -> None:
        vici_source.control("terminate", name, self.log)
