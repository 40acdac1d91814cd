"""`vpn-wizard --plain`: the wizard's questions one after another, for a terminal without the TUI.

A face on `wizard.session`, like the TUI: the steps and their questions are
the catalogue's (`wizard.steps`), each answer goes to the `Session`, the
review is `wizard.preview` one step at a time, the answers can be saved as
ctrl+s saves them, and the run is an `ApplyRun`. So the same answers give the
same plan and the same run in every front end (tests/test_one_session.py).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import questionary
from rich.console import Console
from rich.text import Text

from wizard.answers import AnswersError
from wizard.apply import StepEvent
from wizard.model import Setup, errors
from wizard.plan_types import Plan
from wizard.preflight import Check, blocking, host_checks
from wizard.preview import NOTHING_CHANGED, problems_renderable, step_renderable, summary
from wizard.questions import Option, Question, Value, nat_hint
from wizard.redact import Redactor
from wizard.safe_text import SafeConsole, assemble, printable
from wizard.session import ApplyRun, HostDefaults, Session, needs_root
from wizard.session.state import DEFAULT_ANSWERS_PATH
from wizard.steps import ASKING, after_reboot, persistence_note, reboot_table
from wizard.system.host import HostFacts, probe
from wizard.system.interfaces import HostInterface
from wizard.system.netlink import read_interfaces
from wizard.system.paths import Root
from wizard.wording import place

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 130

_ICONS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red")}

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


def ask_question(session: Session, question: Question, prompter: Prompter,
                 console: Console) -> None:
    """Ask one question until the answer parses and the model accepts it; apply it."""
    setup = session.setup
    assert setup is not None
    kind = question.kind_in(setup, session.context)
    default = session.field_value(question)
    if question.id == "choices.behind_nat":
        hint = nat_hint(setup, session.context)
        if hint:
            console.print(assemble("  ", (hint, "dim")))
    why = session.detected_reason(question.id)
    if why and question.id != "choices.behind_nat":
        console.print(assemble("  ", (f"Preselected for this box: {why}.", "dim")))

    def validator(value: Any) -> bool | str:
        reason = session.check(question.id, tuple(value) if isinstance(value, list) else value)
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
    session.answer(question.id, value)
    for problem in question.problems(session.problems):
        console.print(assemble("  ", ("! ", "yellow"), (problem.message, "yellow")))


def ask_all(session: Session, prompter: Prompter, console: Console) -> Setup:
    """Every question of every step of the catalogue (`wizard.steps`), in the TUI's order."""
    for step in ASKING:
        assert session.setup is not None
        console.print()
        console.rule(step.title, align="left")
        if step.id.startswith("tunnel"):
            index = int(step.id.removeprefix("tunnel")) - 1
            tunnel = session.setup.tunnels[index]
            if session.by_hand and session.step_invalid(step.id):
                console.print(assemble(("  " + f"{tunnel.name}: type each value as the AWS "
                                        "console shows it (Tunnel details).", "dim")))
                for question in step.questions:
                    if session.asked(question):
                        ask_question(session, question, prompter, console)
                continue
            console.print(assemble(("  " + f"{tunnel.name}: AWS endpoint {tunnel.aws_outside_ip}"
                                    f", inside {tunnel.customer_inside_cidr}, mark {tunnel.mark}"
                                    f", IKEv{tunnel.crypto.ike_version} {tunnel.crypto.ike}",
                                    "")))
            if not session.step_invalid(step.id) and not prompter.confirm(
                f"{step.id}.edit", f"Change any of {tunnel.name}'s values?", False
            ):
                continue
        for question in step.questions:
            if session.asked(question):
                ask_question(session, question, prompter, console)
        if step.id == "persistence":  # what the choice means, as the TUI's table says it
            assert session.setup is not None
            console.print(assemble("  ", (persistence_note(session.setup), "dim")))
            console.print(reboot_table(session.setup))
    assert session.setup is not None
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


def load_inputs(args: argparse.Namespace, session: Session, prompter: Prompter) -> bool:
    """The AWS file (asked for when neither --import nor --answers gave one) and the answers."""
    if args.import_path or args.answers:
        return session.load(args.import_path, args.answers)

    def try_load(text: str) -> bool | str:
        path = os.path.expanduser(text.strip())
        if not path:
            return True  # no file: typing the tunnels in is offered next
        if not session.load(Path(path), None):
            return printable(session.import_error or "")
        return True

    given = prompter.path("The AWS configuration file (strongSwan, Generic or XML; "
                          "leave empty to type the tunnels in):", try_load)
    if given.strip():
        return True
    if prompter.confirm("by_hand", "No file: type both tunnels in from the AWS console "
                        "(addresses, inside /30s, pre-shared keys)?", True):
        session.start_by_hand()
        return True
    session.import_error = ("no AWS configuration: give the file AWS offers for download, "
                            "or type the tunnels in")
    return False


_REVIEW_OPTIONS = (
    Option("next", "Next step"),
    Option("all", "Show the remaining steps"),
    Option("end", "Skip to the end of the review"),
)


def review(session: Session, plan: Plan, prompter: Prompter, console: Console) -> None:
    """The plan as the TUI's review shows it: the summary, then one step at a time."""
    setup = session.setup
    assert setup is not None
    redactor = Redactor.for_plan(plan)
    console.print(summary(setup))
    if session.problems:
        console.print(problems_renderable(session.problems))
    console.print(after_reboot_text(setup))
    showing = "next"
    for number, step in enumerate(plan, start=1):
        if showing == "end":
            break
        console.print(step_renderable(step, number, redactor))
        if showing == "next" and number < len(plan.steps):
            showing = prompter.select("review", f"Step {number} of {len(plan.steps)} shown.",
                                      _REVIEW_OPTIONS, "next")
    console.print(Text(NOTHING_CHANGED, style="bold green"))


def after_reboot_text(setup: Setup) -> Text:
    """What survives a reboot, as lines (`wizard.steps.after_reboot`)."""
    text = Text("After a reboot:", style="bold")
    for row in after_reboot(setup):
        text.append(f"\n  {row.what}: ")
        text.append(row.fate, style="green" if row.kept else "red")
    return text


def offer_save(session: Session, prompter: Prompter, console: Console) -> None:
    """Offer to save the answers for a replay, as the TUI's ctrl+s does."""
    if not prompter.confirm("save", "Save these answers to a file for a replay?", False):
        return

    def writable(text: str) -> bool | str:
        return True if text.strip() else "give a file name"

    path = prompter.text("save.path", "Save the answers to", DEFAULT_ANSWERS_PATH,
                         writable).strip()
    secrets = prompter.confirm("save.secrets", "Include the pre-shared keys (the file is "
                               "0600 either way)?", False)
    try:
        console.print(session.save_answers(path, include_secrets=secrets))
    except AnswersError as exc:
        console.print(assemble(("error: ", "red"), (exc, ""), " The answers were not saved."))


def run_plain(
    args: argparse.Namespace,
    *,
    prompter: Prompter | None = None,
    console: Console | None = None,
    host: Callable[[], HostFacts] | None = None,
    interfaces: Callable[[], list[HostInterface]] = read_interfaces,
    heartbeat_command: str | None = None,
) -> int:
    """Ask, review, confirm, apply (or record). Returns the exit code.

    Args:
        args: the CLI's namespace (import_path, answers, root, dry_run).
        prompter, console, host, interfaces: injectable for tests; the real
            prompts, terminal and probes by default.
        heartbeat_command: None: the running installation (the session finds it).
    """
    prompter = prompter or Prompter()
    console = console or SafeConsole()
    root = Root(args.root)
    dry_run = bool(args.dry_run)
    facts = host() if host is not None else probe(root)
    checks = host_checks(facts, dry_run=dry_run)
    print_checks(console, checks, dry_run)
    try:
        found = interfaces()
    except OSError:
        found = []
    session = Session(root, dry_run=dry_run, host=HostDefaults.probe(root, found, facts=facts),
                      checks=checks, heartbeat_command=heartbeat_command,
                      answers_path=args.answers)
    try:
        if not load_inputs(args, session, prompter) or session.setup is None:
            console.print(assemble(("error: ", "bold red"), (session.import_error or "", "")))
            console.print("Nothing was changed.")
            return EXIT_REFUSED
        for note in session.import_notes:
            console.print(assemble(("import: ", "dim"), (note, "")))
        if not session.by_hand:  # typed in, there is nothing to summarise yet
            console.print(summary(session.setup))
        ask_all(session, prompter, console)
        if errors(session.problems):
            for problem in errors(session.problems):
                console.print(assemble(("error: ", "red"),
                                       (f"{place(problem.where)}: {problem.message}", "")))
            console.print("The plan cannot be built: fix the errors above. Nothing was changed.")
            return EXIT_REFUSED
        plan = session.plan()
        if plan is None:
            for line in session.apply_blockers():
                console.print(assemble(("error: ", "red"), (line, "")))
            console.print("The plan cannot be built. Nothing was changed.")
            return EXIT_REFUSED
        console.print()
        review(session, plan, prompter, console)
        offer_save(session, prompter, console)
        if not dry_run and blocking(checks):
            console.print(Text.assemble(("Not applied: the failed preflight checks above "
                                         "block it.", "red"), " Nothing was changed."))
            return EXIT_REFUSED
        verb = "Record (dry run)" if dry_run else "Apply"
        if not prompter.confirm("apply", f"{verb} these {len(plan.steps)} steps now?", False):
            console.print("Not applied. Nothing was changed.")
            return EXIT_OK
        return _apply(session, plan, console)
    except KeyboardInterrupt:
        console.print("\nInterrupted. Nothing was changed.")
        return EXIT_INTERRUPTED


def _apply(session: Session, plan: Plan, console: Console) -> int:
    """The session's ApplyRun, as `vpn-wizard apply` runs it: apply, then keep or roll back."""
    refused = needs_root(session.root, session.dry_run)
    if refused is not None:
        console.print(Text(refused.sentence, style="red"))
        return refused.exit_code
    assert session.setup is not None
    run = ApplyRun(session.setup, plan, session.root, dry_run=session.dry_run)
    titles = {step.id: step.title for step in plan}

    def show(event: StepEvent) -> None:
        if event.state != "running":
            line = assemble((f"  [{event.state}] {titles.get(event.step_id, event.step_id)}",
                             ""))
            if event.message:
                line.append(f" ({printable(run.masked(event.message))})", style="dim")
            console.print(line)

    outcome = run.start(progress=show)
    for reason in outcome.refused:
        console.print(assemble(("error: ", "red"), (reason, "")))
    if session.dry_run and outcome.result is not None:
        console.print(Text("Would run:", style="bold"))
        for line in outcome.log:
            console.print(assemble("  ", (line, "")))
    for note in outcome.notes:
        console.print(assemble((note, "dim")))
    if outcome.state == "pending":
        console.print(assemble((outcome.sentence, "yellow"), " Type 'yes' to keep them."))
        outcome = run.wait(_typed_line)
    console.print(assemble((outcome.sentence, "")))
    return outcome.exit_code


def _typed_line(timeout: float) -> str | None:
    """One line typed on the terminal within `timeout` seconds, else None."""
    import select
    import sys

    if sys.stdin is None or not sys.stdin.isatty():
        time.sleep(timeout)
        return None
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return sys.stdin.readline() if ready else None
