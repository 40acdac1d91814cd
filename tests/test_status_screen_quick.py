"""A second reading that arrives before the panel's new columns are composed (issue 13).

Refreshes are now cheap enough that an event-driven one can follow the
first reading within the same tick. The first reading mounts a column per
tunnel; a second one then must not reach into columns not composed yet
(Textual's NoMatches ended the panel), and the columns must show the latest.
"""

from __future__ import annotations

import pytest
from status_fixtures import later, nothing_applied_snapshot, snapshot_from_vici
from textual.widgets import Static

from screens.status import StatusApp, StatusScreen, TunnelPanel


@pytest.mark.asyncio
async def test_a_reading_right_after_the_first_is_drawn_not_a_crash() -> None:
    first = snapshot_from_vici("both_up")
    app = StatusApp(_Source(nothing_applied_snapshot()), refresh_interval=None,
                    threaded=False, watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, StatusScreen)
        screen._apply(first)  # the columns are mounted...
        newest = later(first, 5, 123_456)
        screen._apply(newest)  # ...and a second reading comes before they are composed
        await pilot.pause()
        await pilot.pause()
        panels = list(screen.query(TunnelPanel))
        assert len(panels) == 2
        body = str(panels[0].query_one(".tunnel-body", Static).render())
        assert screen.snapshot is newest
        assert body  # drawn, from the newest reading
        await pilot.press("r")  # and the panel lives on
        await pilot.pause()
        assert len(list(screen.query(TunnelPanel))) == 2


class _Source:
    def __init__(self, snapshot: object) -> None:
        self.value = snapshot

    def snapshot(self) -> object:
        return self.value
