"""The booted lab: an operator's box with systemd as PID 1, and AWS as a machine of its own.

Two UML machines on two virtual Ethernet segments (uml_switch over unix
sockets in the test's temporary directory: no packet touches a host interface):

    box (bootimage.py image, systemd)          aws (today's hostfs lab, uml.py + init.sh)
      eth0 198.51.100.10/24 ── WAN switch ──── vgw ns: wan0 198.51.100.1, .2 (peer.py responder)
                                                  vpc0 203.0.113.1 ── vpc ns: 203.0.113.10
      eth1 192.0.2.1/24    ── LAN switch ──── lan ns: eth0 192.0.2.10 (a LAN host)

The AWS machine stays up while the box is powered off and booted again, and
judges the box from outside: its responder's SAs, and pings from the LAN host
to the VPC host (the vgw forwards nothing from its outside into the VPC in
clear, so such a ping went through a tunnel).

The box boots a copy-on-write layer over the cached image; the layer is the
box's disk for the whole test, so booting it again is a reboot. Files reach the
box the way an operator copies them: a read-only hostfs mount of one transfer
directory (the release artefact, the AWS file, the answers).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import bootimage
from peer import PeerTunnel, start_peer
from uml import Lab, LabError, Result

XFER = "/mnt/xfer"
"""Where the box sees the transfer directory (mounted read-only when needed)."""
WAN_MACS = ("fe:fd:c6:33:64:0a", "fe:fd:c6:33:64:01")
LAN_MACS = ("fe:fd:c0:00:02:01", "fe:fd:c0:00:02:0a")


class Switch:
    """One uml_switch: a virtual Ethernet segment on a unix socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc = subprocess.Popen(
            ["uml_switch", "-unix", str(path)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"uml_switch did not create {path}")
            time.sleep(0.02)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class BootLab:
    """The two machines; `boot()` starts the box, `poweroff()`/`power_loss()` stop it."""

    def __init__(self, persona: bootimage.Persona, image: Path, work: Path,
                 tunnels: Sequence[PeerTunnel]) -> None:
        self.persona = persona
        self.image = image
        self.work = work
        self.tunnels = list(tunnels)
        self.xfer = work / "xfer"
        self.cow = work / f"{persona.name}.cow"
        self.aws: Lab | None = None
        self.box: Lab | None = None
        self.switches: list[Switch] = []
        self.boot_started = 0.0

    def __enter__(self) -> BootLab:
        self.xfer.mkdir(mode=0o700, exist_ok=True)
        try:
            wan = Switch(self.work / "wan.ctl")
            self.switches.append(wan)
            lan = Switch(self.work / "lan.ctl")
            self.switches.append(lan)
            self.aws = Lab(extra_args=(
                "lab_topology=boot",
                f"eth0=daemon,{WAN_MACS[1]},unix,{wan.path}",
                f"eth1=daemon,{LAN_MACS[1]},unix,{lan.path}",
            ), lifetime=1800)
            self.aws.start()
            start_peer(self.aws, self.tunnels)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.box is not None:
            self.box.close()
            self.box = None
        if self.aws is not None:
            self.aws.close()
            self.aws = None
        for switch in self.switches:
            switch.close()
        self.switches.clear()

    # -- the box's power ------------------------------------------------

    def boot(self, timeout: float = 180.0) -> Lab:
        """Power the box on; return once systemd started the lab's agent."""
        assert self.box is None, "the box is already running"
        wan, lan = self.switches
        box = Lab(
            mem="512M",
            boot_timeout=timeout,
            lifetime=1500,
            boot_args=(
                f"ubd0={self.cow},{self.image}",
                "root=/dev/ubda",
                "rw",
                "init=/lib/systemd/systemd",
                "systemd.show_status=false",
                "net.ifnames=0",
            ),
            extra_args=(
                f"eth0=daemon,{WAN_MACS[0]},unix,{wan.path}",
                f"eth1=daemon,{LAN_MACS[0]},unix,{lan.path}",
            ),
        )
        self.boot_started = time.monotonic()
        box.start()
        self.box = box
        return box

    def poweroff(self) -> None:
        """A clean power-off: closing the channel ends the agent, whose unit powers off."""
        assert self.box is not None
        self.box.close()
        self.box = None

    def power_loss(self) -> None:
        """Pull the plug: UML is killed, nothing is synced or stopped."""
        assert self.box is not None and self.box.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.box.pid, signal.SIGKILL)
        self.box.close()
        self.box = None

    # -- files for the box --------------------------------------------------

    def offer(self, name: str, content: bytes | Path, mode: int = 0o600) -> str:
        """Put a file in the transfer directory; returns its path as the box sees it."""
        target = self.xfer / name
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
        target.chmod(mode)
        return f"{XFER}/{name}"

    def mount_xfer(self) -> None:
        """The box sees the transfer directory read-only at XFER (like a USB stick)."""
        assert self.box is not None
        self.box.run(f"mkdir -p {XFER} && mountpoint -q {XFER} || "
                     f"mount -t hostfs -o ro,{self.xfer} none {XFER}", check=True)

    # -- judged from the AWS side ----------------------------------------

    def aws_sas(self) -> str:
        assert self.aws is not None
        return self.aws.run("ipsec status", ns="vgw").out

    def wait_children(self, timeout: float = 120.0) -> tuple[bool, str, float]:
        """Wait until the responder has both CHILD_SAs installed; (up?, status, when)."""
        from wizard_lab import sa_states

        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = self.aws_sas()
            if all(all(sa_states(status, t.name)) for t in self.tunnels):
                return True, status, time.monotonic()
            time.sleep(0.2)
        return False, status, time.monotonic()

    def diagnose(self) -> str:
        """Everything that says why tunnels are not up, from both machines, for a failure message.

        The box's daemon log and SAs, what the updown script (or the manual
        steps) made of the links, routes and mangle rules, and the
        responder's own log: the first failure is then its own evidence.
        """
        parts = []
        if self.box is not None and self.box.alive:
            daemon = self.persona.daemon_unit
            lister = "swanctl --list-sas" if self.persona.backend == "swanctl" else "ipsec statusall"
            parts.append(self.box.run(
                f"echo '--- box: {lister}'; {lister}\n"
                f"echo '--- box: journalctl -u {daemon}'\n"
                f"journalctl -b --no-pager -o short-monotonic -u {daemon} | tail -n 150\n"
                "echo '--- box: links, routes, mangle, xfrm'; ip -d -o link; ip -4 -o addr\n"
                "ip -4 route; iptables-save -t mangle | grep '^-A'; ip xfrm state | grep -c ^src\n",
                timeout=120).out)
        if self.aws is not None:
            parts.append(self.aws.run("echo '--- responder: ipsec statusall'; ipsec statusall; "
                                      "echo '--- responder: charon.log'; tail -n 150 /run/charon.log",
                                      ns="vgw", timeout=120).out)
        return "\n".join(parts)

    def lan_reaches_vpc(self, timeout: float = 60.0) -> Result:
        assert self.aws is not None
        return self.aws.wait_until("ping -c1 -W2 203.0.113.10", ns="lan", timeout=timeout,
                                   interval=0.5)


@contextlib.contextmanager
def booted_lab(persona: bootimage.Persona, work: Path,
               tunnels: Sequence[PeerTunnel]) -> Iterator[BootLab]:
    image, _ = bootimage.image(persona, log=work / "image.log")
    with bootimage.held(persona, image), BootLab(persona, image, work, tunnels) as lab:
        yield lab
