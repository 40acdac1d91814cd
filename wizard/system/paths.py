"""Where a target path lives on this machine (`/`, or under `--root`), walked and read safely.

A target path is walked one component at a time from the root with directory
file descriptors (`openat` with O_NOFOLLOW): a link, FIFO, device or directory
where a directory or a regular file is expected is refused with a
`TargetFileError` naming it. Writing is `wizard.system.files`'s.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wizard.system.crash import checkpoint

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TargetFileError(Exception):
    """A file on the target the wizard will not read or change as it is; says where and what to do.

    Raised for a symbolic link, FIFO, device or directory where the plan
    reads or writes a file (or a link where it walks a directory), and for a
    shared file whose managed-block markers are broken. The message names
    the path (and line), the problem and the fix; nothing was changed.

    Attributes:
        path: the target path ("/etc/ipsec.secrets").
        problem: what is wrong with it.
        fix: what the operator should do.
        line: the 1-based line, when the problem is inside the file.
    """

    def __init__(self, path: str, problem: str, fix: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        self.line = line
        where = f"{path} line {line}" if line is not None else path
        super().__init__(f"{where} {problem}: {fix}")


class Root:
    """Maps the target's absolute paths ("/etc/ipsec.conf") into a root directory.

    Every file the wizard reads or writes on the target goes through one of
    these, so `--root DIR` redirects all of them at once and a test can never
    reach the real /etc by forgetting a prefix. The mapping is purely
    lexical: no link under the root is ever resolved (`parent_dir` below
    walks each component and refuses links).
    """

    def __init__(self, root: str | Path = "/") -> None:
        self.root = Path(root)
        self.unreadable: set[str] = set()
        """Target paths that exist but could not be read (not root): their diffs are guesses."""

    @staticmethod
    def check_target(target: str) -> None:
        """Refuse a relative target path or one with empty, `.` or `..` components."""
        if not target.startswith("/") or "\0" in target:
            raise ValueError(f"target paths are absolute: {target!r}")
        parts = target.split("/")[1:]
        if target != "/" and any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"target path {target!r} is not in normal form")

    def path(self, target: str) -> Path:
        """The local path of a target path (no link resolved; `..` refused)."""
        self.check_target(target)
        return self.root / target.lstrip("/")

    def read(self, target: str) -> str | None:
        """The file's text, or None when it does not exist.

        Bytes that are not UTF-8 (an operator's Latin-1 comment) are kept as
        surrogate escapes, so a rewrite gives them back byte for byte. A link
        or special file at the path, or a link on the way, raises
        TargetFileError (see `wizard.system.files`). A file this user may not
        read (`/etc/ipsec.secrets` without root) reads as None, and its path
        is remembered in `unreadable` so that a preview can say its diff is
        against an empty file.
        """
        try:
            state = read_state(self, target)
        except PermissionError:
            self.unreadable.add(target)
            return None
        if state.data is None:
            return None
        return state.data.decode("utf-8", "surrogateescape")

    @property
    def is_host(self) -> bool:
        """True when this root is the machine's real `/`."""
        return self.root.resolve() == Path("/")


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


def describe_file_type(mode: int) -> str:
    """What a non-regular file is, in an operator's words, for a refusal that says what is there."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refusal(target: str, st: os.stat_result, name: str, dir_fd: int, want: str) -> TargetFileError:
    what = describe_file_type(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        with contextlib.suppress(OSError):
            what += f" (to {os.readlink(name, dir_fd=dir_fd)})"
    return TargetFileError(
        target,
        f"is {what}, where the wizard expects {want}; it never reads or writes through links "
        "or special files",
        "replace it with a real " + ("directory" if want == "a directory" else "file")
        + " (or remove it), then run the wizard again",
    )


def target_components(target: str) -> list[str]:
    Root.check_target(target)
    return [p for p in target.split("/") if p]


@contextlib.contextmanager
def parent_dir(
    root: Root, target: str, *, create: bool = False, created: list[str] | None = None
) -> Iterator[int | None]:
    """A descriptor of `target`'s directory, walked from the root without following links.

    Yields None when a directory on the way is missing (and `create` is off).
    With `create`, missing directories are made (0755) and appended to
    `created`. A link or a non-directory on the way raises TargetFileError.
    """
    parts = target_components(target)
    try:
        fd = os.open(root.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if create:
            raise
        yield None  # no root yet: nothing under it exists
        return
    try:
        walked = ""
        for name in parts[:-1]:
            walked += "/" + name
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    yield None
                    return
                checkpoint(f"mkdir {walked}")
                os.mkdir(name, 0o755, dir_fd=fd)
                os.fsync(fd)
                if created is not None:
                    created.append(walked)
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                raise refusal(walked, st, name, fd, "a directory")
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:  # swapped for a link since the lstat
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    raise refusal(walked, st, name, fd, "a directory") from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def lstat_at(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def read_state(root: Root, target: str) -> FileState:
    """A regular file's bytes and metadata at `target`, or absent; refuses anything else."""
    name = target_components(target)[-1]
    with parent_dir(root, target) as dfd:
        if dfd is None:
            return FileState(None)
        st = lstat_at(name, dfd)
        if st is None:
            return FileState(None)
        if not stat.S_ISREG(st.st_mode):
            raise refusal(target, st, name, dfd, "a regular file")
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dfd)
        except FileNotFoundError:
            return FileState(None)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise refusal(target, os.stat(name, dir_fd=dfd, follow_symlinks=False),
                               name, dfd, "a regular file") from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise refusal(target, st, name, dfd, "a regular file")
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(fd)
    return FileState(b"".join(chunks), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
