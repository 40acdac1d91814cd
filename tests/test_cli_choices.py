"""`--backend` and `--persistence` on `plan` and `apply`: answers like an answers file's, and win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from screens_support import REPO

from wizard.cli import main

EXAMPLE = str(REPO / "examples" / "aws-strongswan-seed.txt")


def plan_json(capsys: pytest.CaptureFixture[str], root: Path, *flags: str) -> dict:
    code = main(["plan", "--root", str(root), "--import", EXAMPLE, "--format", "json", *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_flags_choose_the_backend_and_persistence(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plain = plan_json(capsys, tmp_path)
    assert (plain["choices"]["backend"], plain["choices"]["persistence"]) == ("stroke", "seed")
    chosen = plan_json(capsys, tmp_path, "--backend", "swanctl", "--persistence", "networkd")
    assert chosen["choices"]["backend"] == "swanctl"
    assert chosen["choices"]["persistence"] == "networkd"
    assert chosen["sources"]["choices.backend"] == "answers"
    assert chosen["sources"]["choices.persistence"] == "answers"
    written = {f["path"] for step in chosen["steps"] for f in step.get("files", [])}
    assert any(path.startswith("/etc/swanctl/") for path in written), written
    assert any(path.startswith("/etc/systemd/network/") for path in written), written


def test_a_flag_wins_over_the_answers_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(f'import = "{EXAMPLE}"\n[choices]\nbackend = "swanctl"\n'
                       'persistence = "netplan"\n')
    code = main(["plan", "--root", str(tmp_path), "--answers", str(answers), "--format", "json",
                 "--backend", "stroke"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert document["choices"]["backend"] == "stroke"
    assert document["choices"]["persistence"] == "netplan"


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("flag,value", [("--backend", "charon"), ("--persistence", "rc.local")])
def test_an_unknown_choice_is_refused_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, flag: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--root", str(tmp_path), "--import", EXAMPLE, flag, value])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_apply_takes_the_flags_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    root.mkdir()
    code = main(["apply", "--dry-run", "--root", str(root), "--import", EXAMPLE,
                 "--backend", "swanctl", "--persistence", "none"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "swanctl" in captured.out and "Dry run: nothing was changed." in captured.out
    assert "/etc/network/interfaces" not in captured.out
    assert list(root.iterdir()) == []
