"""iptables rules, through the `iptables` command and argv lists only.

`-C` before `-A` makes a re-run add nothing twice; `-w` waits for the xtables
lock instead of failing when strongSwan's updown script holds it. Whichever
backend `iptables` points at (legacy or nf_tables) is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.system.base import HostError, run_argv


class CommandIptables:
    """The real `iptables`."""

    def __init__(self, log: list[str], binary: str = "iptables") -> None:
        self.log = log
        self.binary = binary

    def _argv(self, table: str, flag: str, chain: str, rule: Sequence[str]) -> list[str]:
        return [self.binary, "-w", "-t", table, flag, chain, *rule]

    def present(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        # Checks are not changes: they stay out of the log of what was done.
        proc = run_argv(self._argv(table, "-C", chain, rule), [], check=False)
        if proc.returncode in (0, 1):
            return proc.returncode == 0
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise HostError(
            f"iptables -t {table} -C {chain} {' '.join(rule)} exited {proc.returncode}"
            + (f": {detail[-1]}" if detail else "")
        )

    def append(self, table: str, chain: str, rule: Sequence[str]) -> None:
        run_argv(self._argv(table, "-A", chain, rule), self.log)

    def delete(self, table: str, chain: str, rule: Sequence[str]) -> None:
        run_argv(self._argv(table, "-D", chain, rule), self.log)
