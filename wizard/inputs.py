"""From the operator's files to a validated `Setup`: the front door every command shares.

`plan`, `apply`, the TUI and the plain prompts all start here, so an answers
file means the same thing to each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from wizard import answers as answers_mod
from wizard import aws
from wizard.host_defaults import host_defaults
from wizard.model import Problem, Setup, validate
from wizard.preflight import box_conflicts
from wizard.render.ipsec import IPSEC_CONF, existing_marks
from wizard.system.host import probe
from wizard.system.paths import Root


class InputError(Exception):
    """The inputs cannot produce a setup at all; the message says which file and why."""


@dataclass(frozen=True)
class Loaded:
    """A setup with where its values came from and what is wrong with it."""

    setup: Setup
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    imported_format: str | None = None
    notes: tuple[str, ...] = ()
    imported: aws.Imported | None = None
    """The AWS file as read, so saved answers can record only the operator's own changes."""
    import_path: str | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def marks_on(root: Root) -> dict[str, int]:
    """Marks used by conns already in the target's ipsec.conf (outside the wizard's blocks)."""
    text = root.read(IPSEC_CONF)
    return existing_marks(text) if text else {}


def read(
    import_path: str | Path | None = None,
    answers_path: str | Path | None = None,
) -> Loaded:
    """Read the AWS file and/or answers file and resolve them, before the box has a say.

    The `Session` (wizard.session) adds the host's defaults and validates; `load`
    does both for the commands that need no session.

    Raises:
        InputError: when a file is unreadable or malformed (the message names it).
    """
    try:
        answers = answers_mod.load_answers(answers_path) if answers_path else None
        if import_path is None and answers is not None and answers.import_path:
            base = Path(answers_path).parent if answers_path else Path(".")
            import_path = base / answers.import_path
        imported = aws.load(import_path) if import_path else None
        resolved = answers_mod.resolve(answers, imported)
    except (aws.AwsFileError, answers_mod.AnswersError) as exc:
        raise InputError(str(exc)) from None
    except OSError as exc:
        raise InputError(f"{exc.filename}: {exc.strerror}") from None
    return Loaded(
        resolved.setup,
        dict(resolved.sources),
        [],
        imported.format if imported else None,
        imported.notes if imported else (),
        imported,
        str(import_path) if import_path else None,
    )


def load(
    import_path: str | Path | None = None,
    answers_path: str | Path | None = None,
    root: Root | None = None,
) -> Loaded:
    """Read the AWS file and/or answers file, resolve defaults, validate against the target.

    Raises:
        InputError: when a file is unreadable or malformed (the message names it).
    """
    root = root or Root("/")
    loaded = read(import_path, answers_path)
    # A backend/persistence the inputs leave at its default follows the box
    # (wizard.host_defaults); files only here, the interfaces are the front end's.
    facts = probe(root, commands=False)
    setup, sources = host_defaults(facts, loaded.setup, loaded.sources,
                                   ("backend", "persistence"))
    problems = validate(setup, marks_on(root)) + box_conflicts(setup, root)
    return replace(loaded, setup=setup, sources=sources, problems=problems)
