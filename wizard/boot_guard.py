"""`vpn-wizard boot-guard`: at boot, roll back what a previous boot left unconfirmed.

Run by `vpn-wizard-boot-guard.service` (see `wizard.render.boot_guard` for
why it exists and where it sits in the boot). The rule is simple and needs
no clock but the kernel's: a transaction that is still "pending-confirm" or
"applying" and *began before this boot* can never be confirmed any more (its
wizard and its revert timer died with the power), so it is rolled back now,
before the network and strongSwan read the files it wrote. A transaction of
this boot belongs to a live wizard and its timer: the guard leaves it alone,
so starting the unit by hand is harmless. Then the guard removes itself,
unless a transaction is still pending.
"""

from __future__ import annotations

from wizard.engine.journal import Journal, unfinished
from wizard.engine.records import FileUndo, UndoRecordError, from_json
from wizard.engine.transaction import rollback
from wizard.render import boot_guard as boot_unit
from wizard.system import System, boot
from wizard.system.paths import Root

UNSETTLED = ("applying", "pending-confirm", "rolling-back", "rollback-failed")


def run(root: Root, *, now_boot: float | None = None) -> tuple[int, str]:
    """Do the guard's job under `root`; returns (exit status, what happened)."""
    booted = boot.boot_time() if now_boot is None else now_boot
    journal = unfinished(root)
    if journal is None or journal.state not in UNSETTLED:
        boot.disarm(root, boot_unit.UNIT, boot_unit.WANTS_LINK)
        return 0, "nothing left unconfirmed: the guard removed itself"
    began = float(journal.begin_record().get("time", 0))
    if began >= booted:
        return 0, f"{journal.id} belongs to this boot's wizard: left to its revert timer"
    system = System.real(root)
    if root.is_host:
        # Under --root the kernel and daemons are simulated: nothing to keep from waiting.
        system = boot.boot_system(system)
    try:
        touched_netplan = _touched_netplan(journal)
        result = rollback(system, journal.id, only_if=UNSETTLED, wait=10.0)
        if result.ok and touched_netplan:
            boot.regenerate_netplan(system.log)
    finally:
        system.close()
    if not result.ok:
        return 1, (f"{journal.id} was left unconfirmed by an earlier boot; its rollback "
                   f"failed: {result.error} (see 'vpn-wizard rollback')")
    boot.disarm(root, boot_unit.UNIT, boot_unit.WANTS_LINK)
    return 0, (f"{journal.id} was left unconfirmed by an earlier boot (power lost before "
               "'vpn-wizard confirm'): rolled back before the network and strongSwan started")


def _touched_netplan(journal: Journal) -> bool:
    """Whether any action of `journal` wrote under /etc/netplan (netplan must then regenerate)."""
    for entry in journal.records():
        if entry.get("type") != "intent":
            continue
        try:
            record = from_json(entry.get("undo"), f"journal entry {entry.get('index')}")
        except UndoRecordError:
            continue  # the rollback refuses that journal, and says which entry
        if isinstance(record, FileUndo) and record.path.startswith("/etc/netplan/"):
            return True
    return False


def main(root: str = "/") -> int:
    """The CLI's entry point: say what happened on the console and the journal."""
    status, message = run(Root(root))
    print(f"vpn-wizard boot-guard: {message}", flush=True)
    return status
