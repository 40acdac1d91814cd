"""The plan as Rich renderables: what `vpn-wizard plan` prints and the review screen shows.

Everything shown passes through `redact` first, so a PSK reaches the terminal
only when the operator asked for `--show-secrets`.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from wizard.model import Problem, Setup
from wizard.plan_types import FileChange, Plan, Step
from wizard.secret import Secret, redact

NOTHING_CHANGED = "Nothing has been changed yet: this is a preview."


def summary(setup: Setup, *, show_secrets: bool = False) -> Table:
    """Both tunnels side by side, as the operator will want to check them against AWS's console."""
    table = Table(title=f"VPN connection {setup.connection.vpn_connection_id or '(no id)'}",
                  title_justify="left", expand=False)
    table.add_column("", style="bold")
    for tunnel in setup.tunnels:
        table.add_column(tunnel.name)
    rows = [
        ("AWS endpoint", lambda t: str(t.aws_outside_ip)),
        ("This box", lambda t: f"{t.customer_outside_ip}"
         + (f" (NAT, local {setup.choices.local_ip})" if setup.choices.local_ip else "")),
        ("Inside (this box)", lambda t: str(t.customer_inside_cidr)),
        ("Inside (AWS)", lambda t: str(t.aws_inside_cidr)),
        ("Mark / VTI key", lambda t: str(t.mark)),
        ("IKE", lambda t: f"IKEv{t.crypto.ike_version} {t.crypto.ike}"),
        ("ESP", lambda t: t.crypto.esp),
        ("PSK", lambda t: t.psk.reveal() if show_secrets else str(t.psk)),
    ]
    for label, value in rows:
        table.add_row(label, *(value(t) for t in setup.tunnels))
    choices = setup.choices
    table.caption = (
        f"mode {choices.mode} · WAN {choices.physical_interface}"
        f" · LAN {', '.join(choices.lan_interfaces) or 'none'}"
        f" · VPC {', '.join(map(str, choices.vpc_cidrs)) or 'none'}"
        f" · persistence {choices.persistence} · heartbeat {'on' if choices.heartbeat else 'off'}"
    )
    table.caption_justify = "left"
    return table


def file_renderable(change: FileChange, secrets: tuple[Secret, ...]) -> RenderableType:
    """A file change as a diff (or the whole new file when it does not exist yet)."""
    header = Text.assemble(
        ("  file ", "dim"), (change.path, "bold cyan"), (f"  mode {change.mode:04o}", "dim"),
        ("  (new file)" if change.before is None else "", "green"),
        ("  (unchanged)" if not change.changed else "", "dim"),
    )
    if not change.changed:
        return header
    diff = change.diff(secrets)
    return Group(header, Syntax(diff, "diff", theme="ansi_dark", background_color="default",
                                word_wrap=True))


def step_renderable(
    step: Step, number: int, secrets: tuple[Secret, ...]
) -> RenderableType:
    """One step: title, why, seed reference, files, commands, deviations."""
    parts: list[RenderableType] = [
        Text(step.why, style="italic"),
    ]
    for change in step.files:
        parts.append(file_renderable(change, secrets))
    if step.commands:
        script = "\n".join(redact(" ".join(op.argv), secrets) for op in step.commands)
        parts.append(Text("  commands", style="dim"))
        parts.append(Syntax(script, "bash", theme="ansi_dark", background_color="default",
                            word_wrap=True))
    for note in step.notes:
        parts.append(Text.assemble(("  differs from the AWS document: ", "yellow"),
                                   (note.text, ""), (f" [{note.id}]", "dim")))
    title = Text.assemble((f"{number}. ", "bold"), (step.title, "bold"),
                          (f"   {step.seed_ref}", "dim"))
    return Panel(Group(*parts), title=title, title_align="left", border_style="blue")


def sources_table(sources: dict[str, str]) -> Table:
    """Where each value came from: the answers file, the AWS file, or the seed's defaults."""
    table = Table(title="Where the values came from", title_justify="left")
    table.add_column("value")
    table.add_column("source")
    for key, source in sorted(sources.items()):
        table.add_row(key, source)
    return table


def problems_renderable(problems: list[Problem]) -> RenderableType:
    """Errors first, then warnings; the same message for several fields is said once."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for p in sorted(problems, key=lambda p: p.severity != "error"):
        grouped.setdefault((p.severity, p.message), []).append(p.where)
    text = Text()
    for (severity, message), where in grouped.items():
        style = "red" if severity == "error" else "yellow"
        text.append(f"{severity}: ", style=f"bold {style}")
        text.append(f"{message} ")
        text.append(f"({', '.join(where)})\n", style="dim")
    return text


def render_plan(
    setup: Setup,
    plan: Plan,
    *,
    show_secrets: bool = False,
    sources: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
) -> Iterator[RenderableType]:
    """Everything `vpn-wizard plan` prints, in order."""
    secrets = () if show_secrets else plan.secrets
    yield summary(setup, show_secrets=show_secrets)
    if problems:
        yield problems_renderable(problems)
    for number, step in enumerate(plan, start=1):
        yield step_renderable(step, number, secrets)
    if sources:
        yield sources_table(sources)
    yield Text(NOTHING_CHANGED, style="bold green")
