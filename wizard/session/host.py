"""Host-derived defaults, decided once from facts gathered once, for every front end.

A `Session` never probes the box itself: it is handed a `HostDefaults` made
from one probe (`HostDefaults.probe`), and asks it what the box makes obvious
(the backend, the persistence, the WAN interface) for every value the
operator's inputs left at its default. Swapping the decision (a smarter one,
with reasons) is a change to this module alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from wizard.model import Setup
from wizard.questions import Context, host_defaults
from wizard.system.detect import SOURCE_DETECTED, apply_detected, detect
from wizard.system.detect import HostFacts as BoxFacts
from wizard.system.interfaces import HostInterface
from wizard.system.paths import Root


@dataclass(frozen=True)
class HostDefaults:
    """What the box says about the choices the operator did not make.

    Attributes:
        facts: what `wizard.system.detect` found under the target root (None: nothing
            is known, e.g. a test that wants the inputs' own defaults).
        context: the host's interfaces, for the WAN/LAN choices and the NAT hint
            (empty: the interfaces are not known yet, or not asked for).
    """

    facts: BoxFacts | None = None
    context: Context = field(default_factory=Context)

    @classmethod
    def probe(cls, root: Root, interfaces: Sequence[HostInterface] = ()) -> HostDefaults:
        """Read the target once (files only, no command): the one probe a session uses."""
        return cls(detect(root, run=None), Context(tuple(interfaces)))

    def with_interfaces(self, interfaces: Sequence[HostInterface]) -> HostDefaults:
        """The same facts with interfaces that arrived later (the TUI lists them in a thread)."""
        return replace(self, context=Context(tuple(interfaces)))

    def __call__(self, setup: Setup, sources: Mapping[str, str]) -> tuple[Setup, dict[str, str]]:
        """`setup` with every default the box decides filled in, and the sources marked so.

        A value the operator gave (answers file, a screen, a prompt) is never
        replaced: only values whose source is still "default" (backend,
        persistence), or the WAN interface unless an answers file named it.
        """
        chosen = dict(sources)
        if self.facts is not None:
            setup, chosen = apply_detected(setup, chosen, self.facts)
        wan = host_defaults(setup, self.context, chosen)
        if wan is not setup:
            chosen["choices.physical_interface"] = SOURCE_DETECTED
        return wan, chosen
