"""SVG snapshots of every wizard step, its error states, the reveal toggle and the dialogs.

Stable by construction: a canned host and interface list (screens_support),
a fresh temporary --root (every file is new, so diffs do not depend on this
machine), no cursor blink, the fixed textual-dark theme, 100x32 unless the
test is about 80x24. The SVGs live in snapshots/test_screens_snapshots/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from screens_support import BROKEN_HOST, REPO, REVEAL_DEMO_KEY, make_app, type_into
from textual.pilot import Pilot
from textual.widgets import Button, TextArea

from screens.app import WizardApp

SIZE = (100, 32)
SMALL = (80, 24)

Before = Callable[[Pilot], Awaitable[None]]


@pytest.fixture(autouse=True)
def _stable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative example paths resolve from the repository; the theme is the app's own."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def step(start: str, *actions: Before) -> Before:
    """run_before: let the step settle, run the actions, settle again."""

    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        assert isinstance(pilot.app, WizardApp) and pilot.app.current == start
        for action in actions:
            await action(pilot)
        await settle(pilot)

    return run


def typing(selector: str, text: str) -> Before:
    async def run(pilot: Pilot) -> None:
        await type_into(pilot, selector, text)

    return run


def clicking(selector: str) -> Before:
    async def run(pilot: Pilot) -> None:
        await pilot.click(selector)
        await pilot.pause()

    return run


def pressing(*keys: str) -> Before:
    async def run(pilot: Pilot) -> None:
        await pilot.press(*keys)
        await pilot.pause()

    return run


def scroll_home() -> Before:
    async def run(pilot: Pilot) -> None:
        pilot.app.screen.query_one("#body").scroll_home(animate=False)
        await pilot.pause()

    return run


def snap(snap_compare, tmp_path: Path, start: str, *actions: Before, size=SIZE, **kw) -> bool:
    app = make_app(tmp_path, start=start, **kw)
    return snap_compare(app, terminal_size=size, run_before=step(start, *actions))


# ---------------------------------------------------------------- welcome / preflight


def test_welcome(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "welcome")


def test_welcome_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "welcome", size=SMALL)


def test_welcome_failing_host(snap_compare, tmp_path: Path) -> None:
    """Not root, old strongSwan, no iptables, no VTI: each says its fix; applying is blocked."""
    assert snap(snap_compare, tmp_path, "welcome", dry_run=False, host=BROKEN_HOST)


def test_welcome_failing_host_dry_run(snap_compare, tmp_path: Path) -> None:
    """The same box in a dry run: the failures are shown but block nothing."""
    assert snap(snap_compare, tmp_path, "welcome", host=BROKEN_HOST)


# ---------------------------------------------------------------- import


def test_import_loaded(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "import")


def test_import_empty(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "import", import_path=None)


def test_import_error(snap_compare, tmp_path: Path) -> None:
    """A damaged paste: the importer's message names the line."""
    broken = (REPO / "examples" / "aws-strongswan-seed.txt").read_text(encoding="utf-8")
    broken = broken.replace("right=203.0.113.1", "right=203.0.113", 1)

    async def paste(pilot: Pilot) -> None:
        pilot.app.screen.query_one("#paste", TextArea).text = broken
        await pilot.click("#load-paste")
        await pilot.pause()

    assert snap(snap_compare, tmp_path, "import", paste, import_path=None)


# ---------------------------------------------------------------- forwarding


def test_forwarding(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "forwarding")


def test_forwarding_off(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "forwarding", clicking("#i-choices-enable_forwarding"))


# ---------------------------------------------------------------- tunnels


def test_tunnel1(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "tunnel1")


def test_tunnel1_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "tunnel1", size=SMALL)


def test_tunnel1_errors(snap_compare, tmp_path: Path) -> None:
    """Each field's own message: a bad address, a reserved /30, a short key that starts with 0."""
    assert snap(
        snap_compare, tmp_path, "tunnel1",
        typing("#i-tunnels-0-aws_outside_ip", "203.0.113"),
        typing("#i-tunnels-0-customer_inside_cidr", "169.254.5.2/30"),
        typing("#i-tunnels-0-psk", "0short"),
        scroll_home(),
    )


def test_tunnel1_proposal_errors(snap_compare, tmp_path: Path) -> None:
    """Proposals, lifetimes and DPD refused with the rule they break."""
    assert snap(
        snap_compare, tmp_path, "tunnel1",
        typing("#i-tunnels-0-crypto-ike", "aes128-md5-modp1024"),
        typing("#i-tunnels-0-crypto-esp_lifetime", "2h"),
        typing("#i-tunnels-0-crypto-dpd_timeout", "20"),
    )


def test_tunnel1_psk_revealed(snap_compare, tmp_path: Path) -> None:
    """The reveal toggle, on a key typed for this test (no fixture key is ever shown)."""
    assert snap(
        snap_compare, tmp_path, "tunnel1",
        typing("#i-tunnels-0-psk", REVEAL_DEMO_KEY),
        clicking("#reveal-tunnels-0-psk"),
        scroll_home(),
    )


def test_tunnel2_duplicate_mark(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "tunnel2", typing("#i-tunnels-1-mark", "100"),
                scroll_home())


# ---------------------------------------------------------------- mode, interfaces, VPC


def test_mode(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "mode")


def test_mode_updown(snap_compare, tmp_path: Path) -> None:
    """Updown without a VPC CIDR: the sidebar marks the VPC step invalid."""
    assert snap(snap_compare, tmp_path, "mode", clicking("#i-choices-mode-updown"))


def test_interfaces(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "interfaces")


def test_interfaces_nat_error(snap_compare, tmp_path: Path) -> None:
    """Behind NAT (the default here) with a private address that is not one."""
    assert snap(
        snap_compare, tmp_path, "interfaces",
        typing("#i-choices-local_ip", "192.0.2"),
    )


def test_vpc(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "vpc", typing("#i-choices-vpc_cidrs",
                                                      "10.0.0.0/16, 10.1.0.0/16"))


def test_vpc_did_you_mean(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "vpc", typing("#i-choices-vpc_cidrs", "10.0.0.1/16"))


# ---------------------------------------------------------------- persistence, heartbeat


def test_persistence(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "persistence")


def test_persistence_none(snap_compare, tmp_path: Path) -> None:
    """Nothing persisted: the table says what a reboot loses."""
    assert snap(snap_compare, tmp_path, "persistence", clicking("#i-choices-persistence-none"))


def test_heartbeat(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "heartbeat")


def test_heartbeat_error(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "heartbeat",
                typing("#i-choices-heartbeat_interval", "0"))


# ---------------------------------------------------------------- review, apply, status


def test_review(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "review")


def test_review_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "review", size=SMALL)


def test_review_blocked(snap_compare, tmp_path: Path) -> None:
    """Errors elsewhere: the review lists them and the plan is not shown."""

    async def break_things(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, WizardApp)
        app.answer("tunnels[1].mark", "100")
        app.answer("choices.vpc_cidrs", "10.0.0.1/16")
        app.goto("heartbeat")
        await settle(pilot)
        app.goto("review")

    assert snap(snap_compare, tmp_path, "review", break_things)


async def _run_dry(pilot: Pilot) -> None:
    await pilot.click("#next")
    await pilot.pause()
    await pilot.click("#yes")
    app = pilot.app
    assert isinstance(app, WizardApp)
    for _ in range(200):
        await pilot.pause(0.05)
        if app.apply_finished:
            break
    assert app.apply_finished
    await settle(pilot)
    app.screen.query_one("#body").scroll_home(animate=False)


def test_apply_confirm_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "review", clicking("#next"))


def test_apply_dry_run(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "review", _run_dry)


def test_status_placeholder(snap_compare, tmp_path: Path) -> None:
    async def to_status(pilot: Pilot) -> None:
        await _run_dry(pilot)
        pilot.app.screen.query_one("#next", Button).press()
        await pilot.pause()

    assert snap(snap_compare, tmp_path, "review", to_status)


# ---------------------------------------------------------------- dialogs


def test_help_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "tunnel1", pressing("f1"))


def test_quit_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "mode", pressing("q"))


def test_save_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap(snap_compare, tmp_path, "mode", pressing("ctrl+s"))


# ---------------------------------------------------------------- every screen at both sizes

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
"""A console's size and a roomy one (issue 11): every screen is snapshotted and checked at both."""


async def _paste_broken(pilot: Pilot) -> None:
    """A damaged paste, so the Import step shows the importer's message."""
    broken = (REPO / "examples" / "aws-strongswan-seed.txt").read_text(encoding="utf-8")
    pilot.app.screen.query_one("#paste", TextArea).text = broken.replace(
        "right=203.0.113.1", "right=203.0.113", 1)
    await pilot.click("#load-paste")
    await pilot.pause()


async def _to_status(pilot: Pilot) -> None:
    await _run_dry(pilot)
    pilot.app.screen.query_one("#next", Button).press()
    await pilot.pause()


SCREENS: dict[str, tuple[str, tuple[Before, ...], dict[str, object]]] = {
    "welcome": ("welcome", (), {}),
    "import_empty": ("import", (), {"import_path": None}),
    "import_loaded": ("import", (), {}),
    "import_error": ("import", (_paste_broken,), {"import_path": None}),
    "forwarding": ("forwarding", (), {}),
    "tunnel1": ("tunnel1", (), {}),
    "tunnel2": ("tunnel2", (), {}),
    "mode": ("mode", (), {}),
    "interfaces": ("interfaces", (), {}),
    "vpc": ("vpc", (typing("#i-choices-vpc_cidrs", "10.0.0.0/16, 10.1.0.0/16"),), {}),
    "persistence": ("persistence", (), {}),
    "heartbeat": ("heartbeat", (), {}),
    "review": ("review", (), {}),
    "apply_dry_run": ("review", (_run_dry,), {}),
    "status_step": ("review", (_to_status,), {}),
    "help_dialog": ("tunnel1", (pressing("f1"),), {}),
    "save_dialog": ("mode", (pressing("ctrl+s"),), {}),
    "confirm_dialog": ("review", (clicking("#next"),), {}),
    "quit_dialog": ("mode", (pressing("q"),), {}),
}
"""Every wizard step and dialog as the operator first meets it: (start step, actions, app kwargs)."""


PROSE_ELLIPSES = ("…or paste its text", "…or, with only the AWS console's values", "Dry run…",
                  "Jump to a file or a warning…")
"""Ellipses the wizard writes on purpose (a label, a button that opens a dialog, a
placeholder); any other "…" on screen is Textual or Rich eliding a value that did not fit."""


def _screen_lines(app: WizardApp) -> list[str]:
    """The terminal's rows as the operator sees them (a dialog over its step included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _cut_widgets(app: WizardApp) -> list[str]:
    """Widgets whose content does not fit their region and cannot be scrolled to, or that
    reach past the terminal's right edge."""
    width = app.size.width
    wrong = []
    for widget in app.screen.walk_children(with_self=True):
        if not widget.display or not widget.region:
            continue
        name = f"{type(widget).__name__}#{widget.id}" if widget.id else type(widget).__name__
        if widget.region.right > width:
            wrong.append(f"{name} reaches column {widget.region.right} of {width}")
        if not widget.is_scrollable:
            continue
        room, content = widget.scrollable_content_region.size, widget.virtual_size
        if content.width > room.width and not widget.show_horizontal_scrollbar:
            wrong.append(f"{name} is {content.width} wide in {room.width} columns, no scrollbar")
        if content.height > room.height and not widget.show_vertical_scrollbar:
            wrong.append(f"{name} is {content.height} high in {room.height} rows, no scrollbar")
    return wrong


async def _every_page(pilot: Pilot) -> list[str]:
    """Every row of the step's scrolling body, page by page, so nothing below the fold hides."""
    app = pilot.app
    assert isinstance(app, WizardApp)
    bodies = [body for body in app.screen.query("#body") if body.display]
    lines = _screen_lines(app)
    if not bodies:
        return lines
    body = bodies[0]
    body.scroll_home(animate=False)
    await pilot.pause()
    for _ in range(200):
        lines += _screen_lines(app)
        if body.scroll_y >= body.max_scroll_y:
            break
        body.scroll_page_down(animate=False)
        await pilot.pause()
    return lines


async def _nothing_is_cut_off(pilot: Pilot) -> None:
    """No value elided with "…", no widget cropped without a scrollbar, and ^q Quit in the footer.

    Pages through the step's body, then puts it back where it was, so the
    snapshot taken next shows the screen as the operator first meets it.
    """
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, WizardApp)
    assert _cut_widgets(app) == []
    footer = _screen_lines(app)[-1]
    assert "^q Quit" in footer, footer
    bodies = [body for body in app.screen.query("#body") if body.display]
    where = [(body, body.scroll_x, body.scroll_y) for body in bodies]
    lines = await _every_page(pilot)
    for body, x, y in where:
        body.scroll_to(x, y, animate=False)
    await settle(pilot)
    elided = []
    for line in lines:
        for prose in PROSE_ELLIPSES:
            line = line.replace(prose, "")
        if "…" in line:
            elided.append(line.rstrip())
    assert elided == []


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_screen(snap_compare, tmp_path: Path, screen: str, size: str) -> None:
    """Each screen at both sizes: nothing cut off (checked first), then its snapshot.

    One app per case does both, so each of the 38 screens is built once.
    """
    start, actions, kw = SCREENS[screen]
    assert snap(snap_compare, tmp_path, start, *actions, _nothing_is_cut_off, size=SIZES[size], **kw)
