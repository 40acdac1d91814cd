"""Helpers for the file-system promises: exact snapshots of a root, and real kills per fs operation.

`snapshot` records every entry under a root - bytes, mode, owner, group, and
what kind of entry it is (a link's target, a FIFO) - so a comparison catches
a leftover temporary file, a created directory, a loosened mode or a changed
owner. `run_forked` runs `vpn-wizard ARGS` in a forked child (the CLI is
imported once; a fork costs milliseconds where a fresh interpreter costs a
second) that dies of a real SIGKILL when `VPN_WIZARD_FS_KILL_AT` says so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from applykit import BOOKKEEPING

from wizard.system.crash import FS_KILL_AT_ENV, reset_fs_ops

STATE_DIR = "var/lib/vpn-wizard"


def snapshot(base: Path, *, bookkeeping: bool = False) -> dict[str, Any]:
    """Every entry under `base` (links not followed): kind, bytes or target, mode, owner."""
    out: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = os.path.relpath(path, base)
            if not bookkeeping and any(rel == b or rel.startswith(b + "/") for b in BOOKKEEPING):
                continue
            st = path.lstat()
            meta = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel + "/"] = ("dir", *meta)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", path.read_bytes(), *meta)
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode), *meta)
    if not bookkeeping:  # parents of the bookkeeping dirs appear once anything is journaled
        for b in BOOKKEEPING:
            parts = b.split("/")
            for i in range(1, len(parts)):
                out.pop("/".join(parts[:i]) + "/", None)
    return out


def bookkeeping_bytes(base: Path) -> bytes:
    """Everything the wizard keeps under its state directory, concatenated (to look for keys)."""
    chunks = []
    for path in sorted((base / STATE_DIR).rglob("*")):
        if path.is_file() and not path.is_symlink():
            chunks.append(path.read_bytes())
    return b"".join(chunks)


@contextlib.contextmanager
def fast_dir(fallback: Path) -> Iterator[Path]:
    """A scratch directory on tmpfs when there is one (fsync is then free), else `fallback`.

    A sweep makes ~200 runs of ~200 fsyncs each; on a disk that is minutes,
    on tmpfs seconds. What is proved does not change: the kill is real, the
    comparison exact.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        path = Path(tempfile.mkdtemp(prefix="vpn-wizard-fs-", dir=shm))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
    else:
        yield fallback


def run_forked(argv: list[str], kill_at: int | None = None) -> int:
    """`vpn-wizard ARGV` in a forked child; its exit code, or -signal if it was killed."""
    import wizard.commands.apply
    import wizard.commands.plan
    import wizard.commands.transaction
    import wizard.commands.uninstall
    import wizard.uninstall  # noqa: F401
    from wizard.cli import main

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            if kill_at is None:
                os.environ.pop(FS_KILL_AT_ENV, None)
            else:
                os.environ[FS_KILL_AT_ENV] = str(kill_at)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits
            reset_fs_ops()
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 99
        finally:
            with contextlib.suppress(Exception):
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
