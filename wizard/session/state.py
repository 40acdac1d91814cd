"""What the operator has said so far, and what the core makes of it: one `Session` per run.

The TUI, plain mode and the CLI each hold one `Session` and only ask it:
it loads the inputs (AWS file, answers file, a paste), takes the host's
defaults from one injected `HostDefaults`, applies answers through
`wizard.questions` (keeping an unparsed answer as a draft with its reason),
validates, says per step what is wrong and what blocks applying, builds the
plan (always with the heartbeat command of the running installation) and
saves the answers for replay. Two front ends given the same answers hold the
same `Session` state, so they cannot build different plans.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import answers as answers_mod
from wizard import aws, inputs
from wizard.answers import SOURCE_DEFAULT
from wizard.host_defaults import SOURCE_DETECTED
from wizard.model import Connection, Problem, Setup, Tunnel, errors, validate
from wizard.preflight import Check, blocking, box_conflicts
from wizard.questions import BY_ID as QUESTIONS_BY_ID
from wizard.questions import Context, Question, Value, behind_nat
from wizard.render.heartbeat import DEFAULT_COMMAND
from wizard.secret import Secret
from wizard.session.host import HostDefaults
from wizard.steps import BY_ID as STEPS_BY_ID
from wizard.steps import STEPS
from wizard.system.executable import vpn_wizard_command
from wizard.system.host import HostFacts
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root, TargetFileError
from wizard.wording import place

if TYPE_CHECKING:  # the plan's types load with the plan (`plan()`), not before the first frame
    from wizard.plan_types import Plan

#: Where ctrl+s and plain mode offer to save the answers.
DEFAULT_ANSWERS_PATH = "./vpn-wizard-answers.toml"
#: Where a value came from, besides answers/import/default (wizard.answers) and "detected".
SOURCE_OPERATOR = "answers"
#: What a tunnel value only AWS can give says while the operator has not typed it in.
NOT_ENTERED = "not entered yet: type the value from the AWS console"
#: The tunnel values only AWS gives (the console shows them): typed by hand, each starts empty.
BY_HAND_FIELDS = ("customer_outside_ip", "aws_outside_ip", "customer_inside_cidr",
                  "aws_inside_cidr", "psk")
#: How the Import step and the tunnel steps name a configuration typed in by hand.
BY_HAND_LABEL = "values typed by hand"


class Session:
    """One run of the wizard, whichever front end drives it.

    Attributes:
        root: the target's `/` (`--root`); files are read from it.
        dry_run: record instead of applying; nothing on the box blocks.
        checks: the host's preflight checks (welcome screen, plain mode's first lines).
        heartbeat_command: the `vpn-wizard` path the heartbeat unit runs.
        setup: the operator's VPN as answered so far; None until something is imported.
        sources: where each value of `setup` came from: "answers" (an answers file, a
            screen, a prompt), "import" (the AWS file), "default", "detected" (the box).
        answers: raw answers as given, by question id (drafts and the NAT answer live here).
        drafts: question id -> why its answer does not parse (the model keeps the last good).
        imported: the AWS file as read (saved answers record only what differs from it).
        import_path: the AWS file on disk, if the configuration came from one.
        import_label: how the import is named on screen ("pasted text", a path).
        import_format, import_notes: what the reader said about the file.
        import_error: why the last import failed, if it did.
        target_file_error: why no plan can be built from the box's files (a link,
            broken markers), if so.
        target_file_failure: the same as the exception, for a command to end on.
    """

    def __init__(
        self,
        root: Root,
        *,
        dry_run: bool = False,
        host: HostDefaults | None = None,
        checks: Sequence[Check] = (),
        heartbeat_command: str | None = None,
        answers_path: str | None = None,
    ) -> None:
        """A session with nothing loaded yet.

        Args:
            host: the host's defaults, gathered once (`HostDefaults.probe`); None knows
                nothing of the host (the inputs' own defaults stand).
            heartbeat_command: None asks `wizard.system.executable` for the running
                installation, as every front end must (tests pin it for stable snapshots).
            answers_path: the answers file given on the command line (an AWS file
                imported later is resolved with it, and ctrl+s offers it).
        """
        self.root = root
        self.dry_run = dry_run
        self.host = host or HostDefaults()
        self.checks: list[Check] = list(checks)
        self.probing = False
        """The host is being probed (the TUI probes after its first frame): the checks are not
        known yet, so nothing may be applied (`apply_blockers`) until `host_found`."""
        self.heartbeat_command = heartbeat_command or vpn_wizard_command(DEFAULT_COMMAND)
        self.answers_path = answers_path
        self.setup: Setup | None = None
        self.sources: dict[str, str] = {}
        self.answers: dict[str, Value] = {}
        self.drafts: dict[str, str] = {}
        self.imported: aws.Imported | None = None
        self.import_path: Path | None = None
        self.import_label = ""
        self.import_format: str | None = None
        self.import_notes: tuple[str, ...] = ()
        self.import_origins: tuple[str, ...] = ()
        """Where each tunnel is in the AWS file, when the reader chose their order (XML)."""
        self.import_error: str | None = None
        self.by_hand = False
        """The tunnels were typed in from the AWS console (`start_by_hand`), not imported."""
        self.target_file_error: str | None = None
        self.target_file_failure: TargetFileError | None = None
        self._marks = inputs.marks_on(root)
        self._problems: tuple[Setup | None, list[Problem]] = (None, [])
        self._plan: tuple[Setup | None, Plan | None] = (None, None)

    @property
    def context(self) -> Context:
        """The host's interfaces, as the questions need them."""
        return self.host.context

    # ------------------------------------------------------------------ loading

    def load(self, import_path: str | Path | None, answers_path: str | Path | None) -> bool:
        """Read the files given on the command line; on failure `import_error` says why."""
        if import_path is not None:
            self.import_label = str(import_path)
            self.import_path = Path(import_path)
        try:
            loaded = inputs.read(import_path, answers_path)
        except inputs.InputError as exc:
            self.import_error = str(exc)
            return False
        self.import_format = loaded.imported_format
        self.import_notes = loaded.notes
        self.import_origins = loaded.imported.origins if loaded.imported else ()
        self.imported = loaded.imported
        if loaded.import_path:
            self.import_path = Path(loaded.import_path)
        if not import_path and answers_path:
            self.import_label = f"{answers_path} (answers)"
        self.import_error = None
        self.setup, self.sources = self.host(loaded.setup, loaded.sources)
        return True

    def import_file(self, path: Path, *, label: str) -> bool:
        """Load an AWS file from disk; on failure `import_error` says where and why."""
        try:
            imported = aws.load(path)
        except aws.AwsFileError as exc:
            self.import_error = str(exc).replace(str(path), label, 1)
            return False
        return self._take_import(imported, label, path)

    def import_text(self, text: str) -> bool:
        """Load pasted AWS configuration text."""
        try:
            imported = aws.parse(text, "pasted text")
        except aws.AwsFileError as exc:
            self.import_error = str(exc)
            return False
        return self._take_import(imported, "pasted text", None)

    def _take_import(self, imported: aws.Imported, label: str, path: Path | None) -> bool:
        """A new AWS configuration: its facts replace the old ones, never the operator's choices."""
        try:
            answers = (answers_mod.load_answers(self.answers_path) if self.answers_path
                       else None)
            resolved = answers_mod.resolve(answers, imported)
        except answers_mod.AnswersError as exc:
            self.import_error = str(exc)
            return False
        setup, sources = self.host(resolved.setup, resolved.sources)
        if self.setup is not None:  # a second import replaces AWS's facts, not the choices
            setup = replace(setup, choices=self.setup.choices)
            sources.update({k: v for k, v in self.sources.items() if k.startswith("choices.")})
        self.sources = sources
        for qid in [q for q in self.drafts if q.startswith("tunnels[")]:
            del self.drafts[qid]
            self.answers.pop(qid, None)
        self.import_error = None
        self.by_hand = False
        self.import_format = imported.format
        self.import_notes = imported.notes
        self.import_origins = imported.origins
        self.import_label = label
        self.import_path = path
        self.imported = imported if path is not None else None
        self.setup = setup
        return True

    def start_by_hand(self) -> None:
        """Two tunnels to type in from the AWS console, for an operator with no AWS file.

        Every value only AWS gives starts as a draft that says it is "not entered
        yet", so each tunnel step shows it as a problem, Review names it, and no
        plan is built until every one is typed and valid; typed values go through
        the same questions (`wizard.questions`, `wizard.model.validate`) as edits of
        an imported file. Name, mark and proposals start at the seed's defaults.
        The model holds placeholders meanwhile, never planned (the drafts block the
        plan) and chosen so that no valid typed value can collide with one: outside
        addresses in 0.0.0.0/8 and inside /30s in blocks AWS reserves.
        """
        tunnels = tuple(
            Tunnel(name=f"Tunnel{i + 1}", customer_outside_ip=IPv4Address(2 * i + 1),
                   aws_outside_ip=IPv4Address(2 * i + 2),
                   customer_inside_cidr=IPv4Interface(f"169.254.{i}.2/30"),
                   aws_inside_cidr=IPv4Interface(f"169.254.{i}.1/30"),
                   psk=Secret(""), mark=100 * (i + 1))
            for i in range(2))
        resolved = Setup(Connection(tunnels))
        sources = {f"tunnels[{i}].{key}": SOURCE_DEFAULT
                   for i in range(2) for key in (*BY_HAND_FIELDS, "name", "mark")}
        sources.update({f"tunnels[{i}].crypto.{key}": SOURCE_DEFAULT for i in range(2)
                        for key in answers_mod.CRYPTO_KEYS})
        sources.update({f"choices.{key}": SOURCE_DEFAULT for key in answers_mod.CHOICE_KEYS})
        setup, sources = self.host(resolved, sources)
        if self.setup is not None:  # the operator's choices so far stay theirs
            setup = replace(setup, choices=self.setup.choices)
            sources.update({k: v for k, v in self.sources.items() if k.startswith("choices.")})
        for qid in [q for q in self.drafts if q.startswith("tunnels[")]:
            del self.drafts[qid]
        for qid in [q for q in self.answers if q.startswith("tunnels[")]:
            del self.answers[qid]
        for i in range(2):
            for key in BY_HAND_FIELDS:
                self.answers[f"tunnels[{i}].{key}"] = ""
                self.drafts[f"tunnels[{i}].{key}"] = NOT_ENTERED
        self.setup, self.sources = setup, sources
        self.by_hand = True
        self.imported = None
        self.import_path = None
        self.import_label = BY_HAND_LABEL
        self.import_format = None
        self.import_notes = ()
        self.import_origins = ()
        self.import_error = None

    def interfaces_found(self, interfaces: Sequence[HostInterface]) -> None:
        """The host's interfaces arrived (late, in the TUI): the WAN and NAT defaults, unless
        already answered, and the interface checks against what the box really has."""
        self.host = self.host.with_interfaces(interfaces)
        self._problems = (None, [])
        self._decide_again()

    def host_found(self, facts: HostFacts, checks: Sequence[Check]) -> None:
        """The probe's facts and preflight checks arrived (late, in the TUI): the backend and
        persistence defaults from them, unless already answered, and the checks shown."""
        self.host = HostDefaults(facts, Context(self.host.context.interfaces, host=facts))
        self.checks = list(checks)
        self.probing = False
        self._problems = (None, [])
        self._decide_again()

    def _decide_again(self) -> None:
        """The box's defaults decided again (new interfaces, a typed outside address), never
        over what the operator answered."""
        if self.setup is None:
            return
        answered = {qid: SOURCE_OPERATOR for qid in self.answers if qid.startswith("choices.")}
        if "choices.behind_nat" in answered:  # the NAT answer makes the address the operator's
            answered["choices.local_ip"] = SOURCE_OPERATOR
        start = self.setup
        if self.by_hand and "choices.local_ip" not in answered and self.sources.get(
                "choices.local_ip") == SOURCE_DETECTED:  # decided for an address now retyped
            start = replace(start, choices=replace(start.choices, local_ip=None))
            self.sources["choices.local_ip"] = SOURCE_DEFAULT
        setup, sources = self.host(start, {**self.sources, **answered})
        if setup is not self.setup:
            self.setup = setup
            self.sources.update({k: v for k, v in sources.items() if k not in answered})

    def take_flags(self, flags: Mapping[str, str | bool | None]) -> list[str]:
        """Answers given as command-line flags (question id -> value; None: not given).

        They go through the questions exactly as an answers file's or a screen's
        values do, and win over both. Returns why each refused one was refused.
        """
        refused = []
        for question_id, value in flags.items():
            if value is None:
                continue
            self.answer(question_id, value)
            if question_id in self.drafts:
                refused.append(f"{QUESTIONS_BY_ID[question_id].label}: "
                               f"{self.drafts[question_id]}")
        return refused

    # ------------------------------------------------------------------ answers

    def field_value(self, question: Question) -> Value:
        """What a field or prompt shows: the operator's unparsed text, else the model's value."""
        assert self.setup is not None
        if question.id in self.drafts and question.id in self.answers:
            return self.answers[question.id]
        if question.id == "choices.behind_nat":
            return behind_nat(self.setup, self.answers)
        return question.default(self.setup, self.context)

    def detected_reason(self, question_id: str) -> str | None:
        """Why a value the box chose is what it is; None when someone else chose it."""
        if self.setup is None or self.sources.get(question_id) != SOURCE_DETECTED:
            return None
        return self.host.reasons(self.setup).get(question_id)

    def asked(self, question: Question) -> bool:
        """Whether `question` is asked at all, given the answers so far."""
        return self.setup is not None and question.when(self.setup, self.answers)

    def check(self, question_id: str, value: Value) -> str | None:
        """Why `value` cannot be the answer (a parse error or a model error), or None.

        For a prompt that must not move on until the answer holds (plain mode);
        the model is not changed.
        """
        question = QUESTIONS_BY_ID[question_id]
        assert self.setup is not None
        try:
            candidate = question.apply(self.setup, value)
        except ValueError as exc:
            return str(exc)
        blocking_problems = errors(question.problems(self._validate(candidate)))
        return blocking_problems[0].message if blocking_problems else None

    def answer(self, question_id: str, value: Value) -> None:
        """Apply one answer to the model, or keep it as a draft with its parse error."""
        question = QUESTIONS_BY_ID[question_id]
        self.answers[question_id] = value
        if self.setup is None:
            return
        try:
            setup = question.apply(self.setup, value)
        except ValueError as exc:
            self.drafts[question_id] = str(exc)
            return
        self.drafts.pop(question_id, None)
        if question_id == "choices.behind_nat" and value is False:
            self.drafts.pop("choices.local_ip", None)
            self.answers.pop("choices.local_ip", None)
        if question_id in self.sources:
            self.sources[question_id] = SOURCE_OPERATOR
        self.setup = setup
        if question_id.endswith(".customer_outside_ip") and self.by_hand:
            self._decide_again()  # behind NAT or not follows the address typed in

    # ------------------------------------------------------------------ validation

    def _validate(self, setup: Setup) -> list[Problem]:
        return (validate(setup, self._marks) + box_conflicts(setup, self.root)
                + self.host.problems(setup.choices))

    @property
    def problems(self) -> list[Problem]:
        """Every problem of the current setup (validated once per setup)."""
        setup = self.setup
        if setup is None:
            return []
        if self._problems[0] is not setup:
            self._problems = (setup, self._validate(setup))
        return self._problems[1]

    def active_drafts(self) -> dict[str, str]:
        """Unparsed answers of questions that are still asked (a hidden one does not count)."""
        return {qid: message for qid, message in self.drafts.items()
                if self.asked(QUESTIONS_BY_ID[qid])}

    def step_problems(self, step_id: str) -> list[Problem]:
        """The problems of one step: its questions' fields and its own paths.

        A connection-wide answer asked on another step (the routing, the ASNs,
        the hold time: the VPC step's) is that step's alone, although the
        Import step's paths cover every `connection.*`: an operator who
        switched a strongSwan file to BGP has a field to fill there, not a file
        to fix. A tunnel's fields stay on both its step and the Import step,
        since they come from the file.
        """
        step = STEPS_BY_ID[step_id]
        asked = [q for q in step.questions if self.setup is None or self.asked(q)]
        elsewhere = [q for other in STEPS if other.id != step_id for q in other.questions
                     if q.id.startswith("connection.")
                     and (self.setup is None or self.asked(q))]

        def mine(p: Problem) -> bool:
            if any(q.covers(p.where) for q in asked):
                return True
            if any(q.covers(p.where) for q in elsewhere):
                return False
            return any(p.where == w or p.where.startswith(w + ".") for w in step.wheres)

        return [p for p in self.problems if mine(p)]

    def step_invalid(self, step_id: str) -> bool:
        """A step with something to fix (the sidebar's mark; plain mode reopens its questions)."""
        if step_id == "welcome":
            return bool(blocking(self.checks))
        if step_id == "import":
            return (self.import_error is not None and self.setup is None) or bool(
                errors(self.step_problems(step_id)))
        if step_id == "review":
            return bool(self.apply_blockers())
        questions = {q.id for q in STEPS_BY_ID[step_id].questions}
        return bool(errors(self.step_problems(step_id))) or bool(
            questions & self.active_drafts().keys())

    def apply_blockers(self) -> list[str]:
        """Why the plan cannot be applied now, one line each, naming the step (empty: it can)."""
        if self.setup is None:
            return ["No AWS configuration has been imported (step Import)."]
        lines = []
        for qid, message in self.active_drafts().items():
            question = QUESTIONS_BY_ID[qid]
            title = STEPS_BY_ID[question.step].title
            where = title if question.label == title else f"{title} · {question.label}"
            lines.append(f"{where}: {message}")
        placed: set[int] = set()
        drafts = self.active_drafts()
        for step in STEPS:
            for p in errors(self.step_problems(step.id)):
                placed.add(id(p))
                question = next((q for q in step.questions if q.covers(p.where)), None)
                if question is not None and question.id in drafts:
                    continue  # about the last value that parsed, no longer in the field
                label = question.label if question else place(p.where)
                lines.append(f"{step.title} · {label}: {p.message}")
        lines += [f"{place(p.where)}: {p.message}" for p in errors(self.problems)
                  if id(p) not in placed]
        if not lines:
            self.plan()
        if self.target_file_error:
            lines.append(f"A file on this box: {self.target_file_error}")
        if self.probing and not self.dry_run:
            lines.append("Welcome: this box is still being checked; wait a moment.")
        if not self.dry_run:
            for check in blocking(self.checks):
                lines.append(f"Welcome · {check.title}: {check.fix}")
        return lines

    # ------------------------------------------------------------------ the plan

    def plan(self) -> Plan | None:
        """The plan for the current setup, or None while it has errors or unparsed answers.

        The heartbeat unit always runs `heartbeat_command`: the installation the
        operator is running, whichever front end built the plan.
        """
        setup = self.setup
        if setup is None or errors(self.problems) or self.active_drafts():
            return None
        if self._plan[0] is not setup:
            from wizard.plan import build_plan  # the renderers load when a step needs the plan

            try:
                plan = build_plan(setup, self.root.read, heartbeat_command=self.heartbeat_command)
            except TargetFileError as err:  # a file on the box: say which, and what to fix
                self.target_file_error = str(err)
                self.target_file_failure = err
                return None
            self.target_file_error = None
            self.target_file_failure = None
            self._plan = (setup, plan)
        return self._plan[1]

    # ------------------------------------------------------------------ saving

    def save_answers(self, path: str | Path, *, include_secrets: bool = False) -> str:
        """Write the answers for replay (mode 0600); returns the sentence that says so.

        The AWS file is recorded relative to the answers file's directory, as a
        replay resolves it; the pre-shared keys are left out unless asked for.

        Raises:
            answers.AnswersError: the file cannot be written (naming it and why).
        """
        assert self.setup is not None
        target = Path(os.path.expanduser(str(path)))
        import_rel = None
        if self.import_path is not None:
            import_rel = os.path.relpath(self.import_path.resolve(), target.resolve().parent)
        answers_mod.save_answers(target, self.setup, include_secrets=include_secrets,
                                 import_path=import_rel, imported=self.imported)
        if include_secrets:
            keys = "with the pre-shared keys"
        elif self.by_hand:
            keys = ("without the pre-shared keys: the tunnels were typed by hand, so a replay "
                    "needs them: save again with the keys, or add psk to each [[tunnels]]")
        elif self.import_path is not None:
            keys = "without the pre-shared keys: a replay reads them from the AWS file"
        else:
            keys = ("without the pre-shared keys: replay it with --import and the AWS file, "
                    "or save again with the keys")
        return f"Saved to {path} (mode 0600, {keys})."
