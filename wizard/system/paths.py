"""Where a target path lives on this machine: `/` normally, under `--root` in tests."""

from __future__ import annotations

from pathlib import Path


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
    lexical: no link under the root is ever resolved (`wizard.system.files`
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
        from wizard.system.files import read_state

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
