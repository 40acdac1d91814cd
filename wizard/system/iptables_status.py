"""The mangle rules as they are, read through `iptables -t mangle -S` when they changed.

Reading: `iptables -t mangle -S`. python-iptables is not a dependency of the
project, and it binds libiptc, which sees only the legacy tables: on a
distribution whose `iptables` is the nf_tables flavour (Debian and Ubuntu's
default) it would report every rule missing. The `iptables` command is right
in both worlds.

Starting that process was most of a status refresh's CPU (under UML, half of
it), and the rules almost never change. So `MangleReader`, which the status
panel keeps from one refresh to the next, asks the kernel first whether
anything changed, in the backend the `iptables` command uses, and runs `-S`
only when it did:

* nf_tables (`iptables-nft`): the ruleset's generation id, one netlink
  message on a kept `NETLINK_NETFILTER` socket (`NFT_MSG_GETGEN`). The kernel
  bumps it on every committed change to any table of the network namespace.
* legacy (`iptables-legacy`): the mangle table's whole content, two
  `getsockopt` calls on a kept raw socket (`IPT_SO_GET_INFO`,
  `IPT_SO_GET_ENTRIES`, what libiptc itself reads), with the packet and byte
  counters blanked. Equal content is an equal `-S`.

Each is read before and after `-S`, and the answer is kept only when both
agree, so a change made while `-S` ran is read again at the next refresh.
When neither can be asked (an `iptables` that is neither flavour, no
privilege, a kernel without the interface), `-S` runs at every refresh, as
before, and `MangleReader.watch` says why.

`-S` prints rules normalised (`-s 198.51.100.1/32`, `-m tcp`, `--set-xmark
0x64/0xffffffff`), so `rule_present` compares rules after normalising both
sides the same way; it is pure and tested on recorded output.

Reading only. The failover test's rule (the AWS document's `iptables -A
INPUT -s <VGW PUBLIC IP> -j DROP`) is added and removed through a `System`'s
iptables adapter, like every other change (`wizard.status.live.LiveStatus`), so
a dry run records it and `--root` simulates it.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network
from typing import Protocol

from wizard.system.base import HostError, run_argv

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]
SOURCE = "iptables -t mangle -S"
Rule = tuple[str, frozenset[tuple[str, ...]]]

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


def normalise(chain: str, rule: Sequence[str]) -> Rule:
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


def parse_rules(lines: Sequence[str]) -> list[Rule]:
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


class MangleRules(list[str]):
    """`-S` lines that also answer `rule_present` from one parse (a refresh checks several).

    A list of the lines, so everything that takes `-S` output takes it; it
    is made once per change of the table and shared by the refreshes after.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__(lines)
        self.rules = frozenset(parse_rules(self))

    def present(self, chain: str, rule: Sequence[str]) -> bool:
        """As `rule_present(self, chain, rule)`."""
        return _normalised(chain, tuple(rule)) in self.rules


@functools.lru_cache(maxsize=256)
def _normalised(chain: str, rule: tuple[str, ...]) -> Rule:
    """`normalise`, remembered: the expected rules are the same at every refresh."""
    return normalise(chain, rule)


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


# -- telling a change without running iptables ---------------------------------------------

EVERY_REFRESH = "none: iptables -t mangle -S runs at every refresh"


class ChangeProbe(Protocol):
    """Something the kernel answers that changes whenever `iptables -t mangle -S` would."""

    what: str
    """How the change is told, for `MangleReader.watch`."""

    def token(self) -> object:
        """Equal tokens mean `-S` prints the same. Raises OSError/ValueError if unreadable."""
        ...

    def close(self) -> None: ...


def backend(binary_path: str) -> str | None:
    """"nft" or "legacy" from where the `iptables` command really is; None when it does not say.

    Debian, Ubuntu, Fedora and Arch all point `iptables` (through
    /etc/alternatives or not) at `xtables-nft-multi`/`iptables-nft` or
    `xtables-legacy-multi`/`iptables-legacy`; the name of the file the link
    ends at is the backend, with no process to run.
    """
    name = os.path.basename(os.path.realpath(binary_path))
    if "nft" in name:
        return "nft"
    if "legacy" in name:
        return "legacy"
    return None


# nf_tables: the generation id (linux/netfilter/nf_tables.h, nfnetlink.h, netlink.h).
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
NFT_MSG_GETGEN = 16
NFTA_GEN_ID = 1
NLM_F_REQUEST = 0x1
NLMSG_ERROR = 0x2
_NLMSG = struct.Struct("=IHHII")
_NFGEN = struct.Struct("=BBH")
_NLA = struct.Struct("=HH")


def getgen_request(seq: int) -> bytes:
    """One `NFT_MSG_GETGEN` request: a netlink header and an empty nfgenmsg."""
    kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN
    return _NLMSG.pack(_NLMSG.size + _NFGEN.size, kind, NLM_F_REQUEST, seq, 0) + _NFGEN.pack(
        socket.AF_UNSPEC, 0, 0
    )


def generation_from_reply(data: bytes, seq: int) -> int:
    """The ruleset generation in a reply to `getgen_request(seq)`. Pure.

    Raises:
        OSError: the kernel answered with an error (no nf_tables, no privilege).
        ValueError: no answer to this request in `data`, or a malformed one.
    """
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, kind, _flags, got_seq, _pid = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size or offset + length > len(data):
            raise ValueError(f"netlink message of length {length} at {offset}")
        body = offset + _NLMSG.size
        if got_seq == seq and kind == NLMSG_ERROR:
            code = struct.unpack_from("=i", data, body)[0] if length >= _NLMSG.size + 4 else 0
            raise OSError(-code, f"NFT_MSG_GETGEN: {os.strerror(-code)}")
        if got_seq == seq and kind == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
            attr = body + _NFGEN.size
            end = offset + length
            while attr + _NLA.size <= end:
                size, nla_type = _NLA.unpack_from(data, attr)
                if size < _NLA.size:
                    break
                if nla_type & 0x3FFF == NFTA_GEN_ID and size >= _NLA.size + 4:
                    return int(struct.unpack_from(">I", data, attr + _NLA.size)[0])
                attr += (size + 3) & ~3
            raise ValueError("NFT_MSG_NEWGEN without NFTA_GEN_ID")
        offset += (length + 3) & ~3
    raise ValueError("no answer to NFT_MSG_GETGEN")


class NftGeneration:
    """The nf_tables ruleset generation, on one kept `NETLINK_NETFILTER` socket.

    One 20-byte request and one small answer, parsed with `struct`: pyroute2's
    nftables socket would do the same through its event loop and a thread
    of its own, for one fixed message.
    """

    what = "nftables generation (NFT_MSG_GETGEN)"

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0

    def token(self) -> object:
        if self._sock is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
            sock.settimeout(5.0)
            self._sock = sock
        self._seq = self._seq % 0x7FFFFFFF + 1
        try:
            self._sock.send(getgen_request(self._seq))
            while True:  # answers to an earlier, timed-out request are skipped
                try:
                    return generation_from_reply(self._sock.recv(8192), self._seq)
                except ValueError as err:
                    if "no answer" not in str(err):
                        raise
        except (OSError, ValueError):
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# legacy: the table itself (linux/netfilter_ipv4/ip_tables.h).
SOL_IP = 0
IPT_SO_GET_INFO = 64
IPT_SO_GET_ENTRIES = 65
IPT_ENTRY_NEXT_OFFSET = 90
"""`next_offset` (u16) in `struct ipt_entry`: `struct ipt_ip` (84), nfcache, target_offset."""
IPT_ENTRY_COUNTERS = 96
"""`struct xt_counters` (two u64) in `struct ipt_entry`, after next_offset and comefrom."""
IPT_ENTRY_SIZE = 112
NF_INET_NUMHOOKS = 5


class _GetInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * 32),
        ("valid_hooks", ctypes.c_uint),
        ("hook_entry", ctypes.c_uint * NF_INET_NUMHOOKS),
        ("underflow", ctypes.c_uint * NF_INET_NUMHOOKS),
        ("num_entries", ctypes.c_uint),
        ("size", ctypes.c_uint),
    ]


class _GetEntries(ctypes.Structure):
    # `struct ipt_entry entrytable[]` follows, aligned as a u64 is on this machine.
    _fields_ = [("name", ctypes.c_char * 32), ("size", ctypes.c_uint),
                ("entrytable", ctypes.c_uint64 * 0)]


def table_fingerprint(info: bytes, entries: bytes) -> bytes:
    """The table's content without its packet and byte counters: equal means equal rules. Pure.

    `info` is `struct ipt_getinfo` after its name (hooks, underflows, entry
    count, size); `entries` the `struct ipt_entry` blob `IPT_SO_GET_ENTRIES`
    returns, whose matches and targets the kernel hands out by name, with
    their private parts cleared.

    Raises:
        ValueError: an entry's `next_offset` does not fit the blob.
    """
    blob = bytearray(entries)
    offset = 0
    while offset < len(blob):
        if offset + IPT_ENTRY_SIZE > len(blob):
            raise ValueError(f"ipt_entry at {offset} overruns the table ({len(blob)} bytes)")
        step = struct.unpack_from("=H", blob, offset + IPT_ENTRY_NEXT_OFFSET)[0]
        if step < IPT_ENTRY_SIZE or offset + step > len(blob):
            raise ValueError(f"ipt_entry at {offset} has next_offset {step}")
        blob[offset + IPT_ENTRY_COUNTERS:offset + IPT_ENTRY_SIZE] = bytes(16)
        offset += step
    return bytes(info) + bytes(blob)


class LegacyTable:
    """A legacy iptables table's content, read as libiptc reads it, on one kept raw socket."""

    what = "the legacy mangle table's content (IPT_SO_GET_ENTRIES)"

    def __init__(self, table: str = "mangle") -> None:
        self.table = table.encode()
        self._sock: socket.socket | None = None
        self._libc: ctypes.CDLL | None = None

    def token(self) -> object:
        if self._sock is None:
            self._libc = ctypes.CDLL(None, use_errno=True)
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for _ in range(3):  # EAGAIN: the table changed between the two calls
            info = _GetInfo(name=self.table)
            self._getsockopt(IPT_SO_GET_INFO, info, ctypes.sizeof(info))
            buf = ctypes.create_string_buffer(ctypes.sizeof(_GetEntries) + info.size)
            head = _GetEntries.from_buffer(buf)
            head.name, head.size = self.table, info.size
            try:
                self._getsockopt(IPT_SO_GET_ENTRIES, buf, len(buf))
            except BlockingIOError:
                continue
            start = ctypes.sizeof(_GetEntries)
            return table_fingerprint(
                bytes(info)[_GetInfo.valid_hooks.offset:], buf.raw[start:start + info.size]
            )
        raise OSError(errno.EAGAIN, f"the {self.table.decode()} table kept changing")

    def _getsockopt(self, option: int, buf: ctypes.Array[ctypes.c_char] | ctypes.Structure,
                    size: int) -> None:
        assert self._sock is not None and self._libc is not None
        length = ctypes.c_uint(size)
        if self._libc.getsockopt(self._sock.fileno(), SOL_IP, option, ctypes.byref(buf),
                                 ctypes.byref(length)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"getsockopt {option}: {os.strerror(code)}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def probe_for(binary_path: str) -> ChangeProbe | None:
    """The change probe for the backend `binary_path` uses; None when it cannot be told."""
    kind = backend(binary_path)
    if kind == "nft":
        return NftGeneration()
    if kind == "legacy":
        return LegacyTable()
    return None


class MangleReader:
    """`read_mangle`, run again only when the kernel says the mangle rules changed.

    Kept by the status panel from one refresh to the next. Each `read` asks
    the probe (one netlink message, or two `getsockopt` calls; no process);
    when its answer is the one recorded with the last `-S` lines, those lines
    are still the table's and `-S` is not run. Otherwise `-S` runs, and its
    lines are kept only if the probe answered the same before and after (a
    change made meanwhile is read again next time).

    Args:
        binary: the iptables command.
        run: runs a command (tests hand in fakes).
        probe_factory: the probe for the resolved command (tests hand in
            fakes); `probe_for` picks it by backend, None for none.
    """

    def __init__(self, binary: str = "iptables", run: Runner = _run,
                 probe_factory: Callable[[str], ChangeProbe | None] = probe_for) -> None:
        self.binary = binary
        self._run = run
        self._factory = probe_factory
        self._probe: ChangeProbe | None = None
        self._resolved = False
        self._path = binary
        self._identity: tuple[int, int] | None = None
        self._kept: tuple[object, MangleRules] | None = None
        self._lock = threading.Lock()
        self.watch = EVERY_REFRESH
        """How a change is told: the probe's `what`, or why `-S` runs at every refresh."""
        self.runs = 0
        """How many times `-S` ran (the steady state runs none)."""

    def _resolve(self) -> str | None:
        """Find the command and its probe, once; why not, when the command is missing."""
        path = shutil.which(self.binary) if self._run is _run else self.binary
        if path is None:
            return f"{self.binary} is not installed"
        self._resolved = True
        self._path, self._identity = path, _identity(path)
        self._probe = self._factory(path)
        if self._probe is None:
            self.watch = f"{EVERY_REFRESH} ({os.path.realpath(path)} is neither the nft " \
                "nor the legacy iptables)"
        return None

    def _token(self) -> object | None:
        if self._probe is None:
            return None
        try:
            token = self._probe.token()
        except (OSError, ValueError) as err:
            self.watch = f"{EVERY_REFRESH} ({self._probe.what} unreadable: {err})"
            return None
        self.watch = self._probe.what
        return token

    def read(self) -> tuple[list[str] | None, str]:
        """As `read_mangle`; the lines are a `MangleRules`."""
        with self._lock:
            if self._resolved and _identity(self._path) != self._identity:
                # the command now leads elsewhere (update-alternatives): another back end
                self._forget()
            if not self._resolved:
                missing = self._resolve()
                if missing:
                    return None, missing
            before = self._token()
            if before is not None and self._kept is not None and self._kept[0] == before:
                return self._kept[1], SOURCE
            self._kept = None
            self.runs += 1
            lines, source = read_mangle(self._run, self.binary)
            if lines is None:
                return None, source
            rules = MangleRules(lines)
            if before is not None and self._token() == before:
                self._kept = (before, rules)
            return rules, source

    def _forget(self) -> None:
        if self._probe is not None:
            self._probe.close()
        self._probe, self._resolved, self._kept = None, False, None

    def close(self) -> None:
        """Close the probe's socket; the next `read` opens it again."""
        with self._lock:
            if self._probe is not None:
                self._probe.close()
            self._kept = None


def _identity(path: str) -> tuple[int, int] | None:
    """The file `path` finally leads to, by device and inode (one `stat`, links followed)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
