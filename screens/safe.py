"""The TUI's last wall against raw control bytes: a line filter over every rendered line.

Views build their text with `wizard.safe_text` (values escaped visibly, Rich
`Text`, never markup). This filter is the net under them: whatever a widget
renders (an `Input` holding an imported value, a third-party widget, a
message someone forgot to escape), no control character reaches the
terminal. It removes rather than escapes, because control characters take no
cell and a rendered line's width is already fixed.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from wizard.safe_text import has_unsafe, strip_unsafe


class TerminalSafeFilter(LineFilter):
    """Drops every control character from the text of rendered segments."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """Each segment's text without control characters; Rich's own control segments kept."""
        if not any(not s.control and has_unsafe(s.text) for s in segments):
            return segments
        return [s if s.control else Segment(strip_unsafe(s.text), s.style, s.control)
                for s in segments]
