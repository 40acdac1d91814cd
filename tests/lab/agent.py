"""The lab's control channel, served inside UML on /dev/tty1 (started by init.sh).

Stdlib only, Python 3.10+: it runs under whatever interpreter the host's test
run uses, seen through the lab's overlay.

Each request is one header line ``TOKEN NS TIMEOUT LENGTH`` followed by LENGTH
bytes of base64: a shell script, sent in CHUNK-sized pieces, each after the
agent acked the one before (``__LAB_ACK_TOKEN__``). The answer is the
script's output followed by ``\\n__LAB_END_TOKEN_RC__\\n``. The script is
written to a file and run from there, never passed as an argument, so what
it carries (a PSK for example) shows in no process's argv. Its output goes
to a fresh file first, so a daemon that inherits the descriptor cannot write
into a later answer.

A shell loop did the same job, but each request then cost six process
starts (about 20 ms each under UML); this costs one.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import sys
import termios
import tty
from typing import BinaryIO

WORK = "/lab"
CHANNEL = "/dev/tty1"
CHUNK = 2048
"""Payload bytes the host sends before waiting for an ack (see _receive)."""


def _fresh(path: str) -> int:
    """Open a new file at path (mode 600), detaching any old one from the name."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _prefix(ns: str) -> list[str]:
    """The argv that places a command in namespace `ns` ("-": the cgw, as is).

    ``ip netns exec`` makes a fresh mount namespace on every call, so a
    namespace whose daemon keeps its own mounts (the vgw's /run and
    ipsec.conf) records a holder pid in /lab/NS.pid and is entered with
    nsenter into that process's mount and network namespaces instead.
    """
    if ns == "-":
        return []
    try:
        with open(f"{WORK}/{ns}.pid") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return ["ip", "netns", "exec", ns]
    return ["nsenter", "-t", str(pid), "-m", "-n", "--"]


def _run(ns: str, timeout: int, script: bytes) -> tuple[int, bytes]:
    """Run one script; return its exit status and its output."""
    script_path = f"{WORK}/cmd.sh"
    out_path = f"{WORK}/out"
    fd = _fresh(script_path)
    with os.fdopen(fd, "wb") as f:
        f.write(script)
    out_fd = _fresh(out_path)
    try:
        proc = subprocess.Popen(
            [*_prefix(ns), "/bin/sh", script_path],
            stdin=subprocess.DEVNULL,
            stdout=out_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = 124
    except OSError as err:
        os.write(out_fd, f"lab agent: {err}\n".encode())
        rc = 127
    finally:
        os.close(out_fd)
    with open(out_path, "rb") as f:
        return rc, f.read()


def _receive(fd: int, reader: BinaryIO, token: str, length: int) -> bytes:
    """Read a payload that the host sends in CHUNK-sized pieces, acking each.

    UML's console stalls for good when more than the terminal's 4 KiB input
    buffer arrives at once (a 5 KB request hung: the line is throttled and
    never picks up again), so the host sends the next piece only once this
    side has read the last one: the buffer never fills.
    """
    parts = []
    left = length
    while left > 0:
        want = min(CHUNK, left)
        part = reader.read(want)  # blocks until `want` bytes, or EOF
        if len(part) != want:
            raise ValueError("channel closed inside a request")
        parts.append(part)
        left -= want
        if left > 0:
            _write_all(fd, f"__LAB_ACK_{token}__\n".encode())
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> int:
    """Serve requests until the host closes the channel."""
    os.makedirs(WORK, mode=0o700, exist_ok=True)
    fd = os.open(CHANNEL, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)  # no echo, no line editing, no CR/LF games
    reader = open(fd, "rb", buffering=65536, closefd=False)  # noqa: SIM115
    with open("/proc/uptime") as f:
        uptime = f.read().split()[0]
    _write_all(fd, f"__LAB_READY__ {uptime}\n".encode())
    while True:
        header = reader.readline()
        if not header:
            return 0  # the host closed the channel: init.sh powers off
        try:
            token, ns, timeout, length = header.decode("ascii").split()
            payload = _receive(fd, reader, token, int(length))
            script = base64.b64decode(payload, validate=True)
            seconds = int(timeout)
        except ValueError as err:
            # The stream is out of step; better to stop than to guess.
            _write_all(fd, f"lab agent: bad request {header[:80]!r}: {err}\n".encode())
            return 1
        rc, out = _run(ns, seconds, script)
        _write_all(fd, out + f"\n__LAB_END_{token}_{rc}__\n".encode())


if __name__ == "__main__":
    sys.exit(main())
