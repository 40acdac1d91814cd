"""`vpn-wizard --plain`: the wizard's questions one after another, for a terminal without the TUI.

The questions are `wizard.questions`, the same ones the full-screen wizard
shows, applied to the model the same way; then the same review
(`wizard.preview`) and, after a yes, the same engine. So the same answers
give the same plan in both modes (tests/test_plain_mode.py proves it).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import questionary
from rich.console import Console
from rich.text import Text

from wizard import inputs
from wizard.model import Problem, Setup, errors, validate
from wizard.plan import build_plan
from wizard.preview import render_plan, summary
from wizard.questions import BY_STEP, Context, Option, Question, Value, host_defaults, nat_hint
from wizard.redact import Redactor
from wizard.safe_text import SafeConsole, assemble, printable
from wizard.system.host import Check, blocking, preflight, probe
from wizard.system.interfaces import HostInterface, list_interfaces
from wizard.system.paths import Root
from wizard.wording import place

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 130

_ICONS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red")}

#: Step headings, in the order the questions are asked.
STEP_TITLES = {
    "forwarding": "Packet forwarding",
    "tunnel1": "Tunnel 1",
    "tunnel2": "Tunnel 2",
    "mode": "Mode",
    "interfaces": "Interfaces",
    "vpc": "VPC CIDRs",
    "persistence": "Persistence",
    "heartbeat": "Heartbeat",
}


class Prompter:
    """Makes and asks the questionary prompts (tests subclass it to type into them).

    Each method asks one question and returns the answer as `wizard.questions`
    expects it; `unsafe_ask` lets Ctrl-C through as KeyboardInterrupt, so the
    caller can say that nothing was changed.
    """

    def text(self, question_id: str, message: str, default: str,
             validate: Callable[[str], bool | str], *, secret: bool = False) -> str:
        ask = questionary.password if secret else questionary.text
        return str(ask(message, default=default, validate=validate).unsafe_ask())

    def path(self, message: str, validate: Callable[[str], bool | str]) -> str:
        return str(questionary.path(message, validate=validate).unsafe_ask())

    def confirm(self, question_id: str, message: str, default: bool) -> bool:
        return bool(questionary.confirm(message, default=default).unsafe_ask())

    def select(self, question_id: str, message: str, options: Sequence[Option],
               default: str) -> str:
        choices = [questionary.Choice(o.label, value=o.value) for o in options]
        chosen = next((c for c in choices if c.value == default), None)
        return str(questionary.select(message, choices=choices, default=chosen).unsafe_ask())

    def multi(self, question_id: str, message: str, options: Sequence[Option],
              default: Sequence[str], validate: Callable[[list[str]], bool | str]) -> list[str]:
        choices = [questionary.Choice(o.label, value=o.value, checked=o.value in default)
                   for o in options]
        return list(questionary.checkbox(message, choices=choices,
                                         validate=validate).unsafe_ask())


@dataclass
class Session:
    """One plain run: the model so far and what the questions need.

    Attributes:
        setup: the model, replaced after every answer.
        context: the host's interfaces.
        marks: marks already used by other conns in the target's ipsec.conf.
        answers: every answer given, by question id (the NAT answer lives only here).
    """

    setup: Setup
    context: Context
    marks: dict[str, int]
    answers: dict[str, Value]

    def problems_for(self, question: Question, setup: Setup) -> list[Problem]:
        return question.problems(validate(setup, self.marks))

    def check(self, question: Question, value: Value) -> str | None:
        """Why `value` cannot be the answer (a parse error or a model error), or None."""
        try:
            candidate = question.apply(self.setup, value)
        except ValueError as exc:
            return str(exc)
        blocking_problems = errors(self.problems_for(question, candidate))
        return blocking_problems[0].message if blocking_problems else None


def ask_question(session: Session, question: Question, prompter: Prompter,
                 console: Console) -> None:
    """Ask one question until the answer parses and the model accepts it; apply it."""
    setup = session.setup
    kind = question.kind_in(setup, session.context)
    default = question.default(setup, session.context)
    if question.id == "choices.behind_nat":
        hint = nat_hint(setup, session.context)
        if hint:
            console.print(assemble("  ", (hint, "dim")))

    def validator(value: Any) -> bool | str:
        reason = session.check(question, tuple(value) if isinstance(value, list) else value)
        return True if reason is None else printable(reason)

    value: Value
    if kind in ("text", "secret"):
        value = prompter.text(question.id, question.prompt, str(default), validator,
                              secret=kind == "secret")
    elif kind == "confirm":
        value = prompter.confirm(question.id, question.prompt, bool(default))
    elif kind == "select":
        assert question.options is not None
        value = prompter.select(question.id, question.prompt,
                                question.options(setup, session.context), str(default))
    else:
        assert question.options is not None
        chosen = default if isinstance(default, tuple) else ()
        value = tuple(prompter.multi(question.id, question.prompt,
                                     question.options(setup, session.context), chosen,
                                     validator))
    session.answers[question.id] = value
    session.setup = question.apply(setup, value)
    for problem in session.problems_for(question, session.setup):
        console.print(assemble("  ", ("! ", "yellow"), (problem.message, "yellow")))


def ask_all(session: Session, prompter: Prompter, console: Console) -> Setup:
    """Every question of `wizard.questions`, step by step, in the TUI's order."""
    for step, questions in BY_STEP.items():
        console.print()
        console.rule(STEP_TITLES.get(step, step), align="left")
        if step.startswith("tunnel"):
            index = int(step.removeprefix("tunnel")) - 1
            tunnel = session.setup.tunnels[index]
            console.print(assemble(("  " + f"{tunnel.name}: AWS endpoint {tunnel.aws_outside_ip}"
                                    f", inside {tunnel.customer_inside_cidr}, mark {tunnel.mark}"
                                    f", IKEv{tunnel.crypto.ike_version} {tunnel.crypto.ike}",
                                    "")))
            has_errors = any(
                q.covers(p.where) or p.where.startswith(f"tunnels[{index}].")
                for q in questions for p in errors(validate(session.setup, session.marks))
            )
            if not has_errors and not prompter.confirm(
                f"{step}.edit", f"Change any of {tunnel.name}'s values?", False
            ):
                continue
        for question in questions:
            if question.when(session.setup, session.answers):
                ask_question(session, question, prompter, console)
    return session.setup


def print_checks(console: Console, checks: list[Check], dry_run: bool) -> None:
    """The welcome screen's preflight, as lines."""
    console.print(Text("Preflight checks", style="bold"))
    for check in checks:
        console.print(assemble("  ", _ICONS[check.status], (f" {check.title}: {check.detail}",
                                                            "")))
        if check.fix:
            console.print(assemble("      fix: ", (check.fix, "")))
    if dry_run:
        console.print(Text("Dry run: nothing on this box will change.", style="green"))
    elif blocking(checks):
        console.print(Text("Applying is blocked until the failed checks pass; you can still "
                           "answer the questions and see the plan.", style="red"))


def load_inputs(args: argparse.Namespace, root: Root, prompter: Prompter,
                console: Console) -> inputs.Loaded:
    """The AWS file (asked for when neither --import nor --answers gave one) and the answers."""
    if args.import_path or args.answers:
        return inputs.load(args.import_path, args.answers, root)
    loaded: list[inputs.Loaded] = []

    def try_load(text: str) -> bool | str:
        path = os.path.expanduser(text.strip())
        if not path:
            return "give the path of the configuration file AWS offers for download"
        try:
            loaded[:] = [inputs.load(Path(path), None, root)]
        except inputs.InputError as exc:
            return printable(exc)
        return True

    prompter.path("The AWS configuration file (strongSwan, Generic or XML):", try_load)
    return loaded[0]


def run_plain(
    args: argparse.Namespace,
    *,
    prompter: Prompter | None = None,
    console: Console | None = None,
    host: Callable[[], Any] = probe,
    interfaces: Callable[[], list[HostInterface]] = list_interfaces,
) -> int:
    """Ask, review, confirm, apply (or record). Returns the exit code.

    Args:
        args: the CLI's namespace (import_path, answers, root, dry_run).
        prompter, console, host, interfaces: injectable for tests; the real
            prompts, terminal and probes by default.
    """
    prompter = prompter or Prompter()
    console = console or SafeConsole()
    root = Root(args.root)
    dry_run = bool(args.dry_run)
    checks = preflight(host(), dry_run=dry_run)
    print_checks(console, checks, dry_run)
    try:
        found = interfaces()
    except OSError:
        found = []
    context = Context(tuple(found))
    try:
        try:
            loaded = load_inputs(args, root, prompter, console)
        except inputs.InputError as exc:
            console.print(assemble(("error: ", "bold red"), (exc, "")))
            console.print("Nothing was changed.")
            return EXIT_REFUSED
        for note in loaded.notes:
            console.print(assemble(("import: ", "dim"), (note, "")))
        session = Session(host_defaults(loaded.setup, context, loaded.sources), context,
                          inputs.marks_on(root), {})
        console.print(summary(session.setup))
        setup = ask_all(session, prompter, console)
        problems = validate(setup, session.marks)
        if errors(problems):
            for problem in errors(problems):
                console.print(assemble(("error: ", "red"),
                                       (f"{place(problem.where)}: {problem.message}", "")))
            console.print("The plan cannot be built: fix the errors above. Nothing was changed.")
            return EXIT_REFUSED
        plan = build_plan(setup, root.read)
        console.print()
        for part in render_plan(setup, plan, problems=problems):
            console.print(part)
        if not dry_run and blocking(checks):
            console.print(Text.assemble(("Not applied: the failed preflight checks above "
                                         "block it.", "red"), " Nothing was changed."))
            return EXIT_REFUSED
        verb = "Record (dry run)" if dry_run else "Apply"
        if not prompter.confirm("apply", f"{verb} these {len(plan.steps)} steps now?", False):
            console.print("Not applied. Nothing was changed.")
            return EXIT_OK
        return _apply(setup, plan, root, dry_run, console)
    except KeyboardInterrupt:
        console.print("\nInterrupted. Nothing was changed.")
        return EXIT_INTERRUPTED


def _apply(setup: Setup, plan: Any, root: Root, dry_run: bool, console: Console) -> int:
    """The engine, as `vpn-wizard apply` runs it: preflight, apply, confirm or roll back."""
    from wizard.apply import StepEvent, apply_plan
    from wizard.commands.apply import wait_for_confirmation
    from wizard.preflight import preflight as box_preflight
    from wizard.system import System

    if not dry_run and root.is_host and os.geteuid() != 0:
        console.print(Text.assemble(("Applying to this box needs root.", "red"),
                                    " Nothing was changed."))
        return EXIT_REFUSED
    titles = {step.id: step.title for step in plan}
    redactor = Redactor.for_plan(plan)

    def show(event: StepEvent) -> None:
        if event.state != "running":
            line = assemble((f"  [{event.state}] {titles.get(event.step_id, event.step_id)}",
                             ""))
            if event.message:
                line.append(f" ({printable(redactor.text(event.message))})", style="dim")
            console.print(line)

    system = System.recording(root) if dry_run else System.real(root)
    try:
        refused = box_preflight(setup, system)
        if refused:
            for reason in refused:
                console.print(assemble(("error: ", "red"), (reason, "")))
            console.print("Not applied. Nothing was changed.")
            return EXIT_REFUSED
        timeout = None if dry_run else 120.0
        result = apply_plan(plan, system, progress=show, confirm_timeout=timeout)
        if dry_run:
            console.print(Text("Would run:", style="bold"))
            for line in system.log:
                console.print(assemble("  ", (redactor.text(line), "")))
            console.print("Dry run: nothing was changed.")
            return EXIT_OK if result.ok else EXIT_FAILED
        if not result.ok:
            console.print(assemble(("error: ", "red"), (redactor.text(str(result.error)), ""),
                                   ". Every change made before it was rolled back; nothing "
                                   "was changed."))
            return EXIT_FAILED
        if not result.changed or result.transaction is None:
            console.print("Everything was already in place: nothing was changed.")
            return EXIT_OK
        return wait_for_confirmation(system, result.transaction, timeout or 120.0)
    finally:
        system.close()
