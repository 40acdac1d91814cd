"""iptables rules, through the `iptables` command and argv lists only.

`-C` before `-A` makes a re-run add nothing twice; `-w` waits for the xtables
lock instead of failing when strongSwan's updown script holds it. Whichever
backend `iptables` points at (legacy or nf_tables) is used as it is.

An apply checks several rules of one table in a row. `surely_absent` lists
the table once (`iptables -S`) and rules out, without a `-C` each, every
rule the listing does not hold, compared the way the status panel compares
them (`iptables_status.normalise`: `-S` reorders matches, spells out `-m tcp`,
prints addresses as networks and marks in hex). A rule it finds still goes
to `-C`, and removal always does.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.system.base import HostError, run_argv
from wizard.system.iptables_status import Rule, normalise, parse_rules


class CommandIptables:
    """The real `iptables`."""

    def __init__(self, log: list[str], binary: str = "iptables") -> None:
        self.log = log
        self.binary = binary
        self._listed: dict[str, set[Rule]] = {}
        """table -> its rules as first listed, plus the rules this object appended since."""

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

    def surely_absent(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        """The table's listing does not hold `rule` (see the module's docstring).

        The table is listed once per object (one command run); rules appended
        through this object are added to that listing, so checking one again
        goes to `-C`. A rule someone else adds meanwhile is not seen: at worst
        it is appended twice, and uninstall deletes every copy.
        """
        if table not in self._listed:
            proc = run_argv([self.binary, "-w", "-t", table, "-S"], [], check=False)
            if proc.returncode != 0:
                return False  # `-C` says what is wrong, as before
            self._listed[table] = set(parse_rules(proc.stdout.splitlines()))
        return normalise(chain, rule) not in self._listed[table]

    def append(self, table: str, chain: str, rule: Sequence[str]) -> None:
        run_argv(self._argv(table, "-A", chain, rule), self.log)
        if table in self._listed:
            self._listed[table].add(normalise(chain, rule))

    def delete(self, table: str, chain: str, rule: Sequence[str]) -> None:
        run_argv(self._argv(table, "-D", chain, rule), self.log)
