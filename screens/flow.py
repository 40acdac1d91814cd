"""Which screen draws each step of the catalogue (`wizard.steps`), in the catalogue's order.

Titles, help and the problem paths of a step are the catalogue's, shared with
plain mode, `vpn-wizard plan` and the docs; this module only adds the screens.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from screens.base import FlowStep, StepScreen
from wizard.steps import STEPS


def _lazy(module: str, name: str, *args: int) -> Callable[[FlowStep], StepScreen]:
    """Builds the screen `module.name`, importing its module on the first visit.

    Only the first step's screen is needed for the first frame: importing all
    thirteen (and the review's previews, the apply run, the status readers they
    pull in) before it would make the operator wait for screens they may never open.
    """

    def make(step: FlowStep) -> StepScreen:
        screen: StepScreen = getattr(import_module(module), name)(step, *args)
        return screen

    return make


#: Step id -> the screen that draws it (and whether it is kept between visits).
_SCREENS: dict[str, tuple[Callable[[FlowStep], StepScreen], bool]] = {
    "welcome": (_lazy("screens.welcome", "WelcomeScreen"), True),
    "import": (_lazy("screens.import_file", "ImportScreen"), True),
    "forwarding": (_lazy("screens.forwarding", "ForwardingScreen"), True),
    "tunnel1": (_lazy("screens.tunnel", "TunnelScreen", 0), True),
    "tunnel2": (_lazy("screens.tunnel", "TunnelScreen", 1), True),
    "mode": (_lazy("screens.mode", "ModeScreen"), True),
    "interfaces": (_lazy("screens.interfaces", "InterfacesScreen"), True),
    "vpc": (_lazy("screens.vpc", "VpcScreen"), True),
    "persistence": (_lazy("screens.persistence", "PersistenceScreen"), True),
    "heartbeat": (_lazy("screens.heartbeat", "HeartbeatScreen"), True),
    "review": (_lazy("screens.review", "ReviewScreen"), False),
    "apply": (_lazy("screens.apply", "ApplyScreen"), False),
    "status": (_lazy("screens.status_step", "StatusStepScreen"), False),
}

FLOW: tuple[FlowStep, ...] = tuple(FlowStep(info, *_SCREENS[info.id]) for info in STEPS)

BY_ID: dict[str, FlowStep] = {step.id: step for step in FLOW}
