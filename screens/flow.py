"""Which screen draws each step of the catalogue (`wizard.steps`), in the catalogue's order.

Titles, help and the problem paths of a step are the catalogue's, shared with
plain mode, `vpn-wizard plan` and the docs; this module only adds the screens.
"""

from __future__ import annotations

from collections.abc import Callable

from screens.apply import ApplyScreen
from screens.base import FlowStep, StepScreen
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
from wizard.steps import STEPS

#: Step id -> the screen that draws it (and whether it is kept between visits).
_SCREENS: dict[str, tuple[Callable[[FlowStep], StepScreen], bool]] = {
    "welcome": (WelcomeScreen, True),
    "import": (ImportScreen, True),
    "forwarding": (ForwardingScreen, True),
    "tunnel1": (lambda step: TunnelScreen(step, 0), True),
    "tunnel2": (lambda step: TunnelScreen(step, 1), True),
    "mode": (ModeScreen, True),
    "interfaces": (InterfacesScreen, True),
    "vpc": (VpcScreen, True),
    "persistence": (PersistenceScreen, True),
    "heartbeat": (HeartbeatScreen, True),
    "review": (ReviewScreen, False),
    "apply": (ApplyScreen, False),
    "status": (StatusStepScreen, False),
}

FLOW: tuple[FlowStep, ...] = tuple(FlowStep(info, *_SCREENS[info.id]) for info in STEPS)

BY_ID: dict[str, FlowStep] = {step.id: step for step in FLOW}
