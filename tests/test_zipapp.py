"""The release artefact (dist/vpn-wizard.pyz, tools/build-zipapp.sh) runs with nothing but python3.

An operator's box has its own python3 and none of the project's dependencies:
the file is run here by an interpreter that cannot import them (`-I`, a clean
environment, no HOME), so anything the zipapp forgot shows as an ImportError.
`tests/run.sh` builds the file first; a run without it builds it here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTEFACT = REPO / "dist" / "vpn-wizard.pyz"
SEED = REPO / "examples" / "aws-strongswan-seed.txt"


def _sources_newer_than(artefact: Path) -> bool:
    built = artefact.stat().st_mtime
    sources = [REPO / "pyproject.toml", *REPO.glob("wizard/**/*"), *REPO.glob("screens/**/*")]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def _bare_python() -> list[str]:
    """An interpreter without the project's dependencies: the base of this venv, isolated."""
    base = getattr(sys, "_base_executable", sys.executable)
    probe = subprocess.run([base, "-I", "-c", "import textual"], capture_output=True)
    # -S as well where the base interpreter happens to have them installed.
    return [base, "-I"] if probe.returncode != 0 else [base, "-I", "-S"]


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The artefact, copied to a name an operator would give it (not *.pyz)."""
    if not ARTEFACT.exists() or _sources_newer_than(ARTEFACT):
        if shutil.which("bash") is None:
            pytest.skip("bash missing: cannot build the zipapp")
        build = subprocess.run(["bash", str(REPO / "tools" / "build-zipapp.sh")],
                               capture_output=True, text=True, timeout=600)
        assert build.returncode == 0, build.stdout + build.stderr
    where = tmp_path_factory.mktemp("box") / "sbin"
    where.mkdir()
    installed = where / "vpn-wizard"
    shutil.copy2(ARTEFACT, installed)
    installed.chmod(0o755)
    yield installed


def _run(cmd: list[str], shiv_root: Path) -> subprocess.CompletedProcess[str]:
    # No HOME, no PYTHONPATH, no venv on PATH: what a systemd unit or `sudo` gives.
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SHIV_ROOT": str(shiv_root), "LANG": "C.UTF-8"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/", timeout=120)


def test_the_bare_interpreter_really_lacks_the_dependencies() -> None:
    """Guard for the tests below: they would prove nothing with textual importable."""
    out = subprocess.run([*_bare_python(), "-c", "import textual"], capture_output=True)
    assert out.returncode != 0


def test_zipapp_help_runs_without_any_dependency_installed(zipapp: Path, tmp_path: Path) -> None:
    out = _run([*_bare_python(), str(zipapp), "--help"], tmp_path / "shiv")
    assert out.returncode == 0, out.stderr
    assert "usage: vpn-wizard" in out.stdout
    # It unpacked where it was told to, and nowhere under the (absent) HOME.
    assert any((tmp_path / "shiv").iterdir())


def test_zipapp_plans_and_its_units_run_the_installed_file(zipapp: Path, tmp_path: Path) -> None:
    """`plan` works from the file, and the heartbeat unit execs that very file by its real path."""
    link = tmp_path / "vpn-wizard-link"
    link.symlink_to(zipapp)
    out = _run([*_bare_python(), str(link), "plan", "--import", str(SEED), "--format", "json"],
               tmp_path / "shiv")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    text = json.dumps(plan)
    assert f"ExecStart={zipapp} heartbeat " in text.replace("\\n", "\n")


def test_zipapp_runs_by_its_shebang_like_an_installed_command(zipapp: Path, tmp_path: Path) -> None:
    """`sudo vpn-wizard` execs the file itself: its first line must find python3 on PATH."""
    assert zipapp.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("no /usr/bin/python3 on this machine")
    out = _run([str(zipapp), "plan", "--import", str(SEED)], tmp_path / "shiv")
    assert out.returncode == 0, out.stderr
    assert "this is a preview" in out.stdout
