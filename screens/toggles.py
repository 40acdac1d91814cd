"""Check boxes, radio buttons and selection lists whose state reads without colour.

Textual draws every toggle as `▐X▌` (check box, selection list) or `▐●▌`
(radio button) and tells on from off by colour alone. On a monochrome
console, over a serial line, or for a colour-blind operator, every box then
looks ticked. These draw the mark only when the toggle is on, so an off box
is `▐ ▌`: the state is in the glyph, and colour only repeats it.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.widgets import Checkbox, RadioButton, SelectionList
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist

OFF_MARK = " "
"""What an off toggle shows between its brackets."""


class _MarkWhenOn(ToggleButton):
    """Draws the toggle as Textual does, with the mark only when the value is on.

    Listed after the Textual class in each subclass: Textual's CSS type names
    follow the first base only, so `Checkbox` selectors and queries still match.
    """

    @property
    def _button(self) -> Content:
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background,
                           background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            (self.BUTTON_INNER if self.value else OFF_MARK, button_style),
            (self.BUTTON_RIGHT, side_style),
        )


class ClearCheckbox(Checkbox, _MarkWhenOn):
    """A check box that shows `X` only when ticked."""


class ClearRadioButton(RadioButton, _MarkWhenOn):
    """A radio button that shows `●` only when chosen."""


class ClearSelectionList(SelectionList[str]):
    """A selection list whose unselected rows show an empty box."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        _, scroll_y = self.scroll_offset
        try:
            selection = self.get_option_at_index(scroll_y + y)
        except OptionDoesNotExist:  # past the last option: nothing to blank
            return line
        if selection.value in self._selected:
            return line
        segments = list(line)
        mark = ToggleButton.BUTTON_INNER
        for index, segment in enumerate(segments[:3]):
            if segment.text == mark:
                segments[index] = Segment(OFF_MARK, segment.style, segment.control)
                return Strip(segments, line.cell_length)
        return line
