"""Issue 9 item 3: nothing from an input is interpreted as markup or sent raw to a terminal.

`[/x]` in a value killed `plan` with MarkupError, `[bold red]` restyled what an
error quoted, and an ESC byte in a connection id reached the terminal. The
walls: wizard.safe_text (values made printable, Rich Text, never markup), the
CLI's SafeConsole (escapes whatever any renderable emits), and the TUI's line
filter (screens.safe).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.table import Table
from rich.text import Text

from wizard.cli import main
from wizard.safe_text import SafeConsole, clean_text, printable, quote

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "aws-strongswan-seed.txt"
XML = REPO / "examples" / "aws-config.xml"
#: Any byte a terminal may act on, outside the SGR sequences Rich itself writes.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]|\x1b(?!\[[0-9;]*m)")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def hostile_strongswan(tmp_path: Path, right: str) -> Path:
    text = EXAMPLE.read_text()
    text = re.sub(r"(\n\s*right=)[^\n]*", lambda m: m.group(1) + right, text, count=1)
    path = tmp_path / "aws.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize("value", ["[/x]", "[bold red]203.0.113.1", "[/]x[red]"])
def test_markup_in_an_imported_value_is_quoted_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """The error quotes the value as written: `[bold red]` neither crashes nor restyles it."""
    path = hostile_strongswan(tmp_path, value)
    code, out = run_cli(capsys, "plan", "--root", str(tmp_path), "--import", str(path))
    assert code == 2
    assert value in out and "line 41" in out and "Traceback" not in out


def test_markup_in_the_connection_id_is_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """XML carries no ESC (not well-formed), but a C1 CSI and markup it does."""
    text = XML.read_text()
    text = re.sub(r'vpn_connection id="([^"]*)"',
                  lambda m: f'vpn_connection id="{m.group(1)}[/x][bold red]\x9b31m"', text,
                  count=1)
    path = tmp_path / "aws.xml"
    path.write_text(text)
    code, out = run_cli(capsys, "plan", "--root", str(tmp_path), "--import", str(path))
    assert code in (0, 2) and "Traceback" not in out  # shown, or refused by the id grammar
    flat = " ".join(out.split())  # Rich wraps long lines at blanks
    assert "[/x][bold red]" in flat  # the characters, not a style
    assert "\x9b" not in out and "\\x9b" in flat


def test_escape_in_an_answers_value_never_reaches_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(f'import = "{EXAMPLE}"\n\n[connection]\n'
                       'vpn_connection_id = "vpn-\\u001b]0;owned\\u0007\\u001b[31m[/x]"\n')
    for fmt in ("text", "json"):
        code, out = run_cli(capsys, "plan", "--root", str(tmp_path), "--answers", str(answers),
                            "--format", fmt)
        assert code in (0, 2) and "Traceback" not in out
        assert "\x1b" not in out and "\x07" not in out, repr(out[:300])


def test_printable_escapes_every_control_character() -> None:
    hostile = "a\x1b[31mb\x07c\x9bd\x7fe\u202ef\nline\tTab\r"
    shown = printable(hostile)
    assert not RAW_CONTROL.search(shown) and "\n" not in shown and "\t" not in shown
    assert shown == "a\\x1b[31mb\\x07c\\x9bd\\x7fe\\u202ef\\nline\\tTab\\r"
    assert printable("two\nlines\tok", keep_newlines=True) == "two\nlines\tok"
    assert quote("id\x1b") == "'id\\x1b'"
    assert printable("/tmp/\udc9b") == "/tmp/\\udc9b"  # a non-UTF-8 byte from argv


def test_safe_console_prints_markup_as_text_and_escapes_any_renderable() -> None:
    out = io.StringIO()
    console = SafeConsole(file=out, force_terminal=True, width=60, color_system="standard")
    console.print("[bold red]error:[/x] \x1b]0;title\x07")
    table = Table(title="id \x1b[2J")
    table.add_column("\x9bcol")
    table.add_row("[/x]\x1b[31mred")
    console.print(table)
    console.print(Text.assemble(("styled ", "bold"), "plain \x1b[5m"))
    written = out.getvalue()
    assert "[bold red]error:[/x]" in written
    assert not RAW_CONTROL.search(written), repr(written)
    assert "\\x1b" in written


def test_clean_text_keeps_styles_in_place() -> None:
    text = Text.assemble(("a\x1bb", "bold"), ("c", "red"))
    cleaned = clean_text(text)
    assert cleaned.plain == "a\\x1bbc"
    assert [(s.start, s.end, str(s.style)) for s in cleaned.spans] == [(0, 6, "bold"),
                                                                       (6, 7, "red")]


@pytest.mark.asyncio
async def test_tui_never_renders_a_raw_control_byte(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An import error quoting a markup value, and a widget given a raw ESC: both safe."""
    from screens_support import make_app
    from textual.widgets import Static

    monkeypatch.chdir(REPO)
    path = hostile_strongswan(tmp_path, "[/x][bold red]")
    app = make_app(tmp_path / "root", start="import", import_path=str(path))
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        screen = app.screen
        await screen.mount(Static(Text("raw \x1b[2J\x9b here")))
        await pilot.pause()
        shot = app.export_screenshot()
        assert "\x1b" not in shot and "\x9b" not in shot and "\x07" not in shot
        assert "[/x]" in shot


@pytest.mark.asyncio
async def test_tui_option_labels_are_not_markup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interface named `br[/x]` on the box became a RadioButton's markup label."""
    from screens_support import CANNED_INTERFACES, make_app

    from wizard.system.interfaces import HostInterface

    monkeypatch.chdir(REPO)
    odd = HostInterface("br[/x]", (), "up", False)  # Linux allows brackets in a name
    app = make_app(tmp_path, start="interfaces", interfaces=(*CANNED_INTERFACES, odd))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        assert app.current == "interfaces"
        shot = app.export_screenshot()
        assert "br[/x]" in shot


def test_an_unexpected_error_is_one_escaped_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import wizard.commands.plan as plan_command

    def boom(args: object) -> int:
        raise ValueError("value '\x1b]0;owned\x07' from somewhere deep")

    monkeypatch.setattr(plan_command, "run_plan", boom)
    monkeypatch.delenv("VPN_WIZARD_DEBUG", raising=False)
    assert main(["plan", "--import", str(EXAMPLE)]) == 1
    err = capsys.readouterr().err
    assert "internal error: ValueError" in err and "\\x1b]0;owned\\x07" in err
    assert not RAW_CONTROL.search(err)
    monkeypatch.setenv("VPN_WIZARD_DEBUG", "1")
    with pytest.raises(ValueError, match="somewhere deep"):
        main(["plan", "--import", str(EXAMPLE)])


@pytest.mark.asyncio
async def test_status_app_filters_raw_control_bytes_too() -> None:
    """`vpn-wizard status` is its own App: it needs the same line filter as the wizard."""
    from status_fixtures import RecordedSource, not_running_snapshot
    from textual.widgets import Static

    from screens.status import StatusApp

    app = StatusApp(RecordedSource(not_running_snapshot()), refresh_interval=None,
                    threaded=False, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.screen.mount(Static(Text("conn-name \x1b]0;owned\x07\x9b2J")), before=0)
        await pilot.pause()
        shot = app.export_screenshot()
        assert "conn-name" in shot and not RAW_CONTROL.search(shot.replace("\n", ""))


def test_the_dry_run_log_quotes_every_value() -> None:
    """A value with a blank or a line break cannot pose as another argument or line."""
    from wizard.system.recording import RecordingIptables, RecordingLinks

    log: list[str] = []
    RecordingLinks(None, log).delete("Tun nel\n-x")  # type: ignore[arg-type]
    RecordingIptables(None, log, can_check=False).append(  # type: ignore[arg-type]
        "mangle", "FORWARD", ["-o", "a;b", "-j", "ACCEPT"])
    assert log == ["ip link del 'Tun nel\n-x'", "iptables -t mangle -A FORWARD -o 'a;b' -j ACCEPT"]
    assert printable(log[0]) == "ip link del 'Tun nel\\n-x'"
