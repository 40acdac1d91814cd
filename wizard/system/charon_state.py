"""Whether the IKE daemon runs and which connections it holds, asked without a process.

`ipsec statusall` forks a shell, two `uname`s, `cat` and `stroke`; `swanctl
--list-conns` forks one more program. On a small box (and under the lab's
user-mode-linux, where a fork costs 50-150 ms) polling them while the
daemon starts took more CPU than the daemon itself, and each poll came late.
Here the same two facts are read directly:

- the starter runs: its pid file names a live process, which is exactly
  what `ipsec status` checks (its exit status) after its stroke call;
- the connections loaded: vici's `list-conns`, one request on charon's own
  socket. It lists the connections of every configuration backend, so the
  starter's conns (stroke) as well as swanctl's.

A daemon without the vici plugin answers nothing on the socket; callers
then fall back to the commands, so the answer never depends on the plugin.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from typing import Any

from wizard.system import vici_source

STARTER_PID = "/var/run/starter.charon.pid"
"""Where the `ipsec` script looks for the starter (its IPSEC_PIDDIR is /var/run)."""
_PID = re.compile(r"[0-9]{1,7}")
"""A pid as the kernel writes one (pid_max is at most 4194304): ASCII digits only, since
`str.isdigit` also takes "²" (which `int` refuses) and "١" (which it reads)."""
CHARON_PID = "/var/run/charon.pid"
"""charon writes it at start; `ipsec statusall` asks stroke only once it exists."""


def pid_alive(pidfile: str) -> bool:
    """True when `pidfile` holds the pid of a live process (`kill -0 $(cat pidfile)`)."""
    try:
        with open(pidfile, encoding="ascii", errors="replace") as handle:
            text = handle.read(32).strip()
    except OSError:
        return False
    if not _PID.fullmatch(text) or int(text) <= 0:
        return False  # `kill -0` of garbage or of 0 (the caller's own group) is no answer
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


def starter_alive(pidfile: str = STARTER_PID) -> bool:
    """What `ipsec status`'s exit status says: 0 exactly when the starter lives."""
    return pid_alive(pidfile)


def charon_started(pidfile: str = CHARON_PID) -> bool:
    """charon got as far as writing its pid file: before that no socket can answer."""
    return os.path.exists(pidfile)


def vici_conns(
    path: str = vici_source.SOCKET,
    session_factory: Callable[[str], Any] = vici_source.connect,
) -> set[str] | None:
    """The connections charon holds, from one `list-conns`; None when nobody answers on `path`.

    None covers a missing socket (no vici plugin, or charon not yet up), a
    refused connection (a stale socket file) and a daemon that answers with
    an error: the caller asks the commands instead.
    """
    if not os.path.exists(path):
        return None
    try:
        session = session_factory(path)
    except OSError:
        return None
    try:
        return {name for event in session.list_conns() for name in event}
    except Exception:  # OSError, a timeout, the vici package's own errors: no answer
        return None
    finally:
        transport = getattr(session, "transport", None)
        if transport is not None:
            with contextlib.suppress(OSError):
                transport.close()
