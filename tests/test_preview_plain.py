"""`vpn-wizard plan` into a file or a pipe: the same text, without lexing it for colour.

Rich's Syntax lexes every line with Pygments and, on a console without
colour, then drops the styles: half of `plan`'s time after its imports
(issue 13). `preview.Code` renders plain text there; it must be the very
text Syntax would have printed, and Pygments must not even be imported.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from wizard.preview import Code

SAMPLES = [
    ("--- a/etc/ipsec.conf\n+++ b/etc/ipsec.conf\n@@ -1,2 +1,3 @@\n config setup\n"
     "+\tuniqueids=no\n-\t# uniqueids = no\n", "diff"),
    ("ip link add Tunnel1 type vti local 198.51.100.10 remote 203.0.113.1 key 100\n"
     "sysctl -w net.ipv4.conf.Tunnel1.rp_filter=2", "bash"),
    ("x" * 200 + "\n\n" + "a b " * 60 + "\n", "bash"),  # wrapped long lines, an empty one
    ("", "diff"),
    ("+leftid=[bold red]x[/] \\x1b[2J\n", "diff"),  # markup and an escaped control: text
]


def _render(renderable: object, *, color: bool, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system="standard" if color else None,
                      force_terminal=color, no_color=not color)
    console.print(Panel(renderable))  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("width", [40, 80, 120])
@pytest.mark.parametrize(("code", "lexer"), SAMPLES)
def test_plain_code_is_the_text_syntax_prints_without_colour(code: str, lexer: str,
                                                             width: int) -> None:
    syntax = Syntax(code, lexer, theme="ansi_dark", background_color="default", word_wrap=True)
    assert _render(Code(code, lexer), color=False, width=width) == _render(
        syntax, color=False, width=width)


def test_with_colour_it_is_syntax_itself() -> None:
    code, lexer = SAMPLES[0]
    syntax = Syntax(code, lexer, theme="ansi_dark", background_color="default", word_wrap=True)
    assert _render(Code(code, lexer), color=True, width=80) == _render(syntax, color=True,
                                                                       width=80)


def test_plan_into_a_pipe_does_not_import_pygments() -> None:
    code = ("import sys, io, contextlib\nfrom wizard.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    rc = main(['plan', '--import', 'examples/aws-strongswan-seed.txt'])\n"
            "print(rc, 'pygments' in sys.modules, 'Tunnel1' in out.getvalue())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True, cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.split() == ["0", "False", "True"], done.stdout + done.stderr
