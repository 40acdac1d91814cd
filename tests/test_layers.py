"""The layers hold: the import-linter contracts in pyproject.toml pass.

Running `lint-imports` here puts the contracts under the README's test command
(`bash tests/run.sh`) and `.ci/run`, so a back-edge (the core importing Textual,
`system/` importing product logic, a cycle) fails the suite, not a review.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _lint_imports() -> list[str]:
    """The venv's `lint-imports` next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("lint-imports")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("lint-imports")
    assert found, "lint-imports is missing: install the test extra (pip install -e '.[test]')"
    return [found]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [*_lint_imports(), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
