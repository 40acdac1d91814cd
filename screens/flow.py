"""Which screen draws each step of the catalogue (`wizard.steps`), in the catalogue's order.

Titles, help and the problem paths of a step are the catalogue's, shared with
plain mode, `vpn-wizard plan` and the docs; this module only adds the screens.
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
from wizard.steps import STEPS, StepInfo


@dataclass(frozen=True)
class FlowStep:
    """One step of the wizard: the catalogue's entry (`wizard.steps`) and the screen that draws it.

    Attributes:
        info: id, title, help and problem paths, as every front end knows the step.
        make: builds the screen (a fresh one on every visit, prefilled from the model).
        cached: the screen is built once and kept, so going back and forth is
            instant; the review, apply and status steps are rebuilt on every visit
            because what they show is made when they open.
    """

    info: StepInfo
    make: Callable[[FlowStep], StepScreen]
    cached: bool = True

    @property
    def id(self) -> str:
        """The screen's DOM id and the catalogue's key."""
        return self.info.id

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def help(self) -> str:
        return self.info.help

    @property
    def needs_setup(self) -> bool:
        return self.info.needs_setup

    @property
    def wheres(self) -> tuple[str, ...]:
        return self.info.wheres


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
