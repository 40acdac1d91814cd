"""Files on the target, written so that a crash never leaves half a file, and never through a link.

Every write goes to a temporary file in the same directory, created with the
final mode and owner, fsynced, renamed over the target and followed by an
fsync of the directory: after a power cut the file is either the old one or
the new one, never a mix, and never briefly world-readable (a secrets file
is 0600 from its first byte).

Every path is walked (`wizard.system.paths`) one component at a time from the root with directory
file descriptors (`openat` with O_NOFOLLOW): a symbolic link, a FIFO, a
device or a directory where the plan expects a directory or a regular file
is refused with a `TargetFileError` naming it, at any depth under the root,
both when the plan reads it and again at the moment of writing (so a link
planted between preview and apply is refused too). Nothing is ever read for
a rewrite, written, chmodded or removed through a link.

Crash testing: every operation that changes the file system (here and in
`wizard.engine.journal`) first passes `wizard.system.crash.checkpoint`, which
can SIGKILL the process at the Nth such operation (`VPN_WIZARD_FS_KILL_AT=N`), so a test can kill an
apply between any two of them - between writing a temporary file and
renaming it included - and prove that `rollback` leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from wizard.system.crash import FsCrash, checkpoint
from wizard.system.paths import (
    FileState,
    Root,
    TargetFileError,
    lstat_at,
    parent_dir,
    read_state,
    refusal,
    target_components,
)

TMP_SUFFIX = ".vpn-wizard-tmp"

def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tmp_name(name: str) -> str:
    """The temporary file's name beside `name` (fixed, so a rollback can find it)."""
    return f".{name}{TMP_SUFFIX}"


def _unlink_regular(name: str, dfd: int) -> bool:
    """Remove `name` in `dfd` if it is a regular file (never a link's target)."""
    st = lstat_at(name, dfd)
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    checkpoint(f"unlink {name}")
    os.unlink(name, dir_fd=dfd)
    os.fsync(dfd)
    return True


def _write_in(
    dfd: int, target: str, name: str, data: bytes, mode: int, uid: int | None, gid: int | None
) -> None:
    tmp = tmp_name(name)
    _unlink_regular(tmp, dfd)
    st = lstat_at(name, dfd)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise refusal(target, st, name, dfd, "a regular file")
    checkpoint(f"create {tmp}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 mode & 0o7777, dir_fd=dfd)
    try:
        os.fchmod(fd, mode & 0o7777)  # the umask must not weaken or strengthen it
        if uid is not None and gid is not None and (uid, gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode & 0o7777)  # chown drops set-id bits
        checkpoint(f"write {tmp}")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException as err:
        os.close(fd)
        if not isinstance(err, FsCrash):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
        raise
    os.close(fd)
    st = lstat_at(name, dfd)  # planted since the first look?
    if st is not None and not stat.S_ISREG(st.st_mode):
        os.unlink(tmp, dir_fd=dfd)
        raise refusal(target, st, name, dfd, "a regular file")
    checkpoint(f"rename {tmp}")
    os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    os.fsync(dfd)


def atomic_write(
    local: Path, data: bytes, mode: int, uid: int | None = None, gid: int | None = None
) -> None:
    """Replace the local file `local` with `data` atomically, born with `mode` and owner.

    For the wizard's own bookkeeping (simulated kernel, heartbeat state):
    target files go through `Files.write`, which also refuses links.
    The owner is set only when it differs from ours and we may change it
    (root); an ordinary user writing under `--root` keeps their own.
    """
    directory = local.parent
    tmp = directory / tmp_name(local.name)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    checkpoint(f"create {tmp}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o7777)
    try:
        os.fchmod(fd, mode & 0o7777)
        if uid is not None and gid is not None and (uid, gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.fchown(fd, uid, gid)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException as err:
        os.close(fd)
        if not isinstance(err, FsCrash):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    os.close(fd)
    checkpoint(f"rename {tmp}")
    os.replace(tmp, local)
    fsync_dir(directory)


def kept_mode(existing: int, planned: int) -> int:
    """The mode a rewritten file keeps: its own, except that a private file may only tighten.

    A file the plan writes 0600 (it holds keys) loses every group and other
    bit it had (0644 -> 0600, 0640 -> 0600; 0400 stays 0400); every other
    existing file keeps its mode exactly (0640 interfaces, 0700 rc.local).
    """
    if planned & 0o077 == 0:
        return existing & ~0o077 & 0o7777
    return existing & 0o7777


class Files:
    """The target's files under a `Root`, read and written for real."""

    def __init__(self, root: Root, log: list[str]) -> None:
        self.root = root
        self.log = log

    def state(self, path: str) -> FileState:
        """What is at `path` now (TargetFileError if it is a link or not a regular file)."""
        return read_state(self.root, path)

    def missing_dirs(self, path: str) -> list[str]:
        """Target directories a write to `path` would create, outermost first.

        A link or a non-directory on the way raises TargetFileError.
        """
        parts = target_components(path)[:-1]
        missing: list[str] = []
        walked = ""
        base = self.root.root
        for name in parts:
            walked += "/" + name
            if missing:
                missing.append(walked)
                continue
            try:
                st = os.lstat(base / walked.lstrip("/"))
            except FileNotFoundError:
                missing.append(walked)
                continue
            if not stat.S_ISDIR(st.st_mode):
                with parent_dir(self.root, walked + "/x"):
                    pass  # raises the refusal with the link's target in it
        return missing

    def write(
        self, path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None
    ) -> None:
        """Atomically write `path`, creating missing directories (0755); never through a link."""
        self.log.append(f"write {path} ({mode:04o})")
        name = target_components(path)[-1]
        with parent_dir(self.root, path, create=True) as dfd:
            assert dfd is not None
            _write_in(dfd, path, name, data, mode, uid, gid)

    def remove(self, path: str) -> None:
        """Delete the regular file `path` if it exists, durably; a link there is refused."""
        name = target_components(path)[-1]
        with parent_dir(self.root, path) as dfd:
            if dfd is None:
                return
            st = lstat_at(name, dfd)
            if st is None:
                return
            if not stat.S_ISREG(st.st_mode):
                raise refusal(path, st, name, dfd, "a regular file")
            self.log.append(f"rm {path}")
            _unlink_regular(name, dfd)

    def remove_tmp(self, path: str) -> None:
        """Delete the temporary file a write of `path` left when it was killed, if any."""
        name = target_components(path)[-1]
        with contextlib.suppress(TargetFileError), parent_dir(self.root, path) as dfd:
            if dfd is not None and _unlink_regular(tmp_name(name), dfd):
                self.log.append(f"rm {posixdir(path)}/{tmp_name(name)}")

    def remove_empty_dirs(self, dirs: list[str]) -> None:
        """Remove directories a write created, innermost first, if nothing else is in them."""
        for directory in reversed(dirs):
            name = target_components(directory)[-1]
            with contextlib.suppress(OSError, TargetFileError), \
                    parent_dir(self.root, directory) as dfd:
                if dfd is None:
                    continue
                st = lstat_at(name, dfd)
                if st is None or not stat.S_ISDIR(st.st_mode):
                    continue
                checkpoint(f"rmdir {directory}")
                os.rmdir(name, dir_fd=dfd)
                os.fsync(dfd)
                self.log.append(f"rmdir {directory}")


def posixdir(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


class RecordingFiles(Files):
    """Reads the target's files; records writes as an operator would read them, does none.

    A later read of a file the dry run recorded a write or removal of answers
    as the file would be after it (as `RecordingIptables` does for rules):
    the second of two blocks taken out of one file must see the first gone,
    or the dry run would say "write" where the run says "rm".
    """

    def __init__(self, root: Root, log: list[str]) -> None:
        super().__init__(root, log)
        self._recorded: dict[str, FileState] = {}

    def state(self, path: str) -> FileState:
        if path in self._recorded:
            return self._recorded[path]
        try:
            return super().state(path)
        except PermissionError:  # a dry run without root cannot read ipsec.secrets
            return FileState(None)

    def write(
        self, path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None
    ) -> None:
        self.log.append(f"write {path} ({mode:04o})")
        self._recorded[path] = FileState(data, mode, uid, gid)

    def remove(self, path: str) -> None:
        if self.state(path).exists:
            self.log.append(f"rm {path}")
        self._recorded[path] = FileState(None)

    def remove_tmp(self, path: str) -> None:
        pass

    def remove_empty_dirs(self, dirs: list[str]) -> None:
        for directory in reversed(dirs):
            self.log.append(f"rmdir {directory}")
