"""A real Linux kernel for tests: user-mode-linux with a control channel.

The machines this project runs on have no ``ip_vti`` or ``esp4``; Debian's
``user-mode-linux`` kernel has both and runs as an ordinary process. The lab
boots it with the host's ``/`` as its root and ``tests/lab/init.sh`` as PID 1,
which stacks a tmpfs overlay on that root so that nothing inside can write to
the host, builds the lab's namespaces and then answers requests on a second
console. ``Lab.run`` sends a shell script down that console and reads the
output back up to an end marker that carries the exit status.

The customer gateway (cgw) is UML's root network and mount namespace: a test
types commands there exactly as an operator would on a real box. The other
machines are network namespaces: ``lan`` (a LAN host), ``vgw`` (the AWS side,
see ``peer.py``) and ``vpc`` (a host in the VPC).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

INIT = Path(__file__).resolve().with_name("init.sh")
"""PID 1 inside UML; it must not sit under a path the lab shadows."""

KERNEL = "linux.uml"
UML_MODULES = Path("/usr/lib/uml/modules")

# The lab's fixed addresses (documentation ranges; set up by init.sh).
CGW_WAN_IF = "eth0"
CGW_LAN_IF = "lan0"
CGW_WAN_IP = "198.51.100.10"
CGW_LAN_IP = "192.0.2.1"
LAN_HOST_IP = "192.0.2.10"
LAN_CIDR = "192.0.2.0/24"
VGW_OUTSIDE_IPS = ("198.51.100.1", "198.51.100.2")
VGW_VPC_IP = "203.0.113.1"
VPC_HOST_IP = "203.0.113.10"
VPC_CIDR = "203.0.113.0/24"

NAMESPACES = ("lan", "vgw", "vpc")
"""Network namespaces besides the cgw (which is UML's root namespace)."""

CHUNK = 2048
"""Request bytes sent before waiting for the agent's ack; agent.py has the same."""

_NS_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_READY = re.compile(rb"__LAB_READY__ ([0-9.]+)\n")


class LabError(RuntimeError):
    """The lab could not boot, or its control channel broke."""


class LabCommandError(LabError):
    """A command inside the lab exited non-zero where success was required."""

    def __init__(self, what: str, result: Result) -> None:
        super().__init__(f"{what} exited {result.rc}:\n{result.out}")
        self.result = result


@dataclass(frozen=True)
class Result:
    """What a command inside the lab answered."""

    rc: int
    """Exit status; 124 when the lab's timeout killed the command."""
    out: str
    """Standard output and standard error, interleaved as written."""

    @property
    def ok(self) -> bool:
        """Whether the command succeeded."""
        return self.rc == 0

    def check(self, what: str = "command") -> Result:
        """Return self, or raise LabCommandError naming `what` if it failed."""
        if self.rc != 0:
            raise LabCommandError(what, self)
        return self


def lab_unavailable() -> str | None:
    """Say why the lab cannot run on this machine, or None if it can.

    Root is needed because hostfs shows the host's files with the host's
    owners: the interpreter under /root and the root-only secrets must be
    readable inside UML.
    """
    if os.geteuid() != 0:
        return "the lab needs root (UML reads the host's / through hostfs)"
    if shutil.which(KERNEL) is None:
        return f"{KERNEL} not found: apt-get install user-mode-linux"
    if not UML_MODULES.is_dir():
        return f"{UML_MODULES} missing: the user-mode-linux package is incomplete"
    for tool in ("ipsec", "swanctl", "iptables-legacy", "ip", "ping", "nsenter"):
        if shutil.which(tool) is None:
            return (
                f"{tool} not found: apt-get install strongswan-starter strongswan-charon "
                "strongswan-swanctl iptables iproute2 iputils-ping util-linux"
            )
    return None


def _kill_group(pgid: int) -> None:
    """SIGKILL a UML process group; UML's address-space helpers are in it too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def live_group_members(pgid: int) -> list[int]:
    """Host pids still running in process group `pgid`, zombies left out.

    UML's helper processes outlive a SIGKILL of the main one for a moment,
    and then wait as zombies for the host's init to reap them.
    """
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(entry))
    return members


class Lab:
    """One booted UML kernel with the lab's topology, as a context manager.

    ``with Lab() as lab: lab.run("ipsec status")``. Leaving the block always
    powers UML off, and kills it if it does not go; so does a hard lifetime
    timer, and so does interpreter exit if the Lab was never closed.
    """

    def __init__(
        self,
        *,
        mem: str = "512M",
        boot_timeout: float = 60.0,
        lifetime: float = 900.0,
        kernel: str = KERNEL,
        boot_args: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Prepare a lab; nothing runs until `start` or `with`.

        Args:
            mem: UML's memory; 512M holds two charons, Python and the tmpfs.
            boot_timeout: seconds to wait for init.sh to answer.
            lifetime: hard limit in seconds, after which UML is killed
                whatever is running, so a hung test cannot hang CI.
            kernel: the UML binary.
            boot_args: kernel words that replace the hostfs root and init.sh
                (the booted lab, bootlab.py: a disk image with systemd as PID 1
                whose lab-agent.service serves the same channel).
            extra_args: more kernel words, e.g. network devices on a uml_switch.
        """
        self.mem = mem
        self.boot_timeout = boot_timeout
        self.lifetime = lifetime
        self.kernel = kernel
        self.boot_args = tuple(boot_args) if boot_args is not None else None
        self.extra_args = tuple(extra_args)
        self.boot_seconds: float | None = None
        """Wall time from starting UML to the control channel answering."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._to_uml: int | None = None
        self._from_uml: int | None = None
        self._uml_dir: str | None = None
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        self._console = bytearray()
        self._console_lock = threading.Lock()
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._seq = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._timer: threading.Timer | None = None
        self._finalizer: weakref.finalize | None = None

    # -- life cycle --------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> Lab:
        """Boot UML and wait until init.sh serves the control channel."""
        if self._proc is not None:
            raise LabError("this lab was already started")
        why = lab_unavailable()
        if why:
            raise LabError(why)
        # UML keeps a pid file and a control socket in uml_dir/umid (and
        # removes them when it halts, even when this process died first) and
        # its memory in an unlinked file under TMPDIR: keep both in RAM.
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        uml_dir = shm or tempfile.gettempdir()
        umid = f"vpn-wizard-lab-{os.getpid()}-{secrets.token_hex(4)}"
        self._uml_dir = os.path.join(uml_dir, umid)
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        root_args = self.boot_args if self.boot_args is not None else (
            "root=/dev/root",
            "rootfstype=hostfs",
            "rootflags=/",
            "ro",  # a second guard: before the overlay, the host's / is read-only
            f"init={INIT}",
            f"lab_python={sys.executable}",
        )
        argv = [
            self.kernel,
            f"mem={self.mem}",
            *root_args,
            *self.extra_args,
            f"uml_dir={uml_dir}",
            f"umid={umid}",
            "con=null",
            "ssl=null",
            "con0=null,fd:1",
            f"con1=fd:{req_r},fd:{ans_w}",
        ]
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        if shm:
            env["TMPDIR"] = shm
        started = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(req_r, ans_w),
                start_new_session=True,
                env=env,
            )
        finally:
            os.close(req_r)
            os.close(ans_w)
        self._to_uml, self._from_uml = req_w, ans_r
        self._finalizer = weakref.finalize(self, _kill_group, self._proc.pid)
        self._timer = threading.Timer(self.lifetime, self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._spawn(self._read_console, "lab-console")
        self._spawn(self._read_answers, "lab-channel")
        try:
            self._wait_ready(started + self.boot_timeout)
        except BaseException:
            self.close()
            raise
        self.boot_seconds = time.monotonic() - started
        return self

    def close(self) -> None:
        """Power UML off (kill it if need be) and release everything; idempotent."""
        proc = self._proc
        if proc is None:
            return
        if self._timer:
            self._timer.cancel()
        # EOF on the channel ends init.sh's loop, which powers off cleanly.
        if self._to_uml is not None:
            with contextlib.suppress(OSError):
                os.close(self._to_uml)
            self._to_uml = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        # Whatever is left of the group (UML's helpers) goes, in every case.
        _kill_group(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while live_group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._finalizer:
            self._finalizer.detach()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._from_uml is not None:
            with contextlib.suppress(OSError):
                os.close(self._from_uml)
            self._from_uml = None
        if self._uml_dir:
            # Only there if UML was killed rather than halted.
            shutil.rmtree(self._uml_dir, ignore_errors=True)
            self._uml_dir = None
        self._broken = self._broken or "the lab was closed"

    @property
    def alive(self) -> bool:
        """Whether UML is running and its control channel can be used."""
        return self._proc is not None and self._proc.poll() is None and self._broken is None

    @property
    def pid(self) -> int | None:
        """UML's main process on the host, also its process group; None before start."""
        return self._proc.pid if self._proc else None

    @property
    def console(self) -> str:
        """The kernel's console (tty0) so far, for diagnosing a failed boot."""
        with self._console_lock:
            return self._console.decode(errors="replace")

    # -- requests ----------------------------------------------------------

    def run(
        self,
        cmd: str | Sequence[str],
        ns: str | None = None,
        timeout: float = 30.0,
        *,
        check: bool = False,
    ) -> Result:
        """Run a shell script (or one argv, quoted for the shell) inside UML.

        Args:
            cmd: shell text, run by ``/bin/sh`` as a script file (so newlines,
                heredocs and ``set -e`` work), or an argv list.
            ns: None or "cgw" for the gateway (UML's root namespaces); a
                network namespace name otherwise. A namespace whose holder
                process is recorded in /lab/NAME.pid (the vgw, once its
                daemon runs) is entered with nsenter into that process's
                mount and network namespaces, so commands see its /run.
            timeout: seconds before the lab kills the command (rc 124).
            check: raise LabCommandError if the command fails.
        """
        script = cmd if isinstance(cmd, str) else shlex.join(cmd)
        result = self._request(script, ns, timeout)
        if check:
            result.check(script if len(script) < 400 else script[:400] + " ...")
        return result

    def write_file(
        self,
        path: str,
        content: str | bytes,
        *,
        mode: int | None = None,
        append: bool = False,
        ns: str | None = None,
    ) -> None:
        """Write (or append to) a file inside the lab, its content never in any argv.

        The content travels base64-encoded inside the request script and is
        decoded from a heredoc, so a PSK written this way shows in no process
        list, and a failure message names only the path. The file is created
        0600 and only then given `mode` (default: an existing file keeps its
        mode, a new one gets 0644), so a key is never readable in between.
        """
        data = content.encode() if isinstance(content, str) else content
        encoded = base64.encodebytes(data).decode("ascii")
        target = shlex.quote(path)
        redirect = ">>" if append else ">"
        if mode is not None:
            chmod = f"chmod {mode:o} {target}"
        else:
            chmod = f'[ -n "$existed" ] || chmod 644 {target}'
        script = (
            f"set -e\numask 077\nexisted=$([ -e {target} ] && echo 1 || true)\n"
            f"base64 -d {redirect} {target} <<'__LAB_DATA__'\n{encoded}__LAB_DATA__\n{chmod}\n"
        )
        self._request(script, ns, 30.0).check(f"writing {path}")

    def read_file(self, path: str, ns: str | None = None) -> str:
        """Return a file's text from inside the lab."""
        return self.run(["cat", "--", path], ns=ns, check=True).out

    def wait_until(
        self,
        cmd: str | Sequence[str],
        ns: str | None = None,
        timeout: float = 30.0,
        interval: float = 0.2,
    ) -> Result:
        """Re-run `cmd` until it succeeds; return its last Result either way.

        Callers assert on the returned Result so that a failure shows what
        the command last said instead of a bare timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            result = self.run(cmd, ns=ns, timeout=max(5.0, left))
            if result.ok or time.monotonic() >= deadline:
                return result
            time.sleep(interval)

    # -- internals ---------------------------------------------------------

    def _request(self, script: str, ns: str | None, timeout: float) -> Result:
        if ns in (None, "cgw"):
            ns_field = "-"
        elif ns is not None and _NS_NAME.fullmatch(ns):
            ns_field = ns
        else:
            raise ValueError(f"not a namespace name: {ns!r}")
        with self._lock:
            if not self.alive or self._to_uml is None:
                raise LabError(f"the lab is not usable: {self._broken or 'UML has exited'}")
            token = f"{next(self._seq)}x{secrets.token_hex(6)}"
            payload = base64.b64encode(script.encode())
            seconds = max(1, int(timeout + 0.999))
            header = f"{token} {ns_field} {seconds} {len(payload)}\n".encode()
            marker = re.compile(rb"\n__LAB_END_" + token.encode() + rb"_(\d+)__\n")
            ack = re.compile(rb"__LAB_ACK_" + token.encode() + rb"__\n")
            try:
                # In CHUNK pieces, each after the agent read the last (agent.py).
                self._send(header + payload[:CHUNK])
                for start in range(CHUNK, len(payload), CHUNK):
                    self._await(ack, time.monotonic() + 30, token)
                    self._send(payload[start : start + CHUNK])
            except OSError as err:
                self._broken = f"writing to UML failed: {err}"
                raise LabError(self._broken) from err
            # The lab's own timeout fires first; this one catches a dead channel.
            match = self._await(marker, time.monotonic() + seconds + 15, token)
            return Result(int(match[0]), match[1].decode(errors="replace"))

    def _await(
        self, pattern: re.Pattern[bytes], deadline: float, token: str
    ) -> tuple[bytes, bytes]:
        """Wait for `pattern` on the channel; consume it and what came before.

        Returns the pattern's first group (or b"") and the bytes before it.
        """
        with self._cond:
            while True:
                match = pattern.search(self._buf)
                if match:
                    # Copy out before trimming: the match views the buffer.
                    group = match.group(1) if pattern.groups else b""
                    before = bytes(self._buf[: match.start()])
                    del self._buf[: match.end()]
                    return group, before
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    self._broken = self._broken or (
                        "UML exited" if self._eof else "no answer from UML"
                    )
                    raise LabError(
                        f"{self._broken} (request {token}); console tail:\n" + self.console[-3000:]
                    )
                self._cond.wait(min(left, 1.0))

    def _send(self, data: bytes) -> None:
        assert self._to_uml is not None
        view = memoryview(data)
        while view:
            written = os.write(self._to_uml, view)
            view = view[written:]

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        with self._cond:
            while True:
                match = _READY.search(self._buf)
                if match:
                    del self._buf[: match.end()]
                    return
                if "LAB_INIT_FAILED" in self.console:
                    break
                if self._eof or self._proc.poll() is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
        self._broken = self._broken or "boot failed"
        raise LabError(
            f"the lab did not boot ({self._broken}); console tail:\n{self.console[-4000:]}"
        )

    def _expire(self) -> None:
        self._broken = f"lifetime of {self.lifetime:.0f}s exceeded; UML killed"
        if self._proc is not None:
            _kill_group(self._proc.pid)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read_console(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        while chunk := stream.read1(65536):
            with self._console_lock:
                self._console += chunk
                if len(self._console) > 1 << 20:
                    del self._console[: len(self._console) - (1 << 19)]
            with self._cond:
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_answers(self) -> None:
        fd = self._from_uml
        assert fd is not None
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._buf += chunk
                self._cond.notify_all()
