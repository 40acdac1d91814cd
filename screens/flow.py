"""The wizard's steps, in order: the one place the flow is written down.

Each `FlowStep` names its screen, the help `f1` shows, and which model
problems belong to it beyond its questions' own fields (so the sidebar can
mark the step invalid and the step can show them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from screens.apply import ApplyScreen
from screens.base import StepScreen
from screens.forwarding import ForwardingScreen
from screens.heartbeat import HeartbeatScreen
from screens.import_file import ImportScreen
from screens.interfaces import InterfacesScreen
from screens.mode import ModeScreen
from screens.persistence import PersistenceScreen
from screens.review import ReviewScreen
from screens.status_step import StatusStepScreen
from screens.tunnel import TunnelScreen
from screens.vpc import VpcScreen
from screens.welcome import WelcomeScreen


@dataclass(frozen=True)
class FlowStep:
    """One step of the wizard.

    Attributes:
        id: the screen's DOM id and the key of `wizard.questions.BY_STEP`.
        title: the sidebar's name for it.
        help: what `f1` shows first.
        make: builds the screen (a fresh one on every visit, prefilled from the model).
        needs_setup: locked until a configuration has been imported.
        wheres: `Problem.where` paths (and their children) shown on this step
            besides its questions' fields.
        cached: the screen is built once and kept, so going back and forth is
            instant; the review, apply and status steps are rebuilt on every visit
            because what they show is made when they open.
    """

    id: str
    title: str
    help: str
    make: Callable[[FlowStep], StepScreen]
    needs_setup: bool = True
    wheres: tuple[str, ...] = ()
    cached: bool = True


FLOW: tuple[FlowStep, ...] = (
    FlowStep("welcome", "Welcome",
             "What the wizard does, and whether this box is ready. Each check says how to fix "
             "a failure. A failed check blocks only applying the plan, never walking the steps; "
             "in a dry run nothing is blocked.",
             WelcomeScreen, needs_setup=False),
    FlowStep("import", "Import",
             "Load the configuration file from the AWS console (VPN connection → Download "
             "configuration; any of the strongSwan, Generic or XML formats). Type its path (→ "
             "accepts the completion) or paste its text. The tunnels' values are taken from it.",
             ImportScreen, needs_setup=False, wheres=("tunnels", "connection")),
    FlowStep("forwarding", "Forwarding",
             "The document's #1 steps 1-2: net.ipv4.ip_forward lets this box route between its "
             "LAN and the tunnels.",
             ForwardingScreen),
    FlowStep("tunnel1", "Tunnel 1",
             "Tunnel 1 as AWS configured it. Change a value only if you changed it in the AWS "
             "console too. The pre-shared key is hidden; Show reveals it on screen.",
             lambda step: TunnelScreen(step, 0), wheres=("tunnels[0]",)),
    FlowStep("tunnel2", "Tunnel 2",
             "Tunnel 2 as AWS configured it. Its mark must differ from tunnel 1's.",
             lambda step: TunnelScreen(step, 1), wheres=("tunnels[1]",)),
    FlowStep("mode", "Mode",
             "Manual follows the document's steps #2-#5 once; the updown script (the "
             "document's 'Automated Tunnel Healthcheck and Failover') repeats them on every "
             "tunnel change. The strongSwan configuration is written as ipsec.conf (the "
             "document's) or as swanctl files.",
             ModeScreen),
    FlowStep("interfaces", "Interfaces",
             "The physical interface is the document's <PHYSICAL INTERFACE>; behind NAT, the "
             "private address is its <LOCAL IP>. LAN interfaces get disable_xfrm and "
             "disable_policy too, so decapsulated traffic is not sent back into the tunnel.",
             InterfacesScreen, wheres=("choices.mtu",)),
    FlowStep("vpc", "VPC CIDRs",
             "The document's <VPC CIDR>. Updown mode needs at least one.",
             VpcScreen),
    FlowStep("persistence", "Persistence",
             "The document's step #5: what brings the tunnel interfaces, routes and rules back "
             "after a reboot in manual mode.",
             PersistenceScreen),
    FlowStep("heartbeat", "Heartbeat",
             "The document's 'Tunnel Heartbeat', as a systemd service pinging AWS's inside "
             "addresses.",
             HeartbeatScreen),
    FlowStep("review", "Review",
             "Every file as a diff against the file on this box now, every command, grouped by "
             "the document's steps, with a note wherever the plan differs from the document. "
             "Nothing has changed yet.",
             ReviewScreen, cached=False),
    FlowStep("apply", "Apply",
             "The plan running step by step. If a step fails, the steps before it are rolled "
             "back. In a dry run each step is recorded instead of run.",
             ApplyScreen, cached=False),
    FlowStep("status", "Status",
             "What the run did, and the live status of both tunnels and the heartbeat "
             "(press s; it opens by itself after a real apply).",
             StatusStepScreen, cached=False),
)

BY_ID: dict[str, FlowStep] = {step.id: step for step in FLOW}
