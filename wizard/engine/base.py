"""What adapters and the transaction runner share: the context, a prepared action, the contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wizard.engine.journal import Journal
from wizard.engine.records import UndoRecord
from wizard.system import System

PHASE_NOW, PHASE_DAEMON_RELOAD, PHASE_UNIT_RESTART, PHASE_STRONGSWAN, PHASE_SWANCTL = range(5)
"""When an undo runs in a rollback: at once (newest first), or after every file is back.

The daemons (systemd, a unit, strongSwan) are restarted last, once the
configuration they read is restored, so they never load a half-restored file.
"""


@dataclass(frozen=True)
class Prepared:
    """What looking at the host decided for one action."""

    already: bool = False
    """The effect is in place: nothing to do, nothing to undo."""
    skipped: str | None = None
    """Cannot be done on this host, and that is not an error (no systemd); why."""
    undo: UndoRecord | None = None
    """How to put it back, journaled before `do` runs."""
    do: Callable[[], None] | None = None


@dataclass
class ActionContext:
    """What the actions of one transaction share."""

    system: System
    journal: Journal
    conns: tuple[str, ...] = ()
    changed: bool = False
    """Anything in the transaction changed so far."""
    step_changed: bool = False
    """Anything in the current step changed so far."""
    written: set[str] = field(default_factory=set)
    """The files written or removed so far: whether strongSwan must read its configuration
    again depends on which (`reads_changed`), not on whether anything changed."""


#: What the IKE daemon reads from disk: a change under these needs a (re)load, nothing else does.
STRONGSWAN_READS = ("/etc/ipsec.conf", "/etc/ipsec.secrets", "/etc/strongswan.conf",
                    "/etc/strongswan.d/", "/etc/swanctl/", "/etc/ipsec.d/")
#: What a load into the running daemon does not apply: charon's settings (read at start)
#: and the updown script (run again only when the tunnels come up again).
CHARON_SETTINGS = ("/etc/strongswan.conf", "/etc/strongswan.d/", "/etc/ipsec.d/")


def reads_changed(ctx: ActionContext, prefixes: tuple[str, ...] = STRONGSWAN_READS) -> bool:
    """Whether this transaction changed a file under `prefixes` (a path or a directory/)."""
    return any(path == p or (p.endswith("/") and path.startswith(p))
               for path in ctx.written for p in prefixes)


class Adapter:
    """One family of operations: how each is looked at, done, undone and previewed.

    Subclasses list the operation types they prepare (`ops`) and the undo
    records they run (`records`); every operation type and every record type
    has exactly one adapter (checked when the registry is built), so there is
    one place that knows how a thing is done and how it is put back.
    """

    ops: ClassVar[tuple[type, ...]] = ()
    records: ClassVar[tuple[type, ...]] = ()

    def prepare(self, op: Any, index: int, ctx: ActionContext) -> Prepared:
        """Look at the host: in place already, skipped, or what to do and its undo record."""
        raise NotImplementedError

    def undo(self, record: Any, system: System, journal: Journal) -> None:
        """Put the host back as `record` says; harmless when there is nothing to undo."""
        raise NotImplementedError

    def undo_argv(self, op: Any) -> tuple[str, ...]:
        """How the preview says `op` is undone (the command its undo record runs)."""
        raise NotImplementedError

    def phase(self, record: Any) -> int:
        """When `record` runs in a rollback (see PHASE_*)."""
        return PHASE_NOW
