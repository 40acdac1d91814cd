"""What the TUI tests share: a canned host, canned interfaces, and an app factory.

Nothing here reads the machine the tests run on: the preflight facts and the
interface list are made up, and every app gets a temporary `--root`, so
snapshots are the same on every box and no test can touch the real /etc.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Interface
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from screens.app import WizardApp
from wizard.model import Setup
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.status.sources import StatusSource
from wizard.system.host import HostFacts
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root

REPO = Path(__file__).resolve().parent.parent
#: The seed document, as bundled with the repository (relative: it is shown on screen).
EXAMPLE = "examples/aws-strongswan-seed.txt"
SEED_DOCUMENT = REPO.parent / "shared" / "seed" / "aws-vpn-strongswan-generic.txt"
#: A key typed in tests to show the reveal toggle; it belongs to no fixture file.
REVEAL_DEMO_KEY = "Shown.on_purpose_42"

CANNED_HOST = HostFacts(
    is_root=True,
    strongswan_version="5.9.8",
    starter=True,
    tools={"ip": "/usr/sbin/ip", "iptables": "/usr/sbin/iptables", "sysctl": "/usr/sbin/sysctl"},
    vti="module",
    distribution="Ubuntu 22.04.4 LTS",
    distribution_id=("ubuntu", "debian"),
    os_release=True,
    systemd=True,
    ifupdown=True,
    rc_local=True,
)
#: A box that fails most checks: not root, old strongSwan, no iptables, no VTI.
BROKEN_HOST = HostFacts(
    is_root=False,
    strongswan_version="5.3.5",
    tools={"ip": "/usr/sbin/ip", "iptables": None, "sysctl": "/usr/sbin/sysctl"},
    vti="missing",
    starter=True,
    distribution="Ubuntu 16.04.7 LTS",
    distribution_id=("ubuntu", "debian"),
    os_release=True,
    ifupdown=True,
)
CANNED_INTERFACES = (
    HostInterface("eth0", (IPv4Interface("192.0.2.10/24"),), "up", True),
    HostInterface("eth1", (IPv4Interface("10.10.0.1/24"),), "up", False),
    HostInterface("wlan0", (), "down", False),
)


def make_app(
    root: Path,
    *,
    start: str = "welcome",
    import_path: str | None = EXAMPLE,
    dry_run: bool = True,
    host: HostFacts = CANNED_HOST,
    interfaces: tuple[HostInterface, ...] = CANNED_INTERFACES,
    status_source: Callable[[Setup | None], StatusSource] | None = None,
) -> WizardApp:
    """The wizard on a canned host, with `root` as its --root and no cursor blink."""
    return WizardApp(
        root=Root(root),
        dry_run=dry_run,
        import_path=import_path,
        host=host,
        interfaces=interfaces,
        cursor_blink=False,
        start=start,
        status_source=status_source,
        heartbeat_command=DEFAULT_COMMAND,  # the running installation's path would vary
    )


async def idle(pilot: Pilot) -> None:
    """Wait until every message queue of the app is empty twice in a row (a state, not a time).

    One `pilot.pause()` lets the app run once; a change handler that posts
    further messages (an answer, then the sidebar and the field messages) may
    still be queued after it, and on a loaded machine it is.
    """
    app = pilot.app
    quiet = 0
    for _ in range(1000):
        await pilot.pause()
        nodes = [app, *app.screen.walk_children(with_self=True)]
        if all(node._message_queue.empty() for node in nodes):
            quiet += 1
            if quiet == 2:
                return
        else:
            quiet = 0
    raise AssertionError("the app never became idle")


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str,
                   tries: int = 400) -> None:
    """Wait for a state, polling between app turns; fails naming `what` after `tries` polls."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def type_into(pilot: Pilot, selector: str, text: str, *, keys: bool = False) -> None:
    """Replace an Input's text: pasted in one go, or typed key by key with `keys=True`."""
    app = pilot.app
    field = app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    if keys:
        field.value = ""
        await pilot.press(*list(text))
    else:
        field.value = text
    await idle(pilot)


async def click(pilot: Pilot, selector: str, offset: tuple[int, int] = (0, 0)) -> None:
    """Scroll a widget into view, then click it (a click off screen would hit nothing)."""
    pilot.app.screen.query_one(selector).scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.click(selector, offset=offset)
    await pilot.pause()


def fixture_psks() -> set[str]:
    """Every pre-shared key in the bundled example files and the seed."""
    from seed_setup import SEED_PSKS

    keys = set(SEED_PSKS)
    patterns = (
        re.compile(r':\s*PSK\s+"([^"\n]+)"'),
        re.compile(r"-\s*Pre-Shared Key\s*:\s*(\S+)"),
        re.compile(r"<pre_shared_key>([^<]+)</pre_shared_key>"),
    )
    files = [*sorted((REPO / "examples").glob("*")), SEED_DOCUMENT]
    for path in files:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for pattern in patterns:
                keys.update(m.group(1) for m in pattern.finditer(text))
    return keys
