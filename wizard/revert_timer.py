"""The revert timer: rolls an apply back unless it is confirmed in time, whatever happens to us.

Like `netplan try`, but it must outlive the wizard: an operator whose SSH
session dies because the new tunnels took the route to their own address
cannot type `confirm`, and the wizard that was waiting died with the session.
So `apply_plan(..., confirm_timeout=T)` starts this module as a detached
process *before the first change* (`start_new_session=True`: its own session,
no controlling terminal, so neither SIGHUP nor the death of the wizard's
process group reaches it), and it watches the transaction's journal:

* "pending-confirm" and the deadline has passed -> roll back;
* "applying" but nobody holds the wizard's lock -> the wizard died mid-apply
  -> roll back at once;
* "confirmed", "applied" or "rolled-back" -> nothing to do, exit.

`vpn-wizard confirm` records "confirmed" and then stops the timer; the lock
makes confirm and revert mutually exclusive, so exactly one of them wins.

The parent side (start it, stop it) is `wizard.system.revert_process`; this module is
only the child, so it may use the engine without a cycle.

Usage (started by the engine, not by people):
    python -m wizard.revert_timer --root / --transaction ID
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence

from wizard.engine.journal import Journal, lock_is_free
from wizard.engine.transaction import rollback
from wizard.system import System
from wizard.system.paths import Root

POLL = 0.25


def watch(root: Root, transaction: str, *, poll: float = POLL) -> str:
    """Wait until the transaction is settled; roll it back if it must be. Returns the outcome."""
    journal = Journal(root, transaction)
    while True:
        if not journal.path.exists():
            return "journal gone"
        state = journal.last_state()
        name = state["state"]
        if name in ("applied", "confirmed", "rolled-back", "rollback-failed"):
            return name
        due = name == "pending-confirm" and time.time() >= float(state.get("deadline", 0))
        orphaned = name in ("applying", "rolling-back") and lock_is_free(root)
        if due or orphaned:
            why = "not confirmed in time" if due else "the wizard died while applying"
            # Said before acting, so the log explains a rollback even if this process dies in it.
            print(f"revert timer: {transaction}: {why}; rolling back", flush=True)
            system = System.real(root)
            try:
                result = rollback(
                    system, transaction,
                    only_if=("pending-confirm",) if due else ("applying", "rolling-back"),
                    wait=120.0,
                )
            finally:
                system.close()
            print(f"revert timer: {transaction}: {why}; rolled back: ok={result.ok} "
                  f"{result.error or ''}", flush=True)
            if result.transaction is None or not result.changed:
                # The state moved on under the lock (a confirmation won): look again.
                continue
            return "rolled-back" if result.ok else "rollback-failed"
        time.sleep(poll)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wizard.revert_timer")
    parser.add_argument("--root", default="/")
    parser.add_argument("--transaction", required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    outcome = watch(Root(args.root), args.transaction)
    print(f"revert timer: {args.transaction}: {outcome}", flush=True)
    return 0 if outcome != "rollback-failed" else 1


if __name__ == "__main__":
    sys.exit(main())
