"""Untrusted text made safe to show: never markup, never a raw control byte.

Everything the wizard displays that came from outside (an AWS file, an answers
file, the box's own files, a path typed by the operator) may hold Rich markup
(`[/x]`, `[bold red]`) or terminal control bytes (ESC, BEL, a C1 CSI, DEL, a
bidi override). Markup in a value must be shown as the characters it is, not
interpreted (or a `[/x]` kills `plan` with MarkupError); a control byte must
never reach the terminal raw (an ESC sequence can recolour, move the cursor,
retitle the window or hide text).

Three walls, each enough on its own for what it covers:

* `printable()` / `quote()` / `text()` turn a value into display text with
  every control character written as a visible escape (`\\x1b`), and build
  Rich `Text` objects, which are never parsed as markup. Views use them where
  they put a value on screen.
* `SafeConsole` is the Console every CLI command prints through: markup,
  emoji and highlighting are off (so a leftover f-string cannot be
  interpreted), and every text segment it renders is passed through
  `printable()` on the way out, whatever renderable produced it.
* `strip_unsafe()` is what the TUI's line filter (screens.app) applies to
  every rendered line, so no widget can send a raw control byte either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Span, Text

# C0 controls, DEL, C1 controls, the line/paragraph separators, the bidi
# embeddings, overrides and isolates (text that reorders what follows it), and
# lone surrogates (a non-UTF-8 byte in a path given on the command line, which
# would make writing to a strict UTF-8 stdout fail).
_UNSAFE_CLASS = ("\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                 "\ud800-\udfff")
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
# The same, but line feeds and tabs pass: several lines of text stay lines.
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f"
                                "\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_unsafe(text: str, *, keep_newlines: bool = False) -> bool:
    """Whether `text` holds a character `printable` would escape."""
    return bool((_UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE).search(text))


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """`value` as text with every control character written as a visible escape.

    Args:
        value: anything; `str()` of it is shown (a `Secret` shows its mask).
        keep_newlines: keep line feeds and tabs (a file's text, a diff);
            otherwise they are escaped too, so one value stays on one line.
    """
    text = value if isinstance(value, str) else str(value)
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text)


def strip_unsafe(text: str) -> str:
    """`text` without its control characters (for a width-exact rendered line)."""
    return _UNSAFE.sub("", text)


def quote(value: object) -> str:
    """A value as an error message quotes it: in quotes, every odd character escaped.

    `repr` of the string escapes control, format and separator characters
    and the backslash itself, so what the operator reads is unambiguous
    (`'vpn-\\x1b[31m'`) and can be searched for in the file.
    """
    return repr(value if isinstance(value, str) else str(value))


def text(value: object, style: str = "") -> Text:
    """A Rich `Text` of `printable(value)`: shown as is, never parsed as markup."""
    return Text(printable(value), style=style)


def lines(value: object, style: str = "") -> Text:
    """Like `text`, keeping line feeds and tabs (several lines of untrusted text)."""
    return Text(printable(value, keep_newlines=True), style=style)


def clean_text(rich_text: Text) -> Text:
    """A copy of a Rich `Text` with control characters escaped, styles kept in place."""
    if not has_unsafe(rich_text.plain, keep_newlines=True):
        return rich_text
    cuts = sorted({o for span in rich_text.spans for o in (span.start, span.end)})
    out = Text(style=rich_text.style, justify=rich_text.justify, no_wrap=rich_text.no_wrap,
               overflow=rich_text.overflow, end=rich_text.end)
    for piece in rich_text.divide(cuts):
        plain = printable(piece.plain, keep_newlines=True)
        out.append_text(Text(plain, spans=[Span(0, len(plain), s.style) for s in piece.spans
                                           if s.end > s.start]))
    return out


def assemble(*parts: str | tuple[object, str]) -> Text:
    """`Text.assemble` for untrusted parts: each `(value, style)` is made printable first.

    Plain `str` parts are the program's own words and are kept as they are
    (still never parsed as markup).
    """
    out = Text()
    for part in parts:
        if isinstance(part, tuple):
            value, style = part
            out.append(printable(value), style=style)
        else:
            out.append(part)
    return out


class SafeConsole(Console):
    """A Rich console that can print nothing but safe text.

    Markup, emoji codes and automatic highlighting are off: strings print as
    the characters they are, so a value like `[/x]` can neither crash nor
    restyle the output. Every text segment rendered, from any renderable
    (tables, panels, syntax), has its control characters escaped, so the
    only escape sequences reaching the terminal are Rich's own styles.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """Rich's rendering, with every non-control segment made printable."""
        for segment in super().render(renderable, options):
            if segment.control or not has_unsafe(segment.text, keep_newlines=True):
                yield segment
            else:
                yield Segment(printable(segment.text, keep_newlines=True), segment.style)
