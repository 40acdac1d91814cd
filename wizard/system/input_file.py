"""One way to read a file the operator hands the wizard: bounded, regular, never blocking.

`--import`, `--answers`, the TUI's file field and `vpn-wizard heartbeat`'s
inputs are paths typed by a person. A FIFO would block `open()` until a
writer appears, `/dev/zero` never ends, a directory is not text, and a
50 MB file is not an AWS configuration. Every input path reads through
`read_input`, so the same cap and the same checks hold everywhere
(issue 9 item 9).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wizard.system.paths import describe_file_type

MAX_INPUT_BYTES = 1024 * 1024
"""The cap on any input file or pasted text: an AWS configuration is a few kilobytes
(the seed is 23 kB), an answers file less."""


class InputFileError(Exception):
    """A file that cannot be read as input; `reason` says why in the operator's words."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def too_large(size: int, what: str = "the file") -> str:
    """The refusal for input over the cap, worded once for files and pasted text."""
    return (
        f"{what} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB ({size} bytes or "
        "more); an AWS configuration or an answers file is a few kilobytes"
    )


def read_input(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    The file is opened with O_NONBLOCK (a FIFO then opens at once instead of
    waiting for a writer) and O_NOCTTY, and checked with fstat on the open
    descriptor, so what is checked is what is read. Reading stops one byte
    past the limit, so a huge or endless file costs no more than that.

    Raises:
        InputFileError: missing, unreadable, not a regular file, or too large.
    """
    name = str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFileError(name, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = describe_file_type(info.st_mode)
            raise InputFileError(name, f"this is {what}, not a regular file"
                                 if what != "not a regular file" else "this is not a regular file")
        if info.st_size > limit:
            raise InputFileError(name, too_large(info.st_size))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise InputFileError(name, too_large(size))
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(name, f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
