"""Plain mode asks the TUI's questions through questionary and builds the very same plan.

questionary is driven for real: every prompt reads keystrokes from a
prompt_toolkit pipe (Ctrl-A Ctrl-K to clear a default, arrows to move, space
to tick, Enter to accept), the same keys an operator would press.
"""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from screens_support import (
    CANNED_HOST,
    CANNED_INTERFACES,
    EXAMPLE,
    REPO,
    click,
    make_app,
    type_into,
)
from seed_setup import SEED_PSKS
from textual.widgets import Checkbox, SelectionList

from wizard import inputs
from wizard.commands.plain import Prompter, ask_all, run_plain
from wizard.plan import build_plan
from wizard.questions import BY_ID, Context, Option, host_defaults
from wizard.session import HostDefaults, Session
from wizard.system.paths import Root

DOWN, UP, ENTER = "\x1b[B", "\x1b[A", "\r"
CLEAR = "\x01\x0b"  # Ctrl-A, Ctrl-K: to the start, kill to the end

#: One operator's answers, by question id; everything else keeps its default.
ANSWERS: dict[str, Any] = {
    "choices.enable_forwarding": False,
    "tunnels[0].psk": "Another.key_42",
    "tunnels[0].crypto.ike": "aes256-sha256-modp2048",
    "tunnels[0].crypto.esp_lifetime": "45m",
    "tunnels[0].crypto.dpd_action": "clear",
    "tunnels[1].mark": "300",
    "tunnels[1].crypto.ike_version": "2",
    "choices.mode": "updown",
    "choices.behind_nat": True,
    "choices.lan_interfaces": ("eth1",),
    "choices.vpc_cidrs": "10.0.0.0/16, 10.1.0.0/16",
    "choices.heartbeat_interval": "10",
    "choices.persistence": "netplan",
    "choices.backend": "swanctl",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@contextmanager
def keys(text: str) -> Iterator[None]:
    """Every prompt made inside reads `text` as the operator's keystrokes."""
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(text)
        yield


class TypingPrompter(Prompter):
    """Answers each real questionary prompt by typing the keys for `answers`."""

    def __init__(self, answers: dict[str, Any], apply: bool = False) -> None:
        self.answers = answers
        self.apply = apply
        self.asked: list[str] = []

    def text(self, question_id: str, message: str, default: str, validate: Any, *,
             secret: bool = False) -> str:
        self.asked.append(question_id)
        value = self.answers.get(question_id)
        typed = ENTER if value is None else CLEAR + str(value) + ENTER
        with keys(typed):
            return super().text(question_id, message, default, validate, secret=secret)

    def confirm(self, question_id: str, message: str, default: bool) -> bool:
        self.asked.append(question_id)
        if question_id == "apply":
            wanted = self.apply
        elif question_id.endswith(".edit"):  # "Change any of TunnelN's values?"
            index = int(question_id.removeprefix("tunnel").split(".")[0]) - 1
            wanted = any(k.startswith(f"tunnels[{index}]") for k in self.answers)
        else:
            wanted = self.answers.get(question_id, default)
        with keys("y" if wanted else "n"):
            return super().confirm(question_id, message, default)

    def select(self, question_id: str, message: str, options: Sequence[Option],
               default: str) -> str:
        self.asked.append(question_id)
        values = [o.value for o in options]
        move = values.index(self.answers.get(question_id, default)) - values.index(default)
        with keys((DOWN * move if move > 0 else UP * -move) + ENTER):
            return super().select(question_id, message, options, default)

    def multi(self, question_id: str, message: str, options: Sequence[Option],
              default: Sequence[str], validate: Any) -> list[str]:
        self.asked.append(question_id)
        wanted = set(self.answers.get(question_id, default))
        typed = "".join((" " if (o.value in wanted) != (o.value in default) else "") + DOWN
                        for o in options)
        with keys(typed + ENTER):
            return super().multi(question_id, message, options, default, validate)


def quiet() -> Console:
    return Console(file=io.StringIO(), width=100)


def plain_setup(root: Path, answers: dict[str, Any]):
    session = Session(Root(root), host=HostDefaults.probe(Root(root), CANNED_INTERFACES))
    assert session.load(EXAMPLE, None), session.import_error
    prompter = TypingPrompter(answers)
    return ask_all(session, prompter, quiet()), prompter


async def tui_setup(root: Path, answers: dict[str, Any]):
    """The same answers given in the TUI, each on its own step's screen."""
    app = make_app(root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        for question_id, value in answers.items():
            question = BY_ID[question_id]
            if app.current != question.step:
                app.goto(question.step)
                await pilot.pause()
            selector = f"#i-{question_id.replace('[', '-').replace('].', '-').replace('.', '-')}"
            if question.kind in ("text", "secret"):
                await type_into(pilot, selector, str(value))
            elif question.kind == "confirm":
                if app.screen.query_one(selector, Checkbox).value != value:
                    await click(pilot, selector)
            elif question.kind == "select":
                await click(pilot, f"{selector}-{value}")
            else:
                selection = app.screen.query_one(selector, SelectionList)
                for index in range(selection.option_count):
                    option = selection.get_option_at_index(index)
                    if (option.value in value) != (option.value in selection.selected):
                        await click(pilot, selector, offset=(2, index))
            await pilot.pause()
        assert not app.drafts, app.drafts
        return app.setup


def test_both_modes_build_the_same_plan(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    from_plain, prompter = plain_setup(root, ANSWERS)  # questionary runs its own event loop
    from_tui = asyncio.run(tui_setup(root, ANSWERS))
    assert from_tui is not None
    assert from_plain == from_tui
    assert build_plan(from_plain, Root(root).read) == build_plan(from_tui, Root(root).read)
    # The answers really landed (and were not both left at the defaults).
    assert from_plain.tunnels[0].psk.reveal() == "Another.key_42"
    assert from_plain.tunnels[0].crypto.esp_lifetime == 2700
    assert from_plain.tunnels[1].crypto.ike_version == 2
    assert from_plain.choices.mode == "updown"
    assert str(from_plain.choices.local_ip) == "192.0.2.10"
    assert from_plain.choices.lan_interfaces == ("eth1",)
    assert "choices.persistence" in prompter.asked and "choices.backend" in prompter.asked
    assert from_plain.choices.persistence == "netplan"
    assert from_plain.choices.backend == "swanctl"


def test_defaults_alone_give_the_imported_setup(tmp_path: Path) -> None:
    """Enter at every prompt changes nothing but the host's preselected WAN interface."""
    setup, prompter = plain_setup(tmp_path, {})
    loaded = inputs.load(EXAMPLE, None, Root(tmp_path))
    assert setup == host_defaults(loaded.setup, Context(CANNED_INTERFACES), loaded.sources)
    assert "tunnels[0].psk" not in prompter.asked  # "Change any of Tunnel1's values?" no


def args(**kw: Any) -> argparse.Namespace:
    base = {"import_path": EXAMPLE, "answers": None, "root": "/", "dry_run": True}
    return argparse.Namespace(**{**base, **kw})


def test_run_plain_reviews_and_asks_before_anything(tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_plain(args(root=str(tmp_path)), prompter=TypingPrompter({}),
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    text = out.getvalue()
    assert code == 0
    assert "Preflight checks" in text
    assert "Nothing has been changed yet: this is a preview." in text
    assert "Not applied. Nothing was changed." in text
    for key in (*SEED_PSKS, "ExampleKey.One_1", "ExampleKey.Two_2"):
        assert key not in text
    assert list(tmp_path.iterdir()) == []


def test_run_plain_dry_run_records_and_writes_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_plain(args(root=str(tmp_path)), prompter=TypingPrompter({}, apply=True),
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    text = out.getvalue()
    assert code == 0, text
    assert "Would run:" in text and "ip link add Tunnel1" in text
    assert "Dry run: nothing was changed." in text
    assert list(tmp_path.iterdir()) == []


def _boxes(text: str) -> int:
    """How many plan steps were printed: each is one box, its title inside it."""
    return sum(line.startswith("╭") for line in text.splitlines())


def test_plain_review_shows_the_plan_one_step_at_a_time(tmp_path: Path) -> None:
    """The review asks before each next step, and "skip to the end" stops showing them."""
    out = io.StringIO()
    prompter = TypingPrompter({})
    code = run_plain(args(root=str(tmp_path)), prompter=prompter,
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    assert code == 0
    shown = _boxes(out.getvalue())
    asked = prompter.asked.count("review")
    assert asked == shown - 1 and shown >= 15, (asked, shown)  # one prompt between two steps
    assert "After a reboot:" in out.getvalue()

    out = io.StringIO()
    skipping = TypingPrompter({"review": "end"})
    run_plain(args(root=str(tmp_path)), prompter=skipping, console=Console(file=out, width=120),
              host=lambda: CANNED_HOST, interfaces=lambda: list(CANNED_INTERFACES))
    assert _boxes(out.getvalue()) == 1 and skipping.asked.count("review") == 1
    assert "Nothing has been changed yet: this is a preview." in out.getvalue()


def test_plain_mode_shows_what_survives_a_reboot_at_the_persistence_step(tmp_path: Path) -> None:
    """The Persistence step's table, from the same catalogue the TUI's screen draws."""
    out = io.StringIO()
    run_plain(args(root=str(tmp_path)), prompter=TypingPrompter({"choices.persistence": "none"}),
              console=Console(file=out, width=120), host=lambda: CANNED_HOST,
              interfaces=lambda: list(CANNED_INTERFACES))
    text = out.getvalue()
    persistence = text[text.index("Persistence ─"):text.index("Heartbeat ─")]
    assert "After a reboot" in persistence
    assert "lost: run the wizard again after a reboot" in persistence


@pytest.mark.parametrize("secrets", [False, True])
def test_plain_mode_offers_to_save_the_answers_as_ctrl_s_does(tmp_path: Path,
                                                              secrets: bool) -> None:
    """0600, the import relative to the answers file, keys only when asked; it replays."""
    import stat

    from wizard.answers import load_answers, resolve
    from wizard.aws import load as load_aws

    target = tmp_path / "saved" / "answers.toml"
    target.parent.mkdir()
    out = io.StringIO()
    prompter = TypingPrompter({"save": True, "save.path": str(target), "save.secrets": secrets,
                               "choices.vpc_cidrs": "10.9.0.0/16"})
    code = run_plain(args(root=str(tmp_path / "root")), prompter=prompter,
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    assert code == 0, out.getvalue()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert ("ExampleKey.One_1" in text) == secrets
    answers = load_answers(target)
    assert answers.import_path is not None and not Path(answers.import_path).is_absolute()
    replayed = resolve(answers, load_aws(target.parent / answers.import_path)).setup
    assert [str(n) for n in replayed.choices.vpc_cidrs] == ["10.9.0.0/16"]
    assert "Saved to" in out.getvalue() and "0600" in out.getvalue()


# --------------------------------------------------------------------------- by hand (issue 11.3)

#: Both tunnels as the AWS console shows them, typed at plain mode's prompts.
BY_HAND: dict[str, Any] = {
    "tunnels[0].customer_outside_ip": "198.51.100.7",
    "tunnels[0].aws_outside_ip": "203.0.113.10",
    "tunnels[0].customer_inside_cidr": "169.254.44.2/30",
    "tunnels[0].aws_inside_cidr": "169.254.44.1/30",
    "tunnels[0].psk": "Typed.by_hand_one1",
    "tunnels[1].customer_outside_ip": "198.51.100.7",
    "tunnels[1].aws_outside_ip": "203.0.113.20",
    "tunnels[1].customer_inside_cidr": "169.254.55.6/30",
    "tunnels[1].aws_inside_cidr": "169.254.55.5/30",
    "tunnels[1].psk": "Typed.by_hand_two2",
}


class NoFilePrompter(TypingPrompter):
    """Gives no file at the import prompt (Enter on an empty path), then answers as told.

    A text answer given as a list is typed in turn: each refused one is followed by
    the next, as an operator retypes after the prompt's error.
    """

    def path(self, message: str, validate: Any) -> str:
        self.asked.append("import")
        with keys(ENTER + "\x03"):  # Ctrl-C if the empty answer is refused: never wait
            return super().path(message, validate)

    def text(self, question_id: str, message: str, default: str, validate: Any, *,
             secret: bool = False) -> str:
        value = self.answers.get(question_id)
        if not isinstance(value, list):
            return super().text(question_id, message, default, validate, secret=secret)
        self.asked.append(question_id)
        typed = "".join(CLEAR + v + ENTER for v in value)
        with keys(typed):
            return Prompter.text(self, question_id, message, default, validate, secret=secret)


def test_plain_mode_types_both_tunnels_in_without_a_file(tmp_path: Path) -> None:
    """No --import, no --answers, no file at the prompt: the tunnels are typed in, checked as
    typed (a /29 is refused at its prompt), and the plan's files carry them."""
    out = io.StringIO()
    answers = {**BY_HAND, "tunnels[1].aws_inside_cidr": ["169.254.55.5/29", "169.254.55.5/30"],
               "apply": True}
    prompter = NoFilePrompter(answers, apply=True)
    code = run_plain(args(import_path=None, root=str(tmp_path)), prompter=prompter,
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    text = out.getvalue()
    assert code == 0, text
    assert "by_hand" in prompter.asked
    for key in BY_HAND:  # every AWS-given value was asked for, in the tunnel steps
        assert key in prompter.asked, key
    assert "tunnel1.edit" not in prompter.asked  # nothing to keep: no "change any?" first
    assert "ip link add Tunnel1" in text and "remote 203.0.113.10" in text
    assert "remote 203.0.113.20" in text
    assert "169.254.55.5" in text
    for key in ("Typed.by_hand_one1", "Typed.by_hand_two2"):
        assert key not in text
    assert "Dry run: nothing was changed." in text


def test_plain_mode_by_hand_with_a_value_missing_builds_no_plan(tmp_path: Path) -> None:
    """An empty answer cannot be taken: the prompt insists until a valid value is typed."""
    session = Session(Root(tmp_path), host=HostDefaults.probe(Root(tmp_path), CANNED_INTERFACES))
    session.start_by_hand()
    assert session.plan() is None
    assert session.check("tunnels[0].aws_outside_ip", "") is not None
    assert session.check("tunnels[0].aws_outside_ip", "203.0.113.300") is not None
    blockers = session.apply_blockers()
    assert "Tunnel 1 · AWS endpoint: not entered yet: type the value from the AWS console" \
        in blockers


@pytest.mark.parametrize("secrets", [False, True])
def test_answers_saved_by_hand_replay(tmp_path: Path, secrets: bool) -> None:
    """Saved from a by-hand session, the answers replay to the same setup when they hold the
    keys; without them, the save says a replay needs them and the replay names the key."""
    from wizard.answers import AnswersError, load_answers, resolve

    target = tmp_path / "answers.toml"
    out = io.StringIO()
    prompter = NoFilePrompter({**BY_HAND, "save": True, "save.path": str(target),
                               "save.secrets": secrets, "choices.vpc_cidrs": "10.9.0.0/16"})
    code = run_plain(args(import_path=None, root=str(tmp_path / "root")), prompter=prompter,
                     console=Console(file=out, width=120), host=lambda: CANNED_HOST,
                     interfaces=lambda: list(CANNED_INTERFACES))
    assert code == 0, out.getvalue()
    answers = load_answers(target)
    assert answers.import_path is None
    if secrets:
        replayed = resolve(answers, None).setup
        assert [t.psk.reveal() for t in replayed.tunnels] == ["Typed.by_hand_one1",
                                                             "Typed.by_hand_two2"]
        assert [str(t.aws_inside_cidr) for t in replayed.tunnels] == ["169.254.44.1/30",
                                                                     "169.254.55.5/30"]
        assert "with the pre-shared keys" in " ".join(out.getvalue().split())
    else:
        assert "Typed.by_hand" not in target.read_text()
        assert "typed by hand, so a replay needs them" in " ".join(out.getvalue().split())
        with pytest.raises(AnswersError, match=r"tunnels\[0\]\.psk"):
            resolve(answers, None)


#: Dynamic routing chosen for a static file, answered the same way in both modes.
BGP_ANSWERS: dict[str, Any] = {
    "connection.routing": "dynamic",
    "connection.bgp_asn": "65010",
    "choices.advertise": "192.0.2.0/24, 198.51.100.0/25",
    "choices.bgp_mode": "active-passive",
}


def test_both_modes_build_the_same_bgp_plan(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    from_plain, prompter = plain_setup(root, BGP_ANSWERS)
    from_tui = asyncio.run(tui_setup(root, BGP_ANSWERS))
    assert from_tui is not None
    assert from_plain == from_tui
    plan = build_plan(from_plain, Root(root).read)
    assert plan == build_plan(from_tui, Root(root).read)
    assert "frr.bgp" in [s.id for s in plan]
    # BGP's questions were asked, and the VPC's CIDRs were not
    assert {"connection.bgp_asn", "choices.advertise", "choices.bgp_mode"} <= set(prompter.asked)
    assert "choices.vpc_cidrs" not in prompter.asked
    assert from_plain.choices.bgp_mode == "active-passive"
    assert {t.bgp.customer_asn for t in from_plain.tunnels if t.bgp} == {65010}
