"""The plan as Rich renderables: what `vpn-wizard plan` prints and the review screen shows.

Every file and command shown passes through a `wizard.redact.Redactor` first,
so no key (the plan's or one already on the box) reaches the terminal unless
the operator asked for `--show-secrets`. Every value is put on screen as a
Rich `Text` made by `wizard.safe_text`: never parsed as markup, never a raw
control byte.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from wizard.model import Problem, Setup
from wizard.plan_types import FileChange, Plan, Step
from wizard.redact import Redactor
from wizard.safe_text import assemble, printable, text
from wizard.secret import Secret
from wizard.wording import places

NOTHING_CHANGED = "Nothing has been changed yet: this is a preview."


def _proposals(value: str) -> str:
    """A proposal list with a space after each comma, so it wraps between proposals."""
    return ", ".join(part.strip() for part in value.split(","))


class TunnelSummary:
    """Both tunnels side by side when they fit, one under the other when the terminal is narrow.

    The operator compares these values with AWS's console character by
    character, so none is ever elided: side by side when every value fits its
    column whole, otherwise each tunnel as its own label/value table, where a
    value wraps (between proposals, or folded) instead of ending in "…".
    """

    def __init__(self, setup: Setup, *, show_secrets: bool = False,
                 origins: tuple[str, ...] = ()) -> None:
        self.title = assemble("VPN connection ",
                              (setup.connection.vpn_connection_id or "(no id)", ""))
        # Text (not a str) so an id is never markup; styled as Rich styles a str title.
        self.title.style = "table.title"
        self.names = [text(t.name) for t in setup.tunnels]
        local = f" (NAT, local {setup.choices.local_ip})" if setup.choices.local_ip else ""
        self.rows: list[tuple[str, list[Text]]] = [
            (label, [text(value(t)) for t in setup.tunnels]) for label, value in (
                ("AWS endpoint", lambda t: str(t.aws_outside_ip)),
                ("This box", lambda t: f"{t.customer_outside_ip}{local}"),
                ("Inside (this box)", lambda t: str(t.customer_inside_cidr)),
                ("Inside (AWS)", lambda t: str(t.aws_inside_cidr)),
                ("Mark / VTI key", lambda t: str(t.mark)),
                ("IKE", lambda t: f"IKEv{t.crypto.ike_version} {_proposals(t.crypto.ike)}"),
                ("ESP", lambda t: _proposals(t.crypto.esp)),
                ("PSK", lambda t: t.psk.reveal() if show_secrets else str(t.psk)),
            )
        ]
        if len(origins) == len(setup.tunnels):  # AWS's own order, beside the name we gave
            self.rows.insert(0, ("In the AWS file", [text(o) for o in origins]))
        choices = setup.choices
        self.caption = text(
            f"mode {choices.mode} · WAN {choices.physical_interface}"
            f" · LAN {', '.join(choices.lan_interfaces) or 'none'}"
            + (f" · VPC over BGP, announcing {', '.join(map(str, choices.advertise))}"
               f" ({choices.bgp_mode})" if setup.dynamic else
               f" · VPC {', '.join(map(str, choices.vpc_cidrs)) or 'none'}")
            + f" · persistence {choices.persistence}"
            f" · heartbeat {'on' if choices.heartbeat else 'off'}",
            style="table.caption",
        )

    def side_by_side_width(self) -> int:
        """Columns the side-by-side table needs so that no word of a value is ever broken.

        A value may wrap between words (proposals are joined by ", " for that);
        only when its longest word does not fit beside the other tunnel's do the
        tunnels go one under the other.
        """
        def longest_word(value: Text) -> int:
            return max((Text(word).cell_len for word in value.plain.split()), default=0)

        widths = [max(len(label) for label, _ in self.rows)]
        for index, name in enumerate(self.names):
            widths.append(max([name.cell_len, *(longest_word(v[index]) for _, v in self.rows)]))
        return sum(widths) + 3 * len(widths) + 1  # "│ " + value + " " per column, and "│"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.side_by_side_width() <= options.max_width:
            table = Table(title=self.title, title_justify="left", expand=False)
            table.add_column("", style="bold", no_wrap=True)
            for name in self.names:
                table.add_column(name, overflow="fold")
            for label, values in self.rows:
                table.add_row(label, *values)
            table.caption = self.caption
            table.caption_justify = "left"
            yield table
            return
        yield self.title
        for index, name in enumerate(self.names):
            table = Table(title=name, title_justify="left", title_style="bold",
                          show_header=False, expand=True)
            table.add_column("", style="bold", no_wrap=True)
            table.add_column("", overflow="fold", ratio=1)
            for label, values in self.rows:
                table.add_row(label, values[index])
            yield table
        caption = self.caption.copy()
        caption.overflow = "fold"
        yield caption


def summary(setup: Setup, *, show_secrets: bool = False,
            origins: tuple[str, ...] = ()) -> TunnelSummary:
    """Both tunnels, as the operator will want to check them against AWS's console.

    `origins` (from `Imported.origins`) adds where each tunnel is in the AWS file.
    """
    return TunnelSummary(setup, show_secrets=show_secrets, origins=origins)


def file_renderable(change: FileChange, redactor: Redactor | tuple[Secret, ...] = ()
                    ) -> RenderableType:
    """A file change as a diff (or the whole new file when it does not exist yet)."""
    redactor = _redactor(redactor)
    header = Text.assemble(
        ("  file ", "dim"), (printable(change.path), "bold cyan"),
        (f"  mode {change.mode:04o}", "dim"),
        ("  (new file)" if change.before is None else "", "green"),
        ("  (unchanged)" if not change.changed else "", "dim"),
    )
    if not change.changed:
        return header
    diff = printable(redactor.diff(change), keep_newlines=True)
    return Group(header, Code(diff, "diff"))


def step_renderable(
    step: Step, number: int, redactor: Redactor | tuple[Secret, ...] = ()
) -> RenderableType:
    """One step: title, why, seed reference, files, commands, deviations."""
    redactor = _redactor(redactor)
    parts: list[RenderableType] = [
        step_heading(step, number),
        text(step.why, style="italic"),
    ]
    for change in step.files:
        parts.append(file_renderable(change, redactor))
    if step.commands:
        script = "\n".join(printable(redactor.text(" ".join(op.argv))) for op in step.commands)
        parts.append(Text("  commands", style="dim"))
        parts.append(Code(script, "bash"))
    for note in step.notes:
        parts.append(assemble(("  differs from the AWS document: ", "yellow"),
                              (note.text, ""), (f" [{note.id}]", "dim")))
    return Panel(Group(*parts), border_style="blue")


class Code:
    """A file's diff or a step's commands: coloured by Pygments only where colour shows.

    On a console without colour (`plan > file`, a pipe, NO_COLOR) Syntax would
    lex every line and then drop the styles: half of `vpn-wizard plan`'s time
    after its imports. There the text is the same lines, unstyled.
    """

    def __init__(self, code: str, lexer: str) -> None:
        self.code = code
        self.lexer = lexer

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if console.color_system is None or console.no_color:
            yield Text(self.code.expandtabs(4))
            return
        from rich.syntax import Syntax  # Pygments: imported only where it colours

        yield Syntax(self.code, self.lexer, theme="ansi_dark", background_color="default",
                     word_wrap=True)


def step_heading(step: Step, number: int) -> Text:
    """The step's number, title and seed reference, inside its box: a border title is cut."""
    return assemble((f"{number}. ", "bold"), (step.title, "bold"), (f"   {step.seed_ref}", "dim"))


def _redactor(given: Redactor | tuple[Secret, ...]) -> Redactor:
    """Callers that still pass the plan's secrets get the same file-kind masking."""
    return given if isinstance(given, Redactor) else Redactor(tuple(given))


def sources_table(sources: dict[str, str]) -> Table:
    """Where each value came from: the answers file, the AWS file, or the seed's defaults."""
    table = Table(title="Where the values came from", title_justify="left")
    table.add_column("value")
    table.add_column("source")
    for key, source in sorted(sources.items()):
        table.add_row(text(key), text(source))
    return table


def problems_renderable(problems: list[Problem]) -> RenderableType:
    """Errors first, then warnings; the same message for several fields is said once."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for p in sorted(problems, key=lambda p: p.severity != "error"):
        grouped.setdefault((p.severity, p.message), []).append(p.where)
    out = Text()
    for (severity, message), where in grouped.items():
        style = "red" if severity == "error" else "yellow"
        out.append(f"{severity}: ", style=f"bold {style}")
        out.append(f"{printable(message)} ")
        out.append(f"({printable(places(where))})\n", style="dim")
    return out


def render_plan(
    setup: Setup,
    plan: Plan,
    *,
    show_secrets: bool = False,
    sources: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
) -> Iterator[RenderableType]:
    """Everything `vpn-wizard plan` prints, in order."""
    redactor = Redactor.for_plan(plan, show=show_secrets)
    yield summary(setup, show_secrets=show_secrets)
    if problems:
        yield problems_renderable(problems)
    for number, step in enumerate(plan, start=1):
        yield step_renderable(step, number, redactor)
    if sources:
        yield sources_table(sources)
    yield Text(NOTHING_CHANGED, style="bold green")
