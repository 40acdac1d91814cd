"""`vpn-wizard apply` loads no preview machinery: Pygments was a tenth of its start-up.

Inside the lab's user-mode-linux box, Rich's syntax highlighting (Pygments)
cost 140 ms of an apply that prints no preview (issue 13). The preview is
imported where a plan is printed (`run_plan`, an invalid input's problems)
and nowhere on the apply path. Structure, not timing: bench/apply_lab.py
gives the figures.
"""

from __future__ import annotations

import subprocess
import sys

PREVIEW_ONLY = ("pygments", "rich.syntax", "wizard.preview")


def test_the_apply_command_does_not_import_the_preview() -> None:
    code = ("import sys, wizard.cli, wizard.commands.apply, wizard.apply, wizard.session.run\n"
            f"print(sorted(m for m in {PREVIEW_ONLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]", out

