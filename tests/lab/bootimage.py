"""Root filesystems for the booted lab: a Debian 12 or 13 box, built from Debian's packages.

`mmdebstrap` builds the tree (about 20-40 s), the UML kernel's modules go in,
the box gets what an operator's box has before the wizard (its network
configuration, an `/etc/rc.local` with a line of the operator's own), and
`mke2fs -d` turns the tree into an ext4 image without a loop mount.

The image is cached under /var/cache/vpn-wizard-lab/, keyed by everything it
is built from (suite, package list, the files written into it, the kernel's
module set): the next run of the same machine boots it at once. A booted box
never writes to it: UML boots a copy-on-write layer over it (`ubd0=COW,IMG`),
and the layer lives in the test's temporary directory. Booting the same layer
again is a reboot.

What is the lab's and not an operator's (said so here, not hidden):
* the `iptables` alternative points at the legacy binaries (Debian's UML kernel
  has no nf_tables for IPv4; the product keeps calling plain `iptables`);
* `lab-agent.service` runs `agent.py` on /dev/tty1 (the test's control channel),
  and no getty competes with it for the console;
* the UML kernel's modules sit in /usr/lib/modules.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(os.environ.get("VPN_WIZARD_LAB_CACHE", "/var/cache/vpn-wizard-lab"))
UML_MODULES = Path("/usr/lib/uml/modules")
AGENT = Path(__file__).resolve().with_name("agent.py")
IMAGE_SIZE = "1536M"

# The lab's fixed addresses (documentation ranges), as in uml.py.
BOX_WAN_IF, BOX_LAN_IF = "eth0", "eth1"
BOX_WAN_IP, BOX_WAN_GW = "198.51.100.10", "198.51.100.1"
BOX_LAN_IP = "192.0.2.1"

COMMON_PACKAGES = (
    "systemd-sysv", "udev", "dbus", "iproute2", "iptables", "kmod", "procps",
    "iputils-ping", "python3", "sudo",
)


@dataclass(frozen=True)
class Persona:
    """One kind of operator's box."""

    name: str
    """A short id, e.g. "debian12"."""
    suite: str
    """Debian's suite name for mmdebstrap."""
    packages: tuple[str, ...]
    """What the box has installed besides COMMON_PACKAGES."""
    files: dict[str, str] = field(default_factory=dict)
    """Operator files (path -> content) present before the wizard."""
    backend: str = "stroke"
    persistence: tuple[str, ...] = ("seed",)
    daemon_unit: str = "strongswan-starter.service"

    def key(self) -> str:
        """Everything the image is built from, hashed: the cache key."""
        material = {
            "suite": self.suite,
            "packages": sorted((*COMMON_PACKAGES, *self.packages)),
            "files": self.files,
            "agent": AGENT.read_text(),
            "setup": _SETUP_VERSION,
            "modules": sorted(p.name for p in UML_MODULES.iterdir()),
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


_SETUP_VERSION = "3"
"""Bump when `_customize` changes in a way the key would not see."""

RC_LOCAL = """\
#!/bin/sh -e
# The operator's own boot script, there before the wizard.
touch /run/operator-rc-local-ran
exit 0
"""

IFUPDOWN = f"""\
# The operator's network configuration, there before the wizard.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto {BOX_WAN_IF}
iface {BOX_WAN_IF} inet static
    address {BOX_WAN_IP}/24
    gateway {BOX_WAN_GW}

auto {BOX_LAN_IF}
iface {BOX_LAN_IF} inet static
    address {BOX_LAN_IP}/24
"""

NETPLAN = f"""\
# The operator's network configuration, there before the wizard.
network:
  version: 2
  renderer: networkd
  ethernets:
    {BOX_WAN_IF}:
      addresses: [{BOX_WAN_IP}/24]
      routes:
        - to: default
          via: {BOX_WAN_GW}
    {BOX_LAN_IF}:
      addresses: [{BOX_LAN_IP}/24]
"""

DEBIAN12 = Persona(
    name="debian12",
    suite="bookworm",
    # frr: the BGP cycle (Debian's package enables and starts frr.service itself).
    packages=("strongswan-starter", "strongswan-charon", "ifupdown", "frr"),
    files={"/etc/network/interfaces": IFUPDOWN, "/etc/rc.local": RC_LOCAL},
    backend="stroke",
    persistence=("seed",),
    daemon_unit="strongswan-starter.service",
)

DEBIAN13 = Persona(
    name="debian13",
    suite="trixie",
    packages=("charon-systemd", "strongswan-swanctl", "netplan.io", "systemd-resolved"),
    files={"/etc/netplan/10-operator.yaml": NETPLAN},
    backend="swanctl",
    persistence=("netplan", "networkd"),
    daemon_unit="strongswan.service",
)

PERSONAS = {p.name: p for p in (DEBIAN12, DEBIAN13)}

AGENT_UNIT = """\
[Unit]
Description=vpn-wizard lab: the test's control channel on /dev/tty1 (not part of any real box)
DefaultDependencies=no
After=local-fs.target systemd-tmpfiles-setup.service
# When the host closes the channel, the box powers off cleanly.
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=simple
ExecStart=/usr/bin/python3 /usr/local/lib/vpn-wizard-lab/agent.py
StandardOutput=journal+console

[Install]
WantedBy=sysinit.target
"""


def unavailable() -> str | None:
    """Why images cannot be built here, or None."""
    if os.geteuid() != 0:
        return "building a Debian image needs root (mmdebstrap --mode=root)"
    for tool in ("mmdebstrap", "mke2fs", "uml_switch", "depmod"):
        if shutil.which(tool) is None:
            return f"{tool} not found: apt-get install mmdebstrap e2fsprogs uml-utilities kmod"
    if not UML_MODULES.is_dir():
        return f"{UML_MODULES} missing: apt-get install user-mode-linux"
    return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def image(persona: Persona, *, log: Path | None = None) -> tuple[Path, bool]:
    """The persona's cached image, built first if need be; (path, whether it was built now)."""
    target = CACHE / f"{persona.name}-{persona.key()}.img"
    with _locked(CACHE / f"{persona.name}.lock"):
        if target.exists():
            return target, False
        with tempfile.TemporaryDirectory(prefix="vpn-wizard-img-", dir=CACHE) as tmp:
            root = Path(tmp) / "rootfs"
            _debootstrap(persona, root, log)
            _customize(persona, root)
            partial = Path(tmp) / "box.img"
            _run(["mke2fs", "-q", "-t", "ext4", "-L", "box", "-d", str(root), str(partial),
                  IMAGE_SIZE], log)
            os.replace(partial, target)
        drop_older(persona, target)
    return target, True


def drop_older(persona: Persona, target: Path) -> list[Path]:
    """Delete the persona's other images, except one a box still runs on; return the deleted.

    A box holds its image with a shared `flock` for as long as it runs (`held`),
    so another checkout on the same machine, whose package list differs,
    cannot pull the image out from under it. Called under the persona's lock.
    """
    dropped: list[Path] = []
    for old in CACHE.glob(f"{persona.name}-*.img"):
        if old == target:
            continue
        with open(old, "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a box runs on it: the next build after it stops deletes it
            old.unlink(missing_ok=True)
            dropped.append(old)
    return dropped


@contextlib.contextmanager
def held(persona: Persona, path: Path) -> Iterator[Path]:
    """Hold image `path` (a shared `flock`) while a box runs on it; see `drop_older`."""
    with _locked(CACHE / f"{persona.name}.lock"):
        f = open(path, "rb")  # noqa: SIM115 - held for the box's lifetime, closed below
        fcntl.flock(f, fcntl.LOCK_SH)
    try:
        yield path
    finally:
        f.close()


def _run(argv: list[str], log: Path | None) -> None:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if log is not None:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(argv)}\n{out.stdout}{out.stderr}\n")
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")


def _debootstrap(persona: Persona, root: Path, log: Path | None) -> None:
    packages = ",".join((*COMMON_PACKAGES, *persona.packages))
    _run(["mmdebstrap", "--variant=minbase", "--mode=root", "--quiet",
          "--aptopt=Acquire::Retries \"3\"",
          # Not a service to start while building; the box starts its own.
          "--customize-hook=chroot \"$1\" update-alternatives --set iptables "
          "/usr/sbin/iptables-legacy",
          "--customize-hook=chroot \"$1\" update-alternatives --set ip6tables "
          "/usr/sbin/ip6tables-legacy",
          f"--include={packages}", persona.suite, str(root)], log)


def _write(root: Path, path: str, content: str, mode: int = 0o644) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)


def _customize(persona: Persona, root: Path) -> None:
    """What a freshly installed box of this kind has, plus the lab's control channel."""
    for kver_dir in UML_MODULES.iterdir():
        dest = root / "usr/lib/modules" / kver_dir.name
        shutil.copytree(kver_dir, dest, symlinks=True)
    _write(root, "/etc/hostname", "box\n")
    _write(root, "/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 box\n")
    _write(root, "/etc/fstab", "LABEL=box / ext4 rw,errors=remount-ro 0 1\n")
    for path, content in persona.files.items():
        mode = 0o755 if path == "/etc/rc.local" else 0o644
        if path.startswith("/etc/netplan/"):
            mode = 0o600
        _write(root, path, content, mode)
    # The lab's control channel, and no getty on any console.
    _write(root, "/usr/local/lib/vpn-wizard-lab/agent.py", AGENT.read_text())
    _write(root, "/etc/systemd/system/lab-agent.service", AGENT_UNIT)
    wants = root / "etc/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "lab-agent.service").symlink_to("/etc/systemd/system/lab-agent.service")
    for unit in ("getty@.service", "serial-getty@.service", "console-getty.service",
                 "getty-static.service", "systemd-firstboot.service",
                 "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_reap.service",
                 "fstrim.timer", "e2scrub_all.timer", "systemd-timesyncd.service"):
        link = root / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    # A box that is powered off mid-write comes back with its journal on disk.
    _write(root, "/etc/systemd/journald.conf.d/lab.conf", "[Journal]\nStorage=persistent\n")
    (root / "var/log/journal").mkdir(parents=True, exist_ok=True)
    (root / "etc/machine-id").write_text("5c1a0b0c0d0e0f101112131415161718\n")
    if persona.name == "debian13":
        # networkd is what netplan renders for; a fresh Debian 13 box has it enabled.
        for unit, target in (("systemd-networkd.service", "multi-user.target"),
                             ("systemd-networkd.socket", "sockets.target")):
            w = root / f"etc/systemd/system/{target}.wants"
            w.mkdir(parents=True, exist_ok=True)
            (w / unit).unlink(missing_ok=True)
            (w / unit).symlink_to(f"/usr/lib/systemd/system/{unit}")
