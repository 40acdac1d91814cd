"""The layer that drives the core, under every front end (TUI, plain prompts, CLI).

- `Session` (state.py): what the operator said and where each value came from,
  drafts, per-step problems, apply blockers, the plan, saving answers.
- `HostDefaults` (host.py): the host-derived defaults, from one probe.
- `ApplyRun`, `Outcome` (run.py): one apply, its keep or revert, as data with sentences.

The step catalogue the front ends draw from is `wizard.steps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wizard.session.confirm import CONFIRM_SECONDS
from wizard.system.lazy import lazy_names

if TYPE_CHECKING:
    from wizard.session.host import HostDefaults
    from wizard.session.run import ApplyRun, Outcome, needs_root
    from wizard.session.state import Session

# Imported when first named: `vpn-wizard plan` needs a Session but never an
# ApplyRun (the engine, the journal, the adapters), and the TUI's first frame
# needs neither.
_LAZY = {
    "HostDefaults": "wizard.session.host",
    "ApplyRun": "wizard.session.run",
    "Outcome": "wizard.session.run",
    "needs_root": "wizard.session.run",
    "Session": "wizard.session.state",
}


__getattr__ = lazy_names(__name__, _LAZY)

__all__ = ["CONFIRM_SECONDS", "ApplyRun", "HostDefaults", "Outcome", "Session", "needs_root"]
