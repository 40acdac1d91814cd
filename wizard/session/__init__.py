"""The layer that drives the core, under every front end (TUI, plain prompts, CLI).

- `Session` (state.py): what the operator said and where each value came from,
  drafts, per-step problems, apply blockers, the plan, saving answers.
- `HostDefaults` (host.py): the host-derived defaults, from one probe.
- `ApplyRun`, `Outcome` (run.py): one apply, its keep or revert, as data with sentences.

The step catalogue the front ends draw from is `wizard.steps`.
"""

from wizard.session.host import HostDefaults
from wizard.session.run import CONFIRM_SECONDS, ApplyRun, Outcome, needs_root
from wizard.session.state import Session

__all__ = ["CONFIRM_SECONDS", "ApplyRun", "HostDefaults", "Outcome", "Session", "needs_root"]
