"""Crash injection for file-system changes: a test can kill the wizard between any two.

Every operation that changes the file system (`wizard.system.files`, the
directories `wizard.system.paths` creates, `wizard.engine.journal`) first passes
`checkpoint`, which can SIGKILL the process at the Nth such operation
(`VPN_WIZARD_FS_KILL_AT=N`) or raise `FsCrash` ("raise:N") in-process, so a
test can prove that `rollback` leaves nothing behind wherever the kill lands.
"""

from __future__ import annotations

import os
import signal

FS_KILL_AT_ENV = "VPN_WIZARD_FS_KILL_AT"
"""Crash injection: SIGKILL at the Nth file-system change (0-based); "raise:N" raises FsCrash."""

_fs_ops = 0


class FsCrash(BaseException):
    """Stands in for SIGKILL at a file-system operation in in-process tests (no handler runs)."""


def checkpoint(op: str) -> None:
    """Count one file-system change about to happen; die here if the crash hook says so."""
    global _fs_ops
    index = _fs_ops
    _fs_ops += 1
    point = os.environ.get(FS_KILL_AT_ENV)
    if not point:
        return
    if point.startswith("raise:"):
        if point[6:].isdigit() and int(point[6:]) == index:
            raise FsCrash(f"{op} (file-system operation {index})")
    elif point.isdigit() and int(point) == index:
        os.kill(os.getpid(), signal.SIGKILL)


def reset_fs_ops() -> None:
    """Start counting file-system operations from 0 (a forked test child does this)."""
    global _fs_ops
    _fs_ops = 0


def fs_ops() -> int:
    """How many file-system changes this process made so far."""
    return _fs_ops
