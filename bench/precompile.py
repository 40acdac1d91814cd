"""Compile the project's sources to bytecode before a cold-start figure is taken.

An installed vpn-wizard (wheel, zipapp, the release artefact) runs from
bytecode, like the Rich and Textual it is compared with; a source tree run with
PYTHONDONTWRITEBYTECODE=1 (as these machines' shells set) would instead
compile every module on every start and charge the wizard alone for it.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compile_project() -> None:
    """Write `__pycache__` for wizard/ and screens/ (quietly; an up-to-date file is skipped)."""
    for package in ("wizard", "screens"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
