"""iptables rules, through the `iptables` command and argv lists only.

`-C` before `-A` makes a re-run add nothing twice; `-w` waits for the xtables
lock instead of failing when strongSwan's updown script holds it. Whichever
backend `iptables` points at (legacy or nf_tables) is used as it is.

An apply checks several rules of one table in a row. `surely_absent` lists
the table once (`iptables -S`) and rules out, without a `-C` each, every
rule that no listed line could be: `iptables -S` prints interface names and
targets as given and addresses as networks, so a line equal to the rule must
carry those words. Anything less certain is left to `-C`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from ipaddress import ip_network

from wizard.system.base import HostError, run_argv

_VERBATIM = {"-i": "-i", "--in-interface": "-i", "-o": "-o", "--out-interface": "-o",
             "-j": "-j", "--jump": "-j"}
"""Options whose value `iptables -S` prints unchanged, by the short name it prints."""
_ADDRESS = {"-s": "-s", "--source": "-s", "-d": "-d", "--destination": "-d"}
"""Options whose value it prints as a network: 198.51.100.1 as 198.51.100.1/32."""


def listed_words(rule: Sequence[str]) -> set[tuple[str, str]]:
    """The (option, value) pairs any `iptables -S` line equal to `rule` must contain."""
    words: set[tuple[str, str]] = set()
    for option, value in itertools.pairwise(rule):
        if option in _VERBATIM:
            words.add((_VERBATIM[option], value))
        elif option in _ADDRESS and "," not in value:
            try:
                words.add((_ADDRESS[option], str(ip_network(value, strict=False))))
            except ValueError:
                continue  # a host name: printed resolved, so not a word to look for
    return words


def could_be(line: Sequence[str], chain: str, words: set[tuple[str, str]]) -> bool:
    """Whether one `iptables -S` line (split) in `chain` may be the rule with `words`."""
    if len(line) < 2 or line[0] != "-A" or line[1] != chain:
        return False
    return words <= set(itertools.pairwise(line))


class CommandIptables:
    """The real `iptables`."""

    def __init__(self, log: list[str], binary: str = "iptables") -> None:
        self.log = log
        self.binary = binary
        self._listed: dict[str, list[list[str]]] = {}
        """table -> its lines as first listed, plus the rules this object appended since."""

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
        """No line of the table's listing could be `rule` (see the module's docstring).

        The table is listed once per object (one command run); rules appended
        through this object are added to that listing, so checking one again
        goes to `-C`. A rule someone else adds meanwhile is not seen: at worst
        it is appended twice, and uninstall deletes every copy.
        """
        words = listed_words(rule)
        if not words:
            return False
        if table not in self._listed:
            proc = run_argv([self.binary, "-w", "-t", table, "-S"], [], check=False)
            if proc.returncode != 0:
                return False  # `-C` says what is wrong, as before
            self._listed[table] = [line.split() for line in proc.stdout.splitlines()]
        return not any(could_be(line, chain, words) for line in self._listed[table])

    def append(self, table: str, chain: str, rule: Sequence[str]) -> None:
        run_argv(self._argv(table, "-A", chain, rule), self.log)
        if table in self._listed:
            # As the listing would print it, as far as `could_be` looks.
            words = sorted(listed_words(rule))
            self._listed[table].append(["-A", chain, *(w for pair in words for w in pair)])

    def delete(self, table: str, chain: str, rule: Sequence[str]) -> None:
        run_argv(self._argv(table, "-D", chain, rule), self.log)
