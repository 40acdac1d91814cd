"""`--dry-run` and `--root` are inert in every command and every screen, proven by a tripwire.

Every sub-command and every step of the TUI, the live status panel and its
keys included, runs here with `inert_guard` installed: a process, a netlink
socket, a daemon's socket, a packet or a file written outside the test's
temporary directory fails the test, even where the code under test catches
the exception (see tests/inert_guard.py). Under `--root` nothing of this
machine may be touched at all, not even read through a command or netlink;
a dry run on `/` itself may read (the guard answers as a pristine host)
but not change anything.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from applykit import answers_text, seeded_root, tree
from inert_guard import Guard, installed
from screens_support import EXAMPLE, REPO, make_app, wait_for
from seed_setup import SEED_PSKS
from textual.pilot import Pilot
from textual.widgets import Static

from screens.apply import ApplyScreen
from screens.dialogs import ConfirmDialog
from screens.flow import FLOW
from screens.status import StatusScreen
from screens.status_step import StatusStepScreen
from wizard.cli import main
from wizard.manifest import MANIFEST_PATH

SIZE = (110, 36)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    """A --root holding the operator's own files, and an answers file beside it."""
    root = seeded_root(tmp_path / "root").root
    answers = tmp_path / "answers.toml"
    answers.write_text(answers_text())
    return root, answers


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Guard]:
    """Nothing outside tmp_path may be touched, or even asked (no process, no netlink)."""
    with installed(monkeypatch, [tmp_path]) as g:
        yield g
    g.assert_inert()


def _cli(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exit_:  # argparse refusing an option
        return int(exit_.code or 0)


# --------------------------------------------------------------------------- commands

DRY_COMMANDS: dict[str, tuple[tuple[str, ...], int]] = {
    # id: (argv with {R} for the root and {A} for the answers, expected exit status)
    "plan-text": (("plan", "--answers", "{A}", "--root", "{R}"), 0),
    "plan-json": (("plan", "--answers", "{A}", "--root", "{R}", "--format", "json"), 0),
    "apply-dry-run": (("apply", "--dry-run", "--answers", "{A}", "--root", "{R}"), 0),
    "dry-run-apply": (("--dry-run", "--root", "{R}", "apply", "--answers", "{A}"), 0),
    "uninstall-dry-run": (("uninstall", "--dry-run", "--answers", "{A}", "--root", "{R}"), 0),
    "status-once": (("status", "--once", "--root", "{R}"), 3),
    "status-once-answers": (("status", "--once", "--answers", "{A}", "--root", "{R}"), 1),
    "status-once-json-dry-run": (
        ("status", "--once", "--json", "--dry-run", "--answers", "{A}", "--root", "{R}"), 1),
    "dry-run-status-once": (("--dry-run", "status", "--once", "--answers", "{A}",
                             "--root", "{R}"), 1),
    "rollback": (("rollback", "--root", "{R}"), 0),
    "confirm": (("confirm", "--root", "{R}"), 1),  # nothing waits for confirmation
    "heartbeat-dry-run": (("heartbeat", "--dry-run", "169.254.23.5", "169.254.22.73"), 0),
    "heartbeat-root-dry-run": (("--root", "{R}", "--dry-run", "heartbeat", "169.254.23.5"), 0),
}


def _argv(template: tuple[str, ...], root: Path, answers: Path) -> list[str]:
    return [w.replace("{R}", str(root)).replace("{A}", str(answers)) for w in template]


@pytest.mark.parametrize("name", sorted(DRY_COMMANDS))
def test_command_is_inert(name: str, box: tuple[Path, Path], guard: Guard,
                          capsys: pytest.CaptureFixture[str]) -> None:
    """Each command on a fresh --root: touches nothing outside it; a dry run not even it."""
    root, answers = box
    template, expected = DRY_COMMANDS[name]
    before = tree(root, all_files=True)
    code = _cli(*_argv(template, root, answers))
    out, err = capsys.readouterr()
    assert code == expected, out + err
    if "--dry-run" in template or name.startswith(("plan", "status")):
        assert tree(root, all_files=True) == before, "the --root itself changed"
    for psk in SEED_PSKS:
        assert psk not in out + err


def test_status_says_which_target_it_shows(box: tuple[Path, Path], guard: Guard,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root, answers = box
    assert _cli("status", "--once", "--dry-run", "--answers", str(answers),
                "--root", str(root)) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"Dry run: nothing was applied to --root {root}.")
    assert _cli("status", "--once", "--json", "--answers", str(answers), "--root", str(root)) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["target"] == {"dry_run": False, "root": str(root), "live": False}
    assert document["source"] == "simulated"


def test_a_real_apply_under_a_root_then_every_command(
    box: tuple[Path, Path], guard: Guard, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a dry run: apply, status, uninstall and rollback change the root and nothing else."""
    root, answers = box
    a, r = str(answers), str(root)
    assert _cli("apply", "--no-confirm", "--answers", a, "--root", r) == 0
    manifest = root / MANIFEST_PATH.lstrip("/")
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600  # written by the engine, kept
    capsys.readouterr()
    assert _cli("status", "--once", "--root", r) == 1  # simulated: no peer, no SA
    text = capsys.readouterr().out
    assert text.startswith(f"--root {r}: the kernel and strongSwan shown are simulated")
    assert "VTI    Tunnel1 up" in text and "route  203.0.113.0/24 present" in text
    applied = tree(root, all_files=True)
    assert _cli("uninstall", "--dry-run", "--answers", a, "--root", r) == 0
    assert tree(root, all_files=True) == applied
    assert _cli("uninstall", "--yes", "--answers", a, "--root", r) == 0
    assert _cli("rollback", "--root", r) == 0
    assert not manifest.exists()  # the uninstall took it away with the setup
    assert _cli("status", "--once", "--root", r) == 3




def test_heartbeat_under_a_root_keeps_its_state_there_and_sends_nothing(
    box: tuple[Path, Path], guard: Guard
) -> None:
    """The service under --root: the state file in the root, no ping, no packet."""
    root, _ = box
    state = root / "run/vpn-wizard/heartbeat.json"
    stopped = threading.Event()

    def stop_when_written() -> None:
        # Waits for a state, not for a time: the first round's file, then SIGTERM.
        while not state.exists():
            if stopped.wait(0.05):
                return  # the service ended by itself: nothing to stop
        os.kill(os.getpid(), signal.SIGTERM)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    killer = threading.Thread(target=stop_when_written, daemon=True)
    killer.start()
    try:
        code = _cli("--root", str(root), "heartbeat", "169.254.23.5", "--interval", "1")
    finally:
        stopped.set()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert code == 0
    document = json.loads(state.read_text())
    assert list(document["targets"]) == ["169.254.23.5"]
    assert document["targets"]["169.254.23.5"]["last_reply"] is None


# --------------------------------------------------------------------------- the TUI


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()



def _notice(pilot: Pilot) -> str:
    return str(pilot.app.screen.query_one("#notice", Static).render())


async def _press_key_and_confirm(pilot: Pilot, key: str) -> tuple[str, str]:
    """A status panel key, its confirmation answered yes: (what it asked, what it then said)."""
    await pilot.press(key)
    await _settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, ConfirmDialog), f"{key} asked nothing"
    asked = f"{dialog.title_text}\n{dialog.body}"
    await pilot.press("y")
    # Done when the "…" of a running action is replaced by its outcome, whatever it is.
    await wait_for(pilot, lambda: _notice(pilot) and not _notice(pilot).endswith("…"),
                    f"the outcome of {key}")
    return asked, _notice(pilot)


async def _status_keys(pilot: Pilot, guard: Guard, dry_run: bool) -> None:
    """f, f again, u and d on the open status panel: first nothing touched, then the words."""
    screen = pilot.app.screen
    assert isinstance(screen, StatusScreen)
    outcomes = [await _press_key_and_confirm(pilot, "f"),
                await _press_key_and_confirm(pilot, "f")]
    await pilot.press("2")
    outcomes += [await _press_key_and_confirm(pilot, "u"),
                 await _press_key_and_confirm(pilot, "d")]
    guard.assert_inert()  # before any wording: the keys touched nothing
    target = str(screen.query_one("#status-target", Static).render())
    if dry_run:
        assert target.startswith("Dry run: nothing was applied")
        for asked, said in outcomes:
            assert asked.startswith("Dry run: ") and "nothing will be done" in asked
            assert said.startswith("Dry run: would run ") and said.endswith("Nothing was changed.")
        assert "iptables -t filter -A INPUT -s " in outcomes[0][1]
        assert "iptables -t filter -D INPUT -s " in outcomes[1][1]
        assert "swanctl --initiate --ike Tunnel2 --child Tunnel2" in outcomes[2][1]
        assert "swanctl --terminate --ike Tunnel2" in outcomes[3][1]
        diagnosis = str(screen.query_one("#diagnosis", Static).render())
        assert "nothing was applied" in diagnosis and "ipsec start" not in diagnosis
    else:
        assert target.startswith("--root ")
        for asked, said in outcomes:
            assert "changes only the simulated kernel" in asked
            assert "in the simulated kernel under --root" in said, said


@pytest.mark.asyncio
async def test_every_screen_of_a_dry_run_then_the_status_keys(
    tmp_path: Path, guard: Guard
) -> None:
    """Welcome to status with Next only, the dry run applied, then every status key."""
    root = seeded_root(tmp_path / "root").root
    before = tree(root, all_files=True)
    app = make_app(root, import_path=EXAMPLE, dry_run=True)
    seen: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        while app.current != "review":
            seen.append(app.current)
            await pilot.press("f1")  # every step's help, too
            await _settle(pilot)
            await pilot.press("escape")
            await pilot.press("ctrl+n")
            await _settle(pilot)
            assert app.current != seen[-1], f"stuck on {seen[-1]}"
        seen.append("review")
        await pilot.press("ctrl+n")
        await _settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await _settle(pilot)
        apply_screen = app.screen
        assert isinstance(apply_screen, ApplyScreen)
        await wait_for(pilot, lambda: apply_screen.finished, "the dry run")
        seen.append("apply")
        await pilot.press("ctrl+n")
        await _settle(pilot)
        assert isinstance(app.screen, StatusStepScreen)
        seen.append(app.current)
        about = str(app.screen.query_one("#status-placeholder", Static).render())
        await pilot.press("s")
        await _settle(pilot)
        await _status_keys(pilot, guard, dry_run=True)
        assert "only show the command" in about
    assert seen == [step.id for step in FLOW]
    assert tree(root, all_files=True) == before


@pytest.mark.asyncio
async def test_a_real_run_under_a_root_acts_only_on_its_simulated_kernel(
    tmp_path: Path, guard: Guard
) -> None:
    """Applied for real to --root DIR: the panel opens by itself; its keys change only DIR."""
    root = seeded_root(tmp_path / "root").root
    app = make_app(root, start="review", dry_run=False)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        await pilot.press("ctrl+n")
        await _settle(pilot)
        await pilot.press("y")
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        await wait_for(pilot, lambda: screen.deadline > 0 or screen.finished, "the apply")
        await _settle(pilot)
        await pilot.click("#keep")
        await wait_for(pilot, lambda: screen.finished, "keep")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen), "the live panel")
        await _settle(pilot)
        await _status_keys(pilot, guard, dry_run=False)
    kernel = json.loads((root / "run/vpn-wizard-sim/kernel.json").read_text())
    assert kernel["iptables"].get("filter") is None  # blocked, then unblocked
    assert "initiated" not in kernel["strongswan"]  # brought up, then taken down


@pytest.mark.asyncio
async def test_a_dry_run_on_this_box_may_look_but_not_touch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On `/` itself (no --root): the status keys after a dry run change nothing.

    The guard answers read-only queries as a pristine host would (no rule,
    no daemon, no link), so the test sees the same box on every machine; a
    command that would change it is a violation.
    """
    with installed(monkeypatch, [tmp_path], host=True) as host_guard:
        app = make_app(Path("/"), import_path=EXAMPLE, dry_run=True, start="status")
        async with app.run_test(size=SIZE) as pilot:
            await _settle(pilot)
            await pilot.press("s")
            await _settle(pilot)
            await _status_keys(pilot, host_guard, dry_run=True)
            assert "-A INPUT" not in " ".join(host_guard.reads)


# --------------------------------------------------------------------------- plain mode


def test_plain_mode_dry_run_is_inert(tmp_path: Path, guard: Guard) -> None:
    """`--plain --dry-run --root DIR`, every question answered and the dry run applied."""
    import io

    from rich.console import Console
    from screens_support import CANNED_HOST, CANNED_INTERFACES
    from test_plain_mode import TypingPrompter, args

    from wizard.commands.plain import run_plain

    root = seeded_root(tmp_path / "root").root
    before = tree(root, all_files=True)
    out = io.StringIO()
    code = run_plain(args(root=str(root), dry_run=True),
                     prompter=TypingPrompter({}, apply=True),
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    assert code == 0, out.getvalue()
    assert "Dry run: nothing was changed." in out.getvalue()
    assert tree(root, all_files=True) == before
