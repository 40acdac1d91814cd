"""Host-derived defaults, decided once from facts gathered once, for every front end.

A `Session` never probes the box itself: it is handed a `HostDefaults` made
from one probe (`HostDefaults.probe`, or facts a front end already has), and
asks it what the box makes obvious (the backend, the persistence, the WAN
interface, behind-NAT and its private address) for every value the
operator's inputs left at its default, and which interface choices cannot
work on this box. The decisions themselves, each with its reason, are
`wizard.host_defaults`'; the checks are `wizard.preflight.interface_problems`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from wizard import host_defaults as decisions
from wizard.model import Choices, Problem, Setup
from wizard.preflight import interface_problems
from wizard.questions import Context
from wizard.system.host import HostFacts, probe
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root


@dataclass(frozen=True)
class HostDefaults:
    """What the box says about the choices the operator did not make.

    Attributes:
        facts: what the probe found under the target root (None: nothing is
            known, e.g. a test that wants the inputs' own defaults).
        context: the host's interfaces, for the WAN/LAN choices and the NAT hint
            (empty: the interfaces are not known yet, or not asked for).
    """

    facts: HostFacts | None = None
    context: Context = field(default_factory=Context)

    @classmethod
    def probe(cls, root: Root, interfaces: Sequence[HostInterface] = (), *,
              facts: HostFacts | None = None) -> HostDefaults:
        """The one probe a session uses: `facts` if the front end has them, else files only."""
        found = facts if facts is not None else probe(root, commands=False)
        return cls(found, Context(tuple(interfaces), host=found))

    def with_interfaces(self, interfaces: Sequence[HostInterface]) -> HostDefaults:
        """The same facts with interfaces that arrived later (the TUI lists them in a thread)."""
        return replace(self, context=Context(tuple(interfaces), host=self.facts))

    def __call__(self, setup: Setup, sources: Mapping[str, str]) -> tuple[Setup, dict[str, str]]:
        """`setup` with every default the box decides filled in, and the sources marked so.

        A value the operator gave (answers file, a screen, a prompt) is never
        replaced: only values whose source is still "default" or "detected".
        Without the probe's facts only the interface-derived choices move.
        """
        facts = self.context.facts()
        if facts is None:
            return setup, dict(sources)
        keys = (decisions.KEYS if self.facts is not None
                else ("physical_interface", "local_ip"))
        return decisions.host_defaults(facts, setup, sources, keys)

    def reasons(self, setup: Setup) -> dict[str, str]:
        """Question id -> why the box proposes its default (empty while nothing is known)."""
        facts = self.context.facts()
        if facts is None or self.facts is None:
            return {}
        return decisions.decide(facts, setup.connection,
                                wan=setup.choices.physical_interface).reasons()

    def problems(self, choices: Choices) -> list[Problem]:
        """Interface choices this box cannot honour (a missing WAN, a private address on no
        interface...), as errors or warnings with the fix; none while nothing is known."""
        facts = self.context.facts()
        return interface_problems(facts, choices) if facts is not None else []
