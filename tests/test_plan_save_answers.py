"""Issue 9 item 10: `plan --save-answers F --include-secrets` writes the keys, and F replays.

It used to write no PSK at all: fields equal to the AWS file's are left out of
an answers file (so a newer download wins on replay), and the PSKs were left
out with them even when the operator asked for them.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from wizard.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "aws-strongswan-seed.txt"
EXAMPLE_KEYS = ("ExampleKey.One_1", "ExampleKey.Two_2")


def plan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["plan", "--format", "json", "--show-secrets", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_include_secrets_writes_the_keys_and_the_file_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "elsewhere" / "answers.toml"
    saved.parent.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    direct = plan_json(capsys, "--root", str(root), "--import", str(EXAMPLE),
                       "--save-answers", str(saved), "--include-secrets")
    text = saved.read_text()
    assert all(f'psk = "{key}"' in text for key in EXAMPLE_KEYS), text
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    replayed = plan_json(capsys, "--root", str(root), "--answers", str(saved))
    assert replayed["tunnels"] == direct["tunnels"]
    assert [t["psk"] for t in replayed["tunnels"]] == list(EXAMPLE_KEYS)


def test_saved_keys_win_over_a_newer_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The keys in the answers file are the ones used, not only a copy of the AWS file's."""
    aws = tmp_path / "aws.txt"
    aws.write_text(EXAMPLE.read_text())
    saved = tmp_path / "answers.toml"
    plan_json(capsys, "--root", str(tmp_path), "--import", str(aws),
              "--save-answers", str(saved), "--include-secrets")
    aws.write_text(EXAMPLE.read_text().replace("ExampleKey.One_1", "RotatedKey.One_9"))
    replayed = plan_json(capsys, "--root", str(tmp_path), "--answers", str(saved))
    assert replayed["tunnels"][0]["psk"] == "ExampleKey.One_1"


def test_without_include_secrets_no_key_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "answers.toml"
    plan_json(capsys, "--root", str(tmp_path), "--import", str(EXAMPLE),
              "--save-answers", str(saved))
    text = saved.read_text()
    assert not any(key in text for key in EXAMPLE_KEYS)
    assert "psk" not in text.replace("Pre-shared keys", "")


def test_include_secrets_alone_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["plan", "--root", str(tmp_path), "--import", str(EXAMPLE),
                 "--include-secrets"])
    assert code == 2
    assert "--save-answers" in capsys.readouterr().err
