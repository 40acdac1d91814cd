"""Managed blocks: the wizard's lines inside files it shares with the operator.

`/etc/sysctl.conf`, `/etc/ipsec.conf`, `rc.local` and friends hold the
operator's own lines too. The wizard writes only between two marker comments,

    # BEGIN vpn-wizard Tunnel1 (managed; edits here are replaced)
    ...
    # END vpn-wizard Tunnel1

so a re-run replaces its block in place, `uninstall` removes it, and nothing
else in the file moves. Where an operator line would contradict a block (an
active `uniqueids=yes`, say), the line is commented out with a recognisable
prefix and brought back when the block is removed.

All functions here are pure text transformations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

BEGIN = "BEGIN vpn-wizard"
END = "END vpn-wizard"
DISABLED = "vpn-wizard-disabled: "


@dataclass(frozen=True)
class ManagedBlock:
    """Where and what the wizard writes inside a shared file.

    Attributes:
        block_id: unique within the file, e.g. "Tunnel1" or "forwarding".
        body: the lines between the markers (no trailing newline needed).
        after: regex of an anchor line; the block goes right after it (e.g.
            `^config setup` so `uniqueids=no` lands inside that section).
        before: regex of an anchor line; the block goes right before it (e.g.
            rc.local's `^exit 0`).
        create: what to write when the file or the anchor is missing; `{block}`
            stands for the block. Lets charon.conf gain a `charon { }` section or
            rc.local a shebang and `exit 0`.
        supersedes: regex of operator lines this block contradicts; they are
            commented out while the block exists.
        comment: the file's comment prefix.
    """

    block_id: str
    body: str
    after: str | None = None
    before: str | None = None
    create: str = "{block}"
    supersedes: str | None = None
    comment: str = "#"

    def wrapped(self) -> str:
        """The block inside what `create` puts around it, all between the markers."""
        inner = self.create.replace("{block}", self.body.rstrip("\n") + "\n").rstrip("\n")
        return (
            f"{self.comment} {BEGIN} {self.block_id} (managed; edits here are replaced)\n"
            f"{inner}\n"
            f"{self.comment} {END} {self.block_id}\n"
        )

    def marked(self) -> str:
        """The block with its markers, ending in a newline."""
        body = self.body.rstrip("\n")
        return (
            f"{self.comment} {BEGIN} {self.block_id} (managed; edits here are replaced)\n"
            f"{body}\n"
            f"{self.comment} {END} {self.block_id}\n"
        )


class BlockMarkerError(ValueError):
    """The managed-block markers in a file do not pair up; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def _marker_id(line: str, marker: str) -> str:
    return line[len(marker) :].strip().split(" ", 1)[0]


def check_markers(text: str, comment: str = "#") -> None:
    """Refuse text whose vpn-wizard markers do not pair up, naming the line.

    Every BEGIN must be followed by the END of the same id before any other
    marker (blocks never nest), and an id appears once. Anything else means
    a hand edit cut a block, and rewriting the file could then swallow or
    duplicate the operator's lines: better to stop and say where.
    """
    begin, end = f"{comment} {BEGIN} ", f"{comment} {END} "
    open_id: str | None = None
    open_line = 0
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(begin):
            block_id = _marker_id(line, begin)
            if open_id is not None:
                raise BlockMarkerError(
                    number, f"opens block {block_id!r} inside block {open_id!r} "
                    f"(BEGIN on line {open_line} has no END before it)")
            if block_id in seen:
                raise BlockMarkerError(number, f"opens block {block_id!r} a second time")
            open_id, open_line = block_id, number
            seen.add(block_id)
        elif line.startswith(end) or line.rstrip() == end.rstrip():
            block_id = _marker_id(line, end)
            if open_id is None:
                raise BlockMarkerError(number, f"closes block {block_id!r}, which no BEGIN "
                                       "marker opened")
            if block_id != open_id:
                raise BlockMarkerError(number, f"closes block {block_id!r} while block "
                                       f"{open_id!r} (line {open_line}) is open")
            open_id = None
    if open_id is not None:
        raise BlockMarkerError(open_line, f"opens block {open_id!r}, and no END marker "
                               "closes it")


def _span(lines: list[str], block: ManagedBlock) -> tuple[int, int] | None:
    check_markers("".join(lines), block.comment)
    begin = f"{block.comment} {BEGIN} {block.block_id} "
    end = f"{block.comment} {END} {block.block_id}"
    start = next((i for i, line in enumerate(lines) if line.startswith(begin)), None)
    if start is None:
        return None
    stop = next(i for i in range(start + 1, len(lines)) if lines[i].rstrip("\n") == end)
    return start, stop + 1


def _inside_any_block(lines: list[str], index: int, comment: str) -> bool:
    depth = 0
    for line in lines[:index]:
        if line.startswith(f"{comment} {BEGIN} "):
            depth += 1
        elif line.startswith(f"{comment} {END} "):
            depth = max(0, depth - 1)
    return depth > 0


def insert_block(text: str | None, block: ManagedBlock) -> str:
    """Return `text` with `block` present exactly once, its body up to date.

    An existing block of the same id is replaced in place; otherwise the block
    goes after/before its anchor, or, with no anchor or anchor missing, at the
    end (through `create`). Idempotent: inserting the same block twice gives
    the same text. A file without a final newline keeps lacking one (the
    operator's bytes outside the block do not change), and broken markers
    raise BlockMarkerError naming the line.
    """
    marked = block.marked()
    if text is None:
        return block.create.replace("{block}", marked)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    span = _span(lines, block)
    anchor = block.after or block.before
    index = None
    if anchor is not None:
        pattern = re.compile(anchor)
        index = next((i for i, line in enumerate(lines)
                      if pattern.search(line) and not (span and span[0] <= i < span[1])), None)
    # Where the anchor is missing, what `create` wraps around the block (a `config setup`
    # line, a `charon {` section) goes inside the markers, so that removing the block
    # gives the operator's file back byte for byte.
    if index is None and anchor is not None and block.create != "{block}":
        marked = block.wrapped()
    if span is not None:
        lines[span[0] : span[1]] = [marked]
    elif index is None:
        lines.append(marked)
    else:
        lines.insert(index + 1 if block.after else index, marked)
    result = "".join(lines)
    if block.supersedes:
        result = _disable(result, block)
    return _same_ending(text, result)


def _same_ending(original: str, result: str) -> str:
    """`result` with `original`'s final-newline state (no newline added at the end)."""
    if original and not original.endswith("\n") and result.endswith("\n"):
        return result[:-1]
    return result


def _disable(text: str, block: ManagedBlock) -> str:
    pattern = re.compile(block.supersedes or "")
    lines = text.splitlines(keepends=True)
    out = []
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if (
            pattern.search(line)
            and not stripped.startswith(block.comment)
            and not _inside_any_block(lines, i, block.comment)
        ):
            indent = line[: len(line) - len(stripped)]
            line = f"{indent}{block.comment}{DISABLED}{stripped}"
        out.append(line)
    return "".join(out)


def remove_block(text: str, block: ManagedBlock) -> str:
    """Remove `block` (by id) and restore the operator lines it had disabled."""
    lines = text.splitlines(keepends=True)
    span = _span(lines, block)
    if span is not None:
        del lines[span[0] : span[1]]
    if block.supersedes:
        prefix = f"{block.comment}{DISABLED}"
        lines = [
            line[: len(line) - len(line.lstrip())] + line.lstrip()[len(prefix) :]
            if line.lstrip().startswith(prefix)
            else line
            for line in lines
        ]
    return _same_ending(text, "".join(lines))


def lines_outside_blocks(text: str, comment: str = "#") -> Iterator[tuple[int, str]]:
    """The operator's own lines of `text` (1-based number, line): those outside every block.

    What the operator wrote by hand is what a new plan can collide with (a
    second conn or key for the same peer); the wizard's own blocks are
    replaced by the plan, so they never count.
    """
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{comment} {BEGIN} "):
            depth += 1
        elif line.startswith(f"{comment} {END} "):
            depth = max(0, depth - 1)
        elif not depth:
            yield number, line


def block_ids(text: str, comment: str = "#") -> list[str]:
    """Ids of the managed blocks present in `text`, in order."""
    marker = f"{comment} {BEGIN} "
    return [
        line[len(marker) :].split(" ", 1)[0]
        for line in text.splitlines()
        if line.startswith(marker)
    ]
