"""A guard that turns any side effect on the host into a test failure.

`--dry-run` and `--root DIR` promise to leave this machine alone. Reading
the code cannot prove that for every screen and command, so the tests in
test_inert.py run them with this guard installed: every way the wizard
could reach the host is replaced by a tripwire that records the attempt and
raises, and the test fails if anything was recorded (a recorded attempt
still fails the test when the code under test swallows the exception, as
the status panel does with a failed action).

The tripwires:

* processes: `subprocess.Popen` (under `run`, `call`, `check_output`,
  asyncio's subprocesses), `os.system`, `os.exec*`, `os.spawn*`,
  `os.posix_spawn*`, `os.fork*`;
* the kernel: pyroute2's `IPRoute`, `NDB`, `NetNS` and `IPSet`, and any
  `AF_NETLINK` or `AF_PACKET` socket (in `host` mode the status readers'
  raw `NETLINK_ROUTE` and `NETLINK_NETFILTER` ones are refused as a sandbox
  would refuse them: they only read, and the readers fall back);
* daemons and the network: `connect`/`sendto` of any socket to a Unix path
  outside the allowed directories (charon's vici socket) or to an IP address;
* files: `open` for writing, `os.open` with a write flag, and `rename`,
  `replace`, `unlink`, `remove`, `rmdir`, `mkdir`, `chmod`, `chown`,
  `symlink`, `link`, `truncate`, `utime`, `mkfifo`, `mknod` on any path
  outside the allowed directories (the test's temporary directory).

With `host=True` the guard stands in for a pristine host instead of
forbidding every read: read-only commands (`iptables -S`/`-C`, `ipsec
statusall`, `swanctl --list-*`, `systemctl is-*`...) get an empty answer,
netlink dumps are empty, no daemon listens; only what would change the host
is a violation. That is how a dry run on `/` itself is tested: it may look,
it may not touch, and what it sees does not depend on the machine the test
runs on.
"""

from __future__ import annotations

import builtins
import io
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

AF_NETLINK = getattr(socket, "AF_NETLINK", 16)
AF_PACKET = getattr(socket, "AF_PACKET", 17)
READ_ONLY_NETLINK = {0: "NETLINK_ROUTE (raw)", 12: "NETLINK_NETFILTER"}

# Commands that only read, and what a pristine host answers: (argv prefix, returncode, stdout),
# matched on the binary's base name and the words after it, -w dropped. iptables is decided
# by its action flag in `_read_only_answer` (-C, -S and -L read; everything else writes).
READ_ONLY: tuple[tuple[tuple[str, ...], int, str], ...] = (
    (("ipsec", "statusall"), 3, ""),  # the starter's "not running"
    (("ipsec", "status"), 3, ""),
    (("ipsec", "--version"), 0, "Linux strongSwan U5.9.8/K6.1.0\n"),
    (("swanctl", "--list-conns"), 1, ""),
    (("swanctl", "--list-sas"), 1, ""),
    (("swanctl", "--version"), 0, "strongSwan swanctl 5.9.8\n"),
    (("systemctl", "is-enabled"), 1, "disabled\n"),
    (("systemctl", "is-active"), 3, "inactive\n"),
    (("systemctl", "show"), 0, ""),
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class HostTouched(PermissionError):
    """Raised by a tripwire: the code under test tried to change the host."""


def _read_only_answer(argv: Sequence[str]) -> tuple[int, str] | None:
    """What a pristine host answers to a read-only command; None for anything else."""
    if not argv:
        return None
    words = [os.path.basename(str(argv[0]))] + [str(a) for a in argv[1:] if a != "-w"]
    if words[0] == "iptables":
        flags = [w for w in words[1:] if w.startswith("-") and w not in ("-t",)]
        action = next((f for f in flags if f in ("-A", "-D", "-I", "-R", "-F", "-X", "-N",
                                                 "-P", "-Z", "-E", "-C", "-S", "-L")), None)
        if action == "-C":
            return 1, ""
        if action in ("-S", "-L"):
            return 0, ""
        return None
    for prefix, code, out in READ_ONLY:
        if tuple(words[: len(prefix)]) == prefix:
            return code, out
    return None


class _FakeProcess:
    """A finished process with a canned answer, shaped like `subprocess.Popen`."""

    def __init__(self, argv: Sequence[str], code: int, out: str, text: bool) -> None:
        self.args = list(argv)
        self.returncode = code
        self.pid = 0
        self._out: Any = out if text else out.encode()
        self._err: Any = "" if text else b""
        self.stdin = self.stdout = self.stderr = None

    def __enter__(self) -> _FakeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        return self._out, self._err

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def poll(self) -> int:
        return self.returncode

    def kill(self) -> None:
        return None

    terminate = kill


class _ReadOnlyIPRoute:
    """pyroute2's IPRoute on a pristine host: dumps are empty, any change is a violation."""

    READS = ("get_links", "get_addr", "get_routes", "link_lookup", "get_rules", "get_neighbours")

    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    def __enter__(self) -> _ReadOnlyIPRoute:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def bind(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("inert guard: no netlink events on a pristine host")

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name in self.READS:
            return lambda *a, **k: []

        def call(*args: Any, **kwargs: Any) -> Any:
            command = str(args[0]) if args else ""
            if command in ("get", "dump", "show"):
                return []
            return self._guard.trip(f"netlink IPRoute.{name}{args!r}")

        return call


class Guard:
    """The record of what the code under test tried, and the directories it may write in.

    Attributes:
        allowed: directories where files may be written (the test's tmp_path).
        host: answer read-only host queries as a pristine host instead of tripping.
        violations: every attempt to change the host, as text; empty means inert.
    """

    def __init__(self, allowed: Sequence[Path], *, host: bool = False) -> None:
        self.allowed = [os.path.realpath(p) for p in allowed]
        self.host = host
        self.violations: list[str] = []
        self.reads: list[str] = []
        """Read-only host queries answered in `host` mode (for the curious reader)."""

    def trip(self, what: str) -> Any:
        self.violations.append(what)
        raise HostTouched(f"inert guard: {what}")

    def inside(self, path: Any, dir_fd: int | None = None) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor: its opening was checked
        text = os.fsdecode(path)
        if dir_fd is not None and not os.path.isabs(text):
            text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
        if text in ("/dev/null", "/dev/tty", "/dev/stdout", "/dev/stderr"):
            return True
        real = os.path.realpath(os.path.abspath(text))
        return any(real == base or real.startswith(base + os.sep) for base in self.allowed)

    def check_path(self, what: str, *paths: Any, dir_fd: int | None = None) -> None:
        for path in paths:
            if not self.inside(path, dir_fd):
                self.trip(f"{what} {os.fsdecode(path) if not isinstance(path, int) else path}")

    def assert_inert(self) -> None:
        assert self.violations == [], "touched the host:\n" + "\n".join(self.violations)


@contextmanager
def installed(monkeypatch: pytest.MonkeyPatch, allowed: Sequence[Path], *,
              host: bool = False) -> Iterator[Guard]:
    """Install every tripwire for the duration of the block; yields the `Guard`."""
    guard = Guard(allowed, host=host)

    # -- processes
    real_popen = subprocess.Popen

    def popen(argv: Any, *args: Any, **kwargs: Any) -> Any:
        words = [argv] if isinstance(argv, (str, bytes)) else list(argv)
        if _own_revert_timer(guard, words):
            # apply's own rollback timer, for a transaction under an allowed --root: the
            # wizard itself, confined to that root (see wizard.revert_timer).
            return real_popen(argv, *args, **kwargs)
        if guard.host and not kwargs.get("shell"):
            answer = _read_only_answer(words)
            if answer is not None:
                guard.reads.append(" ".join(map(str, words)))
                text = bool(kwargs.get("text") or kwargs.get("universal_newlines")
                            or kwargs.get("encoding"))
                return _FakeProcess(words, answer[0], answer[1], text)
        return guard.trip(f"process {' '.join(map(str, words))}")

    popen.__wrapped__ = real_popen  # type: ignore[attr-defined]
    monkeypatch.setattr(subprocess, "Popen", popen)
    for name in ("system", "execv", "execve", "execvp", "execvpe", "execl", "execle",
                 "execlp", "execlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "spawnl",
                 "spawnle", "spawnlp", "spawnlpe", "posix_spawn", "posix_spawnp", "fork",
                 "forkpty"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _tripwire(guard, f"os.{name}"))

    # -- the kernel
    import pyroute2

    for name in ("IPRoute", "NDB", "NetNS", "IPSet", "IPDB"):
        if hasattr(pyroute2, name):
            if name == "IPRoute" and host:
                monkeypatch.setattr(pyroute2, name, lambda *a, **k: _ReadOnlyIPRoute(guard))
            else:
                monkeypatch.setattr(pyroute2, name, _tripwire(guard, f"pyroute2.{name}()"))

    real_socket = socket.socket

    class GuardedSocket(real_socket):  # type: ignore[misc, valid-type]
        def __init__(self, family: int = -1, type: int = -1, proto: int = -1,
                     fileno: int | None = None) -> None:
            if fileno is None and family in (AF_NETLINK, AF_PACKET):
                if guard.host and family == AF_NETLINK and proto in READ_ONLY_NETLINK:
                    # the status's change probes (the nftables generation, the link and
                    # route announcements) only read: refused as a sandbox would, the
                    # readers fall back to what is answered here (`iptables -S`, pyroute2)
                    guard.reads.append(f"socket {READ_ONLY_NETLINK[proto]}")
                    raise PermissionError(1, "inert guard: no netlink here")
                guard.trip(f"socket family {family}")
            super().__init__(family, type, proto, fileno)

        def connect(self, address: Any) -> None:
            self._check(address, "connect")
            super().connect(address)

        def connect_ex(self, address: Any) -> int:
            self._check(address, "connect")
            return super().connect_ex(address)

        def sendto(self, data: Any, *args: Any) -> int:
            self._check(args[-1], "sendto")
            return super().sendto(data, *args)

        def _check(self, address: Any, what: str) -> None:
            if self.family == socket.AF_UNIX and isinstance(address, (str, bytes)):
                if guard.inside(address):
                    return
                if guard.host:
                    guard.reads.append(f"{what} {address!r}")
                    raise FileNotFoundError(2, "inert guard: no daemon listens", address)
            guard.trip(f"socket {what} {address!r}")

    monkeypatch.setattr(socket, "socket", GuardedSocket)

    # -- files
    real_open = builtins.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            guard.check_path(f"open({mode!r})", file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)

    real_os_open = os.open

    def guarded_os_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None
                        ) -> int:
        if flags & WRITE_FLAGS:
            guard.check_path("os.open(write)", path, dir_fd=dir_fd)
        return real_os_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("rename", "replace", "link", "symlink"):
        monkeypatch.setattr(os, name, _paths_guard(guard, getattr(os, name), name, 2))
    for name in ("unlink", "remove", "rmdir", "mkdir", "chmod", "chown", "lchown",
                 "truncate", "utime", "mkfifo", "mknod", "removexattr", "setxattr"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _paths_guard(guard, getattr(os, name), name, 1))
    yield guard


def _own_revert_timer(guard: Guard, words: Sequence[Any]) -> bool:
    words = [str(w) for w in words]
    return (
        len(words) >= 5
        and words[0] == sys.executable
        and words[1:3] == ["-m", "wizard.revert_timer"]
        and words[3] == "--root"
        and guard.inside(words[4])
        and words[4] != "/"
    )


def _tripwire(guard: Guard, what: str) -> Callable[..., Any]:
    def trip(*args: Any, **kwargs: Any) -> Any:
        return guard.trip(f"{what} {args[:2]!r}")

    return trip


def _paths_guard(guard: Guard, real: Callable[..., Any], name: str, count: int
                 ) -> Callable[..., Any]:
    """`real`, after checking its first `count` arguments are paths inside the allowed dirs."""

    def call(*args: Any, **kwargs: Any) -> Any:
        dir_fd = kwargs.get("dir_fd") or kwargs.get("src_dir_fd")
        guard.check_path(f"os.{name}", *args[:count], dir_fd=dir_fd)
        return real(*args, **kwargs)

    return call
