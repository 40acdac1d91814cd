"""Issue 11 item 3: with only the AWS console's values, both tunnels are typed in by hand.

The Import step offers "Enter the tunnels by hand"; the Tunnel steps then show
every value AWS gives, empty and "not entered yet", and validate what is typed
exactly as they validate an imported file's values; Review stays blocked,
naming the step, until both tunnels are complete and valid.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from screens_support import make_app, type_into
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from screens.app import WizardApp
from screens.review import ReviewScreen

SIZE = (100, 32)
pytestmark = pytest.mark.asyncio

#: What the console shows for each tunnel, by field (all from the documentation ranges).
CONSOLE = (
    {"customer_outside_ip": "198.51.100.7", "aws_outside_ip": "203.0.113.10",
     "customer_inside_cidr": "169.254.44.2/30", "aws_inside_cidr": "169.254.44.1/30",
     "psk": "Typed.by_hand_one1"},
    {"customer_outside_ip": "198.51.100.7", "aws_outside_ip": "203.0.113.20",
     "customer_inside_cidr": "169.254.55.6/30", "aws_inside_cidr": "169.254.55.5/30",
     "psk": "Typed.by_hand_two2"},
)


def selector(index: int, name: str) -> str:
    return f"#i-tunnels-{index}-{name}"


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def open_step(pilot: Pilot, step_id: str) -> None:
    app = pilot.app
    assert isinstance(app, WizardApp)
    app.goto(step_id)
    await settle(pilot)
    assert app.current == step_id and app.screen.id == step_id


def state_of(app: WizardApp, step_id: str) -> str:
    return next(e.state for e in app.sidebar_entries(app.current) if e.step_id == step_id)


async def start_by_hand(pilot: Pilot) -> WizardApp:
    app = pilot.app
    assert isinstance(app, WizardApp)
    await settle(pilot)
    assert app.current == "import" and app.setup is None
    button = app.screen.query_one("#by-hand", Button)
    assert "by hand" in str(button.label)
    button.scroll_visible(animate=False, immediate=True)
    await pilot.click("#by-hand")
    await settle(pilot)
    assert app.setup is not None
    return app


async def test_both_tunnels_typed_by_hand_reach_the_plan(tmp_path: Path) -> None:
    """Typed at the Tunnel steps, checked as typed, carried into the rendered files."""
    app = make_app(tmp_path / "root", import_path=None, start="import")
    async with app.run_test(size=SIZE) as pilot:
        await start_by_hand(pilot)
        assert app.step_invalid("tunnel1") and app.step_invalid("tunnel2")
        assert app.plan_or_none() is None
        for index, values in enumerate(CONSOLE):
            step = f"tunnel{index + 1}"
            await open_step(pilot, step)
            for name in values:  # every value starts empty, saying it is not entered yet
                assert app.screen.query_one(selector(index, name), Input).value == ""
            message = app.screen.query_one(f"#f-tunnels-{index}-aws_outside_ip .field-message",
                                           Static)
            assert "not entered yet" in str(message.render())
            assert app.screen.query_one(selector(index, "psk"), Input).password
            # A malformed value is refused where it is typed, as for an imported file.
            await type_into(pilot, selector(index, "aws_inside_cidr"), "169.254.44.1/29")
            assert "must be a /30 (got /29)" in str(
                app.screen.query_one(f"#f-tunnels-{index}-aws_inside_cidr .field-message",
                                     Static).render())
            for name, value in values.items():
                await type_into(pilot, selector(index, name), value)
                assert state_of(app, step) == "current-invalid" or name == "psk"
            await type_into(pilot, selector(index, "crypto-ike_lifetime"), "8h")
            assert not app.step_invalid(step), app.step_problems(step)
            assert state_of(app, step) == "current"
        await open_step(pilot, "tunnel2")
        assert state_of(app, "tunnel1") == "done"
        assert not app.drafts, app.drafts
        assert app.apply_blockers() == []
        plan = app.plan_or_none()
        assert plan is not None
        setup = app.setup
        assert setup is not None
        assert [str(t.aws_outside_ip) for t in setup.tunnels] == ["203.0.113.10", "203.0.113.20"]
        assert [t.mark for t in setup.tunnels] == [100, 200]  # the seed's defaults
        assert app.session.sources["tunnels[1].psk"] == "answers"
        files = "\n".join(change.after for change in plan.final_files().values()
                          if change.after)
        for values in CONSOLE:
            for name in ("aws_outside_ip", "customer_inside_cidr", "aws_inside_cidr"):
                assert values[name] in files, name
            assert values["psk"] in files  # ipsec.secrets holds it (masked on screen)
        await open_step(pilot, "review")
        assert isinstance(app.screen, ReviewScreen)
        assert not app.screen.query("#blockers")


async def test_a_missing_or_invalid_value_keeps_review_blocked_naming_the_step(
        tmp_path: Path) -> None:
    app = make_app(tmp_path / "root", import_path=None, start="import")
    async with app.run_test(size=SIZE) as pilot:
        await start_by_hand(pilot)
        for index, values in enumerate(CONSOLE):
            await open_step(pilot, f"tunnel{index + 1}")
            for name, value in values.items():
                if (index, name) != (1, "psk"):  # Tunnel 2's key is never typed
                    await type_into(pilot, selector(index, name), value)
        await open_step(pilot, "tunnel1")
        await type_into(pilot, selector(0, "aws_inside_cidr"), "169.254.45.1/30")  # other /30
        await open_step(pilot, "tunnel2")
        assert app.plan_or_none() is None
        blockers = app.apply_blockers()
        assert any(line.startswith("Tunnel 1 · Inside, AWS: must be in 169.254.44.0/30")
                   for line in blockers), blockers
        assert "Tunnel 2 · Pre-shared key: not entered yet: type the value from the AWS console" \
            in blockers, blockers
        assert state_of(app, "tunnel1") == "invalid" and state_of(app, "tunnel2") == "current-invalid"
        await open_step(pilot, "review")
        shown = str(app.screen.query_one("#blockers", Static).render())
        assert "Tunnel 2 · Pre-shared key: not entered yet" in shown
        assert "Tunnel 1 · Inside, AWS" in shown
        await pilot.click("#next")
        await settle(pilot)
        assert app.current == "review"  # refused: nothing to apply
