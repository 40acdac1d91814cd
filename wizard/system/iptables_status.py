"""The mangle rules as they are, read through `iptables -t mangle -S`.

Reading: one `iptables -t mangle -S` per refresh. python-iptables is not a
dependency of the project, and it binds libiptc, which sees only the legacy
tables: on a distribution whose `iptables` is the nf_tables flavour (Debian
and Ubuntu's default) it would report every rule missing. The `iptables`
command is right in both worlds.

`-S` prints rules normalised (`-s 198.51.100.1/32`, `-m tcp`, `--set-xmark
0x64/0xffffffff`), so `rule_present` compares rules after normalising both
sides the same way; it is pure and tested on recorded output.

Reading only. The failover test's rule (the AWS document's `iptables -A
INPUT -s <VGW PUBLIC IP> -j DROP`) is added and removed through a `System`'s
iptables adapter, like every other change (`wizard.status.live.LiveStatus`), so
a dry run records it and `--root` simulates it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network

from wizard.system.base import HostError, run_argv

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]
SOURCE = "iptables -t mangle -S"

# Matches that `-S` spells out although the rule was added without them.
_IMPLICIT_MATCHES = {("-m", "tcp"), ("-m", "udp"), ("-m", "esp"), ("-m", "icmp")}


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Through the one command helper (`run_argv`); reads only, so nothing is logged."""
    return run_argv(argv, [], check=False, timeout=15)


def _mark(value: str) -> str:
    """"100" and "0x64/0xffffffff" are the same mark."""
    number, _, mask = value.partition("/")
    return f"{int(number, 0):#x}/{int(mask, 0) if mask else 0xFFFFFFFF:#x}"


def _address(value: str) -> str:
    try:
        return str(IPv4Network(value, strict=False))
    except ValueError:
        return value


def normalise(chain: str, rule: Sequence[str]) -> tuple[str, frozenset[tuple[str, ...]]]:
    """A rule as (chain, set of (option, arguments...)), the form `-S` and `-A` agree on.

    Options are grouped with the words that follow them up to the next
    option; order is ignored because `-S` reorders matches.
    """
    groups: list[list[str]] = []
    for word in rule:
        if word.startswith("-") and not word[1:].isdigit():
            groups.append([word])
        elif groups:
            groups[-1].append(word)
        else:
            groups.append([word])
    out = set()
    for group in groups:
        option, args = group[0], group[1:]
        if option in ("-s", "--source", "-d", "--destination") and args:
            option = "-s" if option in ("-s", "--source") else "-d"
            args = [_address(args[0]), *args[1:]]
        elif option in ("--set-xmark", "--set-mark") and args:
            option = "--set-xmark"
            args = [_mark(args[0])]
        elif option == "--protocol":
            option = "-p"
        pair = (option, *args)
        if pair in _IMPLICIT_MATCHES:
            continue
        out.add(pair)
    return chain, frozenset(out)


def parse_rules(lines: Sequence[str]) -> list[tuple[str, frozenset[tuple[str, ...]]]]:
    """The `-A CHAIN ...` lines of `iptables -S` output, normalised."""
    rules = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "-A":
            rules.append(normalise(words[1], words[2:]))
    return rules


def rule_present(lines: Sequence[str], chain: str, rule: Sequence[str]) -> bool:
    """Whether `-S` output `lines` holds the rule `iptables -A CHAIN RULE...` would add."""
    return normalise(chain, rule) in parse_rules(lines)


def read_mangle(run: Runner = _run, binary: str = "iptables") -> tuple[list[str] | None, str]:
    """The mangle table's rules as `-S` lines, and what was used; (None, why) if unreadable."""
    if run is _run and shutil.which(binary) is None:
        return None, f"{binary} is not installed"
    try:
        proc = run([binary, "-t", "mangle", "-S"])
    except (HostError, OSError) as err:
        return None, f"{binary} -t mangle -S failed: {err}"
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        return None, f"{binary} -t mangle -S failed: {reason}"
    return proc.stdout.splitlines(), SOURCE
