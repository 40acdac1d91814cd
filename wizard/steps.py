"""The wizard's steps, once: id, title, help, questions, what each writes, what survives a reboot.

Every front end reads this catalogue: the TUI's sidebar and `f1` help
(`screens.flow` only adds which screen draws each step), plain mode's
headings and its reboot table, `vpn-wizard plan`'s closing "after a reboot"
lines, and docs/steps.md (tests/test_steps.py checks that it matches). A
title or a promise about reboots written anywhere else could drift from this
one; so it is written nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from wizard.model import Setup
from wizard.questions import BY_STEP, Question


@dataclass(frozen=True)
class StepInfo:
    """One step of the wizard, as every front end names and explains it.

    Attributes:
        id: the step's id: the TUI screen's DOM id and the key of `wizard.questions.BY_STEP`.
        title: its name in the sidebar, plain mode's heading and the docs.
        help: what it is for, in the operator's words (`f1`, plain mode, docs).
        writes: what the answers of this step end up as on the box ("" when nothing).
        needs_setup: it cannot be opened before an AWS configuration is imported.
        wheres: `Problem.where` paths (and their children) that belong to this step
            besides its questions' own fields.
    """

    id: str
    title: str
    help: str
    writes: str = ""
    needs_setup: bool = True
    wheres: tuple[str, ...] = ()

    @property
    def questions(self) -> tuple[Question, ...]:
        """The questions this step asks, in order (`wizard.questions.BY_STEP`)."""
        return BY_STEP.get(self.id, ())


STEPS: tuple[StepInfo, ...] = (
    StepInfo("welcome", "Welcome",
             "What the wizard does, and whether this box is ready. Each check says how to fix "
             "a failure. A failed check blocks only applying the plan, never walking the steps; "
             "in a dry run nothing is blocked.",
             needs_setup=False),
    StepInfo("import", "Import",
             "Load the configuration file from the AWS console (VPN connection → Download "
             "configuration; any of the strongSwan, Generic or XML formats). Type its path (→ "
             "accepts the completion) or paste its text. The tunnels' values are taken from it.",
             writes="nothing by itself: the tunnels' values of every later step",
             needs_setup=False, wheres=("tunnels", "connection")),
    StepInfo("forwarding", "Forwarding",
             "The document's #1 steps 1-2: net.ipv4.ip_forward lets this box route between its "
             "LAN and the tunnels.",
             writes="net.ipv4.ip_forward in /etc/sysctl.conf (or /etc/sysctl.d)"),
    StepInfo("tunnel1", "Tunnel 1",
             "Tunnel 1 as AWS configured it. Change a value only if you changed it in the AWS "
             "console too. The pre-shared key is hidden; Show reveals it on screen.",
             writes="its conn and key in ipsec.conf/ipsec.secrets (or swanctl.conf), its VTI, "
                    "mark and iptables rules",
             wheres=("tunnels[0]",)),
    StepInfo("tunnel2", "Tunnel 2",
             "Tunnel 2 as AWS configured it. Its mark must differ from tunnel 1's.",
             writes="the same as tunnel 1, for the second tunnel",
             wheres=("tunnels[1]",)),
    StepInfo("mode", "Mode",
             "Manual follows the document's steps #2-#5 once; the updown script (the "
             "document's 'Automated Tunnel Healthcheck and Failover') repeats them on every "
             "tunnel change. The strongSwan configuration is written as ipsec.conf (the "
             "document's) or as swanctl files.",
             writes="the runtime commands now (manual) or /etc/ipsec.d/aws-updown.sh (updown); "
                    "ipsec.conf or swanctl.conf"),
    StepInfo("interfaces", "Interfaces",
             "The physical interface is the document's <PHYSICAL INTERFACE>; behind NAT, the "
             "private address is its <LOCAL IP>. LAN interfaces get disable_xfrm and "
             "disable_policy too, so decapsulated traffic is not sent back into the tunnel.",
             writes="the VTIs' local address, disable_xfrm/disable_policy sysctls, charon's "
                    "install_routes",
             wheres=("choices.mtu",)),
    StepInfo("vpc", "VPC CIDRs",
             "The document's <VPC CIDR>, with static routing (updown mode needs at least "
             "one). With dynamic routing (BGP) the VPC's routes are learned through FRR "
             "instead: this box's ASN, AWS's, the hold time, the networks announced to AWS, "
             "and whether tunnel 2 is only a standby (docs/routing.md).",
             writes="the routes to the VPC over the tunnels; with BGP, FRR's bgpd "
                    "configuration in /etc/frr/frr.conf and /etc/frr/daemons"),
    StepInfo("persistence", "Persistence",
             "The document's step #5: what brings the tunnel interfaces, routes and rules back "
             "after a reboot in manual mode.",
             writes="/etc/network/interfaces and rc.local, netplan or systemd-networkd files "
                    "with sysctl.d and a systemd unit, or nothing"),
    StepInfo("heartbeat", "Heartbeat",
             "The document's 'Tunnel Heartbeat', as a systemd service pinging AWS's inside "
             "addresses.",
             writes="the vpn-wizard-heartbeat systemd unit"),
    StepInfo("review", "Review",
             "Every file as a diff against the file on this box now, every command, grouped by "
             "the document's steps, with a note wherever the plan differs from the document. "
             "Nothing has changed yet."),
    StepInfo("apply", "Apply",
             "The plan running step by step. If a step fails, the steps before it are rolled "
             "back. In a dry run each step is recorded instead of run."),
    StepInfo("status", "Status",
             "What the run did, and the live status of both tunnels and the heartbeat "
             "(press s; it opens by itself after a real apply)."),
)

#: Step id -> step.
BY_ID: Mapping[str, StepInfo] = {step.id: step for step in STEPS}
#: The steps that ask questions, in the order both modes ask them.
ASKING: tuple[StepInfo, ...] = tuple(step for step in STEPS if step.questions)


def title_of(step_id: str) -> str:
    """A step's title ("Tunnel 1"), for a heading or a message that names where to fix something."""
    return BY_ID[step_id].title


@dataclass(frozen=True)
class RebootRow:
    """One line of "what survives a reboot".

    Attributes:
        what: the part of the setup ("Tunnel interfaces, VPC routes, iptables rules").
        fate: what happens to it at boot, in a sentence.
        kept: False when a reboot loses it.
    """

    what: str
    fate: str
    kept: bool = True


def after_reboot(setup: Setup) -> tuple[RebootRow, ...]:
    """What a reboot keeps with this setup's mode, persistence and heartbeat, part by part.

    The one place that promises anything about reboots: the Persistence
    screen's table, plain mode and `vpn-wizard plan` all print these rows.
    """
    choices = setup.choices
    persistence = choices.persistence
    modern = persistence in ("netplan", "networkd")
    rows = [
        RebootRow("strongSwan conns and keys, charon settings", "kept: they are files"),
        RebootRow("Forwarding, disable_xfrm, disable_policy",
                  "kept: set again from /etc/sysctl.d" if modern
                  else "kept: set again from /etc/sysctl.conf"),
    ]
    runtime = "Tunnel interfaces, VPC routes, iptables rules"
    if choices.mode != "manual":
        rows.append(RebootRow(runtime, "recreated by the updown script when each tunnel "
                                       "comes up"))
    elif persistence == "seed":
        rows.append(RebootRow(runtime, "restored by /etc/network/interfaces and rc.local "
                                       "(needs ifupdown)"))
    elif persistence == "netplan":
        rows.append(RebootRow(runtime, "created by netplan; rules restored by a systemd unit"))
    elif persistence == "networkd":
        rows.append(RebootRow(runtime, "created by systemd-networkd; rules restored by a "
                                       "systemd unit"))
    else:
        rows.append(RebootRow(runtime, "lost: run the wizard again after a reboot", kept=False))
    if setup.dynamic:
        rows.append(RebootRow("BGP (FRR's bgpd, the VPC's routes)",
                              "kept: frr.service is enabled and reads /etc/frr/frr.conf"))
    if choices.heartbeat:
        rows.append(RebootRow("Heartbeat", "kept: a systemd service"))
    return tuple(rows)


def persistence_note(setup: Setup) -> str:
    """Why persistence matters (or does not) in this setup's mode, above the reboot rows."""
    if setup.choices.mode == "manual":
        return ("Manual mode creates the tunnel interfaces, routes and rules at runtime; the "
                "document's step #5 makes them come back after a reboot. On today's Ubuntu, "
                "netplan or systemd-networkd do the same without ifupdown and rc.local.")
    return ("Updown mode recreates the tunnel interfaces, routes and rules each time a tunnel "
            "comes up, so they need no persistence; netplan and systemd-networkd still move "
            "the kernel settings to /etc/sysctl.d.")


def reboot_table(setup: Setup) -> Table:
    """`after_reboot` as a table, green where kept, red where lost (Persistence step, plain)."""
    table = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 1))
    table.add_column("After a reboot", ratio=3)
    table.add_column("", ratio=4)
    for row in after_reboot(setup):
        table.add_row(row.what, Text(row.fate, style="green" if row.kept else "red"))
    return table


def markdown() -> str:
    """The catalogue as docs/steps.md's table (tests/test_steps.py keeps the two in step)."""
    lines = ["| # | Step | What it asks | What it writes |", "|---|---|---|---|"]
    for number, step in enumerate(STEPS, start=1):
        asks = ", ".join(q.label for q in step.questions) or "—"
        lines.append(f"| {number} | **{step.title}** (`{step.id}`) | {asks} | "
                     f"{step.writes or '—'} |")
    return "\n".join(lines) + "\n"
