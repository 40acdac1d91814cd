"""The revert timer's process: started detached, stopped once the changes are confirmed.

The timer itself (`wizard.revert_timer`) runs in its own process and rolls back
through the engine. Starting and stopping a process is a side effect on the
host, so the engine asks here, saying where the timer's log goes; this module
knows nothing of journals.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from wizard.system.paths import Root

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent.parent)


def spawn(root: Root, transaction: str, log_target: str) -> int:
    """Start the detached timer for `transaction`, its output in `log_target`; returns its pid."""
    log_path = root.path(log_target)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPN_WIZARD_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p
    )
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wizard.revert_timer", "--root", str(root.root.resolve()),
             "--transaction", transaction],
            stdin=subprocess.DEVNULL, stdout=fd, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd="/", env=env,
        )
    finally:
        os.close(fd)
    return proc.pid


def stop(pid: int, transaction: str) -> None:
    """Stop the timer of `transaction`, making sure `pid` is still that timer."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if b"wizard.revert_timer" in cmdline and transaction.encode() in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
