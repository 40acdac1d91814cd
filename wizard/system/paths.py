"""Where a target path lives on this machine: `/` normally, under `--root` in tests."""

from __future__ import annotations

from pathlib import Path


class Root:
    """Maps the target's absolute paths ("/etc/ipsec.conf") into a root directory.

    Every file the wizard reads or writes on the target goes through one of
    these, so `--root DIR` redirects all of them at once and a test can never
    reach the real /etc by forgetting a prefix.
    """

    def __init__(self, root: str | Path = "/") -> None:
        self.root = Path(root)
        self.unreadable: set[str] = set()
        """Target paths that exist but could not be read (not root): their diffs are guesses."""

    def path(self, target: str) -> Path:
        """The local path of a target path; refuses relative paths and `..` escapes."""
        if not target.startswith("/"):
            raise ValueError(f"target paths are absolute: {target!r}")
        local = (self.root / target.lstrip("/")).resolve(strict=False)
        base = self.root.resolve(strict=False)
        if local != base and base not in local.parents:
            raise ValueError(f"{target!r} escapes the root {self.root}")
        return local

    def read(self, target: str) -> str | None:
        """The file's text, or None when it does not exist.

        A file this user may not read (`/etc/ipsec.secrets` without root) also
        reads as None, and its path is remembered in `unreadable` so that a
        preview can say its diff is against an empty file.
        """
        try:
            return self.path(target).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except PermissionError:
            self.unreadable.add(target)
            return None

    @property
    def is_host(self) -> bool:
        """True when this root is the machine's real `/`."""
        return self.root.resolve() == Path("/")
