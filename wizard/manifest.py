"""The applied manifest: what the wizard set up on this box, kept for later commands.

`vpn-wizard status` and `vpn-wizard uninstall` must work with no arguments on
a box the wizard configured: the operator should not have to find the AWS
file again to ask "are my tunnels up?" or "take it all away". Re-parsing the
files the wizard rendered to recover the setup would make every renderer
change a reader change too, and would trust text the operator may have
edited. So on confirm the wizard writes down the setup it applied, once, in
the answers file's own schema (docs/answers.md, strictly type-checked by
`wizard.answers` on the way back in), wrapped with the few facts the answers
do not hold: which transaction applied it, when, and the heartbeat command
its units start.

Pre-shared keys are never written here: the setup read back carries empty
`Secret`s (status and uninstall need names, addresses and marks, not keys).
The file is 0600 all the same, because it names the box's addresses and the
operator's networks.

This module is pure: text in, text out. The engine writes and removes the
file through the `System` seam like any other file it manages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from wizard import fields
from wizard.answers import AnswersError, dump_answers, parse_answers, resolve
from wizard.model import Setup
from wizard.secret import Secret

MANIFEST_PATH = "/var/lib/vpn-wizard/applied.json"
"""Where the manifest lives on the target (under `--root` in tests and dry runs)."""

MANIFEST_MODE = 0o600

FORMAT = 1
"""Bumped when the wrapper's keys change; an unknown format is refused, never guessed."""

_KEYS = ("format", "transaction", "applied_at", "heartbeat_command", "answers")


class ManifestError(Exception):
    """The manifest on the box is not one this version wrote.

    Attributes:
        path: the manifest's target path.
        message: what is wrong and where, never a key.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class AppliedManifest:
    """The setup the wizard applied and confirmed on this box.

    Attributes:
        setup: what was applied; every tunnel's `psk` is an empty Secret.
        transaction: the journal transaction that applied it, so a later
            command can tell which transaction the box is in.
        applied_at: when it was confirmed, ISO 8601 in UTC, for the operator.
        heartbeat_command: the absolute path the heartbeat unit starts (it
            differs between a zipapp, a pipx and a virtualenv install).
    """

    setup: Setup
    transaction: str
    applied_at: str
    heartbeat_command: str


def manifest_text(manifest: AppliedManifest) -> str:
    """The manifest file's text: JSON around the answers-file rendering of the setup."""
    document = {
        "format": FORMAT,
        "transaction": manifest.transaction,
        "applied_at": manifest.applied_at,
        "heartbeat_command": manifest.heartbeat_command,
        "answers": dump_answers(manifest.setup, include_secrets=False),
    }
    return json.dumps(document, indent=2) + "\n"


def parse_manifest(text: str, path: str = MANIFEST_PATH) -> AppliedManifest:
    """Read a manifest back, checking every key and value.

    Raises:
        ManifestError: not JSON, an unknown format or key, a value of the wrong
            type, or answers that do not type-check (naming the answers key).
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ManifestError(path, f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ManifestError(path, "not a JSON object")
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        raise ManifestError(path, f"unknown key {fields.show(unknown[0])}")
    missing = [key for key in _KEYS if key not in document]
    if missing:
        raise ManifestError(path, f"missing key {missing[0]!r}")
    if document["format"] != FORMAT:
        raise ManifestError(
            path, f"format {fields.show(str(document['format']))} is not one this version "
            f"reads (it reads {FORMAT})"
        )
    for key in ("transaction", "applied_at", "heartbeat_command", "answers"):
        if not isinstance(document[key], str):
            raise ManifestError(path, f"{key!r} must be a string")
    command = document["heartbeat_command"]
    if not command.startswith("/") or not command.isprintable():
        raise ManifestError(path, "'heartbeat_command' must be an absolute path")
    try:
        answers = parse_answers(document["answers"], f"{path} (answers)")
        withheld = tuple({**tunnel, "psk": Secret("")} for tunnel in answers.tunnels)
        setup = resolve(replace(answers, tunnels=withheld), None).setup
    except AnswersError as exc:
        raise ManifestError(path, str(exc)) from None
    return AppliedManifest(
        setup=setup,
        transaction=document["transaction"],
        applied_at=document["applied_at"],
        heartbeat_command=command,
    )


def restamp(text: str, transaction: str, applied_at: str) -> str:
    """`text` (a manifest) with the transaction that keeps it and the time it was kept.

    The apply stages the manifest before it knows when (or whether) it will be
    confirmed; the confirmation fills these two in. The text is read back
    strictly first, so a staged manifest that does not type-check is never
    written.
    """
    manifest = parse_manifest(text)
    return manifest_text(replace(manifest, transaction=transaction, applied_at=applied_at))


def load_manifest(read: Callable[[str], str | None]) -> AppliedManifest | None:
    """The box's manifest through `read` (`Root.read`), or None when the box has none.

    Raises:
        ManifestError: a manifest is there but is not one this version wrote.
    """
    text = read(MANIFEST_PATH)
    return None if text is None else parse_manifest(text)
