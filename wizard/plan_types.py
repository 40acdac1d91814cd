"""The plan's value types: steps, file changes and notes.

Kept apart from `wizard.plan` (which builds plans) so that the apply engine,
the previews and the screens can depend on the shape of a plan without
importing the renderers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from wizard.operations import Operation
from wizard.redact import Redactor
from wizard.render.blocks import ManagedBlock
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
    """The ordered steps for one setup, plus what a preview needs to mask."""

    steps: tuple[Step, ...]
    secrets: tuple[Secret, ...] = field(default=(), repr=False)

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
