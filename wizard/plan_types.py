"""The plan's value types: steps, file changes and notes.

Kept apart from `wizard.plan` (which builds plans) so that the apply engine,
the previews and the screens can depend on the shape of a plan without
importing the renderers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from wizard.blocks import ManagedBlock
from wizard.model import Setup
from wizard.operations import Operation
from wizard.redact import Redactor
from wizard.secret import Secret


def printable(text: str) -> str:
    """`text` with the surrogate escapes of undecodable bytes shown as `\\xNN`."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Note:
    """Where and why the plan departs from the AWS document.

    Attributes:
        id: the anchor in docs/deviations.md, e.g. "sysctl-comments".
        text: one or two sentences for the preview.
    """

    id: str
    text: str


@dataclass(frozen=True)
class FileChange:
    """One file written by a step.

    Attributes:
        path: absolute path on the target box ("/etc/ipsec.conf"); `--root`
            is applied by `wizard.system`, never here.
        mode: permission bits the file ends with (0o600 for secrets).
        before: the file's text when the plan was built (None: absent).
        after: the file's whole text after this step.
        block: the managed block this step owns in a shared file, or None when
            the wizard owns the whole file. Apply re-inserts the block into
            the file as it is at apply time, so an edit made between preview
            and apply is kept rather than overwritten.
    """

    path: str
    mode: int
    before: str | None
    after: str
    block: ManagedBlock | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, secrets: tuple[Secret, ...] = (), *, reveal: bool = False) -> str:
        """A unified diff from `before` to `after`, every key masked unless `reveal`.

        Masking is by what the file is (wizard.redact): an operator's own key
        in `ipsec.secrets` is masked as surely as the plan's `secrets`. Bytes of
        the operator's file that are not UTF-8 (kept as surrogate escapes so
        apply writes them back unchanged) are shown as `\\xNN`.
        """
        return printable(Redactor(secrets, show=reveal).diff(self))


@dataclass(frozen=True)
class FileRemoval(FileChange):
    """Uninstall's change to one file: take the wizard's block (or whole file) out of it.

    `before`/`after`/`mode` are what the box holds now and what it will hold
    (for the preview's diff); the other fields let the engine decide again at
    run time, from the file as it is then, with the same function
    (`wizard.engine.files.removal_effect`), so the preview and the run agree.

    Attributes:
        ours: the whole file as the wizard writes it (when `block` is None):
            a file no journal records is removed only if it is exactly this.
        planned_mode: the mode the apply plan gives the file.
        known: a kept apply of the wizard recorded this file (the baseline).
        existed: the file was the operator's before the wizard's first apply.
        old_mode, uid, gid: its mode and owner then (None: unknown).
        original: the operator's own bytes the wizard replaced (whole files), to put back.
        removed: the file goes (the preview's `after` is then empty).
    """

    ours: bytes = field(default=b"", repr=False)
    planned_mode: int = 0o644
    known: bool = False
    existed: bool = False
    old_mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    original: bytes | None = field(default=None, repr=False)
    removed: bool = False


@dataclass(frozen=True)
class Step:
    """One step of the AWS document, as something that can be shown, done and undone.

    Attributes:
        id: stable identifier, e.g. "forwarding" or "tunnel1.iptables".
        title: short imperative title for lists.
        why: what the step is for, in the document's own terms.
        seed_ref: where the AWS document describes it, e.g. "Tunnel #1 · #3".
        files: files written, in order, before the commands run.
        commands: operations run after the files are written.
        notes: deviations from the AWS document in this step.
    """

    id: str
    title: str
    why: str
    seed_ref: str
    files: tuple[FileChange, ...] = ()
    commands: tuple[Operation, ...] = ()
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The ordered steps for one setup, plus what a preview needs to mask.

    Attributes:
        steps: in the order they run.
        secrets: the keys the plan's files hold, for masking.
        setup: the setup it was built for; the engine writes it into the
            applied manifest once the apply is kept (None: a plan with no
            setup to record, e.g. an uninstall).
        heartbeat_command: the command the plan's heartbeat unit starts,
            recorded in the manifest beside the setup.
        kind: "apply" or "uninstall": the journal's transaction kind.
    """

    steps: tuple[Step, ...]
    secrets: tuple[Secret, ...] = field(default=(), repr=False)
    setup: Setup | None = field(default=None, repr=False, compare=False)
    heartbeat_command: str = ""
    kind: str = "apply"

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def step(self, step_id: str) -> Step:
        """The step with this id (KeyError if absent)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def final_files(self) -> dict[str, FileChange]:
        """Per path, one change from the file as it is now to the file after the whole plan."""
        merged: dict[str, FileChange] = {}
        for step in self.steps:
            for change in step.files:
                first = merged.get(change.path)
                before = first.before if first else change.before
                merged[change.path] = FileChange(change.path, change.mode, before, change.after)
        return merged
