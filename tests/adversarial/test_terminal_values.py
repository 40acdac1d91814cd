"""Standing suite, issue 9 item 3: hostile text never becomes markup nor a raw control byte.

Hypothesis puts Rich markup (`[/x]`, `[bold red]`, `[link=…]`), terminal
escape sequences (CSI, OSC, DCS, a C1 CSI), lone C0/C1 controls, DEL and bidi
overrides into every value of the three AWS formats and of an answers file,
then runs `plan` (text and JSON) and `apply --dry-run` and plain mode on them.
Whatever the wizard makes of the value (shown, quoted in an error, refused),
it must not raise, and nothing it prints may hold a raw control character:
only line feeds (the CLI writes no colour when not on a terminal, so any ESC
at all is a leak). A few fixed cases go through the TUI with Pilot.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tally import tried

from wizard.cli import main
from wizard.commands.plain import Prompter, run_plain
from wizard.questions import Option

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SCALE = max(1, int(os.environ.get("VPN_WIZARD_FUZZ", "1")))

#: What must never reach a terminal raw (tab and line feed are layout, not control).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

MARKUP = ["[/x]", "[bold red]", "[/]", "[link=file:///etc/shadow]x[/link]", "[red", "\\[",
          ":smile:", "[@click=app.quit]q[/]", "[reverse]", "[/bold red]"]
CONTROLS = ["\x1b[31m", "\x1b]0;owned\x07", "\x1b[2J\x1b[H", "\x9b31m", "\x07", "\x00", "\x7f",
            "\x85", "\r", "\x08", "\u202e", "\x1bP+q\x1b\\", "\t", "\n", "\x1b", "\x9d0;t\x9c",
            "\u2028", "\x0c"]
hostile = st.lists(
    st.one_of(st.sampled_from(MARKUP), st.sampled_from(CONTROLS),
              st.text(alphabet=st.characters(codec="utf-8"), max_size=4)),
    min_size=1, max_size=6,
).map("".join)


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def assert_safe(code: int, text: str) -> None:
    assert code in (0, 1, 2), text
    assert "Traceback" not in text
    bad = RAW.search(text)
    assert bad is None, f"raw {bad.group()!r} at {bad.start()}: {text[max(0, bad.start() - 80):bad.start() + 20]!r}"


def all_views(root: Path, *inputs: str) -> None:
    for fmt in ("text", "json"):
        assert_safe(*run("plan", "--root", str(root), *inputs, "--format", fmt))


# -- the AWS formats -----------------------------------------------------------------------

TEXT_VALUE = re.compile(r"(?m)(?:(?<=: )|(?<==))[^\n]*$")
XML_VALUE = re.compile(r">([^<]+)<|=\"([^\"]*)\"")


def _xml_escape(value: str) -> str:
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = out.replace('"', "&quot;")
    # C1 and DEL as character references (legal XML); C0 stays raw, so some cases
    # take the not-well-formed path, which must be as safe.
    return "".join(f"&#x{ord(c):x};" if 0x7f <= ord(c) <= 0x9f else c for c in out)


def positions(fmt: str, text: str) -> list[tuple[int, int]]:
    if fmt == "xml":
        spans = []
        for m in XML_VALUE.finditer(text):
            group = 1 if m.group(1) is not None else 2
            if m.group(group).strip():
                spans.append(m.span(group))
        return spans
    return [m.span() for m in TEXT_VALUE.finditer(text) if m.group().strip()]


FORMATS = {
    "strongswan": EXAMPLES / "aws-strongswan-seed.txt",
    "generic": EXAMPLES / "aws-generic.txt",
    "xml": EXAMPLES / "aws-config.xml",
}
BASES = {fmt: path.read_text() for fmt, path in FORMATS.items()}
SPANS = {fmt: positions(fmt, text) for fmt, text in BASES.items()}


@st.composite
def hostile_aws_files(draw: st.DrawFn, fmt: str) -> str:
    """The example file of `fmt` with one to three values replaced by hostile text."""
    text = BASES[fmt]
    spans = SPANS[fmt]
    chosen = sorted(set(draw(st.lists(st.integers(0, len(spans) - 1), min_size=1,
                                      max_size=3))), reverse=True)
    for index in chosen:
        start, end = spans[index]
        value = draw(hostile)
        mode = draw(st.sampled_from(["replace", "prefix", "suffix"]))
        old = text[start:end]
        new = {"replace": value, "prefix": value + old, "suffix": old + value}[mode]
        text = text[:start] + (_xml_escape(new) if fmt == "xml" else new) + text[end:]
    return text


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=30 * SCALE)
@given(data=st.data())
def test_hostile_aws_values_never_reach_the_terminal(fmt: str, data: st.DataObject) -> None:
    tried(f"terminal-aws-{fmt}")
    content = data.draw(hostile_aws_files(fmt))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / f"aws.{'xml' if fmt == 'xml' else 'txt'}"
        path.write_text(content, encoding="utf-8")
        all_views(root, "--import", str(path))


# -- answers files -------------------------------------------------------------------------

ANSWER_FIELDS = [
    ("choices", "mode"), ("choices", "physical_interface"), ("choices", "local_ip"),
    ("choices", "persistence"), ("choices", "backend"), ("choices", "lan_interfaces[]"),
    ("choices", "vpc_cidrs[]"),
    ("connection", "vpn_connection_id"), ("connection", "vpn_gateway_id"),
    ("connection", "customer_gateway_id"),
    ("tunnels", "name"), ("tunnels", "customer_outside_ip"), ("tunnels", "aws_outside_ip"),
    ("tunnels", "customer_inside_cidr"), ("tunnels", "aws_inside_cidr"), ("tunnels", "psk"),
    ("tunnels", "ike"), ("tunnels", "esp"), ("tunnels", "dpd_action"),
]


def toml_string(value: str) -> str:
    """A TOML basic string holding exactly `value` (controls as \\u escapes)."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7f:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@st.composite
def hostile_answers(draw: st.DrawFn) -> str:
    chosen = draw(st.lists(st.sampled_from(ANSWER_FIELDS), min_size=1, max_size=3,
                           unique=True))
    tables: dict[str, list[str]] = {"choices": [], "connection": [], "tunnels": []}
    for table, key in chosen:
        value = toml_string(draw(hostile))
        if key.endswith("[]"):
            key, value = key[:-2], f"[{value}]"
        tables[table].append(f"{key} = {value}")
    example = FORMATS["strongswan"]
    out = [f"import = {toml_string(str(example))}"]
    for table in ("choices", "connection"):
        if tables[table]:
            out += ["", f"[{table}]", *tables[table]]
    if tables["tunnels"]:
        out += ["", "[[tunnels]]", *tables["tunnels"], "", "[[tunnels]]"]
    return "\n".join(out) + "\n"


@settings(max_examples=40 * SCALE)
@given(hostile_answers())
def test_hostile_answers_never_reach_the_terminal(content: str) -> None:
    tried("terminal-answers")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "answers.toml"
        path.write_text(content, encoding="utf-8")
        all_views(root, "--answers", str(path))


@settings(max_examples=15 * SCALE)
@given(hostile_answers())
def test_hostile_answers_dry_run_log_is_safe(content: str) -> None:
    tried("terminal-dry-run")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "answers.toml"
        path.write_text(content, encoding="utf-8")
        assert_safe(*run("apply", "--dry-run", "--root", str(root), "--answers", str(path)))


# -- plain mode ----------------------------------------------------------------------------


class DefaultsPrompter(Prompter):
    """Takes every default (the hostile values included) and says yes to the dry run.

    Where the validator refuses a default, its message is what questionary
    would show: it is kept for the safety check, and the operator gives up
    (Ctrl-C), as the test cannot know a right answer.
    """

    def __init__(self) -> None:
        self.shown: list[str] = []

    def text(self, question_id: str, message: str, default: str, validate: Any, *,
             secret: bool = False) -> str:
        self.shown.append(message)
        verdict = validate(default)
        if verdict is not True:
            self.shown.append(str(verdict))
            raise KeyboardInterrupt
        return default

    def path(self, message: str, validate: Any) -> str:
        raise KeyboardInterrupt

    def confirm(self, question_id: str, message: str, default: bool) -> bool:
        return question_id == "apply" or default

    def select(self, question_id: str, message: str, options: Sequence[Option],
               default: str) -> str:
        self.shown += [message, *(o.label for o in options)]
        if default not in [o.value for o in options]:
            raise KeyboardInterrupt
        return default

    def multi(self, question_id: str, message: str, options: Sequence[Option],
              default: Sequence[str], validate: Any) -> list[str]:
        return list(default)


@settings(max_examples=12 * SCALE)
@given(hostile_aws_files("strongswan"))
def test_plain_mode_is_safe_with_hostile_values(content: str) -> None:
    from screens_support import CANNED_HOST, CANNED_INTERFACES

    tried("terminal-plain")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "aws.txt"
        path.write_text(content, encoding="utf-8")
        args = argparse.Namespace(import_path=str(path), answers=None, root=str(root),
                                  dry_run=True)
        out = io.StringIO()
        prompter = DefaultsPrompter()
        with contextlib.redirect_stdout(out):
            code = run_plain(args, prompter=prompter, host=lambda: CANNED_HOST,
                             interfaces=lambda: list(CANNED_INTERFACES))
        assert_safe(0 if code == 130 else code, out.getvalue() + "\n".join(prompter.shown))


# -- the TUI -------------------------------------------------------------------------------

TUI_CASES = [
    ("strongswan", "right=", "[/x][bold red]"),
    ("strongswan", "right=", "[/x]\x1b]0;owned\x07\x1b[31m"),
    ("xml", 'vpn_connection id="', "[/x][bold red]&#x9b;31m&#x85;"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("fmt", "anchor", "value"), TUI_CASES)
async def test_tui_shows_hostile_values_safely(
    fmt: str, anchor: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screens_support import make_app

    tried("terminal-tui")
    monkeypatch.chdir(REPO)
    path = tmp_path / f"aws.{fmt}"
    path.write_text(BASES[fmt].replace(anchor, anchor + value, 1), encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    for start in ("import", "review"):
        app = make_app(root, start=start, import_path=str(path))
        async with app.run_test(size=(110, 40)) as pilot:
            await pilot.pause()
            shot = app.export_screenshot()
            assert RAW.search(shot.replace("\n", "")) is None
            if start == "import" and not RAW.search(value):  # quoted as written
                assert "[/x]" in html.unescape(shot).replace("\xa0", " ")
