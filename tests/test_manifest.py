"""The applied manifest: the setup round-trips without its keys, and a bad file says what and where."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from wizard.inputs import load
from wizard.manifest import (
    AppliedManifest,
    ManifestError,
    manifest_text,
    parse_manifest,
)
from wizard.secret import Secret
from wizard.system.paths import Root

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "aws-generic.txt"


def _applied(tmp_path: Path) -> AppliedManifest:
    setup = load(str(EXAMPLE), root=Root(tmp_path)).setup
    return AppliedManifest(setup, "tx-1", "2026-11-29T03:00:00Z", "/usr/local/sbin/vpn-wizard")


def test_round_trip_keeps_everything_but_the_keys(tmp_path: Path) -> None:
    applied = _applied(tmp_path)
    back = parse_manifest(manifest_text(applied))
    keyless = tuple(replace(t, psk=Secret("")) for t in applied.setup.tunnels)
    assert back.setup.tunnels == keyless
    assert back.setup.choices == applied.setup.choices
    assert (back.transaction, back.applied_at, back.heartbeat_command) == (
        "tx-1", "2026-11-29T03:00:00Z", "/usr/local/sbin/vpn-wizard")


def test_no_key_is_written(tmp_path: Path) -> None:
    applied = _applied(tmp_path)
    text = manifest_text(applied)
    for tunnel in applied.setup.tunnels:
        assert tunnel.psk.reveal() not in text


@pytest.mark.parametrize(("mutate", "said"), [
    (lambda d: d.update(format=2), "format '2'"),
    (lambda d: d.update(extra=1), "unknown key"),
    (lambda d: d.pop("transaction"), "missing key 'transaction'"),
    (lambda d: d.update(heartbeat_command="vpn-wizard"), "absolute path"),
    (lambda d: d.update(answers="[choices]\nmode = 3\n"), "choices.mode"),
])
def test_a_bad_manifest_says_what_and_where(tmp_path: Path, mutate, said: str) -> None:
    document = json.loads(manifest_text(_applied(tmp_path)))
    mutate(document)
    with pytest.raises(ManifestError) as caught:
        parse_manifest(json.dumps(document), "/var/lib/vpn-wizard/applied.json")
    assert said in str(caught.value)
    assert str(caught.value).startswith("/var/lib/vpn-wizard/applied.json: ")


def test_not_json() -> None:
    with pytest.raises(ManifestError, match="not valid JSON"):
        parse_manifest("{", "m.json")
