"""Files on the target, written so that a crash never leaves half a file.

Every write goes to a temporary file in the same directory, created with the
final mode and owner, fsynced, renamed over the target and followed by an
fsync of the directory: after a power cut the file is either the old one or
the new one, never a mix, and never briefly world-readable (a secrets file
is 0600 from its first byte).
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from wizard.system.paths import Root


@dataclass(frozen=True)
class FileState:
    """A file's bytes and metadata, or its absence (`data is None`)."""

    data: bytes | None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def exists(self) -> bool:
        return self.data is not None


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    local: Path, data: bytes, mode: int, uid: int | None = None, gid: int | None = None
) -> None:
    """Replace `local` with `data` atomically, the new file born with `mode` and owner.

    The owner is set only when it differs from ours and we may change it
    (root); an ordinary user writing under `--root` keeps their own.
    """
    directory = local.parent
    tmp = directory / f".{local.name}.vpn-wizard-tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o7777)
    try:
        os.fchmod(fd, mode & 0o7777)  # the umask must not weaken or strengthen it
        if uid is not None and gid is not None and (uid, gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.fchown(fd, uid, gid)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.close(fd)
    os.replace(tmp, local)
    fsync_dir(directory)


class Files:
    """The target's files under a `Root`, read and written for real."""

    def __init__(self, root: Root, log: list[str]) -> None:
        self.root = root
        self.log = log

    def state(self, path: str) -> FileState:
        """What is at `path` now."""
        local = self.root.path(path)
        try:
            data = local.read_bytes()
            st = local.stat()
        except FileNotFoundError:
            return FileState(None)
        return FileState(data, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    def missing_dirs(self, path: str) -> list[str]:
        """Target directories a write to `path` would create, outermost first."""
        missing: list[str] = []
        parent = os.path.dirname(path)
        while parent not in ("/", "") and not self.root.path(parent).is_dir():
            missing.insert(0, parent)
            parent = os.path.dirname(parent)
        return missing

    def write(
        self, path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None
    ) -> None:
        """Atomically write `path`, creating missing directories (0755)."""
        self.log.append(f"write {path} ({mode:04o})")
        local = self.root.path(path)
        for directory in self.missing_dirs(path):
            self.root.path(directory).mkdir(mode=0o755)
        atomic_write(local, data, mode, uid, gid)

    def remove(self, path: str) -> None:
        """Delete `path` if it exists, durably."""
        local = self.root.path(path)
        if local.exists() or local.is_symlink():
            self.log.append(f"rm {path}")
            local.unlink()
            fsync_dir(local.parent)

    def remove_empty_dirs(self, dirs: list[str]) -> None:
        """Remove directories a write created, innermost first, if nothing else is in them."""
        for directory in reversed(dirs):
            with contextlib.suppress(FileNotFoundError, OSError):
                self.root.path(directory).rmdir()
                self.log.append(f"rmdir {directory}")


class RecordingFiles(Files):
    """Reads the target's files; records writes as an operator would read them, does none."""

    def state(self, path: str) -> FileState:
        try:
            return super().state(path)
        except PermissionError:  # a dry run without root cannot read ipsec.secrets
            return FileState(None)

    def write(
        self, path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None
    ) -> None:
        self.log.append(f"write {path} ({mode:04o})")

    def remove(self, path: str) -> None:
        if self.root.path(path).exists():
            self.log.append(f"rm {path}")

    def remove_empty_dirs(self, dirs: list[str]) -> None:
        for directory in reversed(dirs):
            self.log.append(f"rmdir {directory}")
