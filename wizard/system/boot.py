"""Side effects of the boot guard (`wizard.boot_guard`): its unit, and a System fit for early boot.

At boot, before the network and strongSwan units, the kernel holds nothing a
lost apply did (no tunnel, no rule: those died with the power) and the
daemons have not started: rolling back means restoring files and sysctls.
Restarting a daemon from there would wait on a unit ordered after this one
(a deadlock until systemd's timeout), so `boot_system` swaps the strongSwan
and systemd adapters for ones that leave daemons to the boot itself:
strongSwan starts later and reads the restored files; units are disabled
and stopped without waiting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from wizard.system import System
from wizard.system.base import Strongswan, Systemd, run_argv
from wizard.system.files import atomic_write, fsync_dir
from wizard.system.paths import Root

# The unit's text and where it goes are the product's (`wizard.render.boot_guard`):
# callers hand them in, so this module only puts files in place.


def _link(root: Root, link: str) -> Path:
    """The enable link's local path; not through `Root.path`, which would follow it."""
    return root.path(os.path.dirname(link)) / os.path.basename(link)


def armed(root: Root, unit: str, link: str) -> bool:
    """Whether the guard's `unit` is installed, or enabled by `link`, under `root`."""
    return root.path(unit).exists() or _link(root, link).is_symlink()


def can_arm(system: System) -> bool:
    """Only on a real box run by systemd: elsewhere (a --root tree, a lab whose PID 1 is
    a shell, a dry run) there is no boot for the guard to act in."""
    return (not system.dry_run and not system.simulated and system.root.is_host
            and system.systemd.unavailable() is None)


def arm(root: Root, unit: str, link: str, text: str) -> None:
    """Install `text` as `unit` and enable it by `link`, durably (it matters only after a
    power loss)."""
    local = root.path(unit)
    local.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(local, text.encode(), 0o644, 0, 0)
    enable = _link(root, link)
    enable.parent.mkdir(parents=True, exist_ok=True)
    if not enable.is_symlink():
        tmp = enable.with_name(f".{enable.name}.new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(unit)
        os.replace(tmp, enable)
    fsync_dir(enable.parent)


def disarm(root: Root, unit: str, link: str) -> None:
    """Remove the unit and its link; nothing else of the wizard's is touched."""
    for local in (_link(root, link), root.path(unit)):
        if local.exists() or local.is_symlink():
            local.unlink()
            fsync_dir(local.parent)
    with contextlib.suppress(OSError):  # systemd created it for us, or it held only our link
        root.path(os.path.dirname(link)).rmdir()


def boot_time() -> float:
    """When this boot started, in seconds since the epoch (/proc/stat's btime)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def regenerate_netplan(log: list[str]) -> bool:
    """Re-run netplan's generator, which read /etc/netplan before the rollback restored it.

    The generator runs when systemd starts, before any unit, and writes
    networkd's configuration under /run; networkd starts after the guard
    and reads what this writes. Returns whether netplan was there to run.
    """
    if shutil.which("netplan") is None:
        return False
    run_argv(["netplan", "generate"], log)
    return True


class BootStrongswan:
    """strongSwan before its unit started: nothing runs, and nothing is to be restarted."""

    def __init__(self, inner: Strongswan, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def installed(self) -> bool:
        return self.inner.installed()

    def swanctl_installed(self) -> bool:
        return self.inner.swanctl_installed()

    def running(self) -> bool:
        return False

    def loaded_conns(self) -> set[str]:
        return set()

    def swanctl_conns(self) -> set[str] | None:
        return None

    def restart(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        self.log.append("# strongSwan starts later in this boot, with the restored files")

    def stop(self) -> None:
        pass

    def load_swanctl(self, conns: Sequence[str], *, restart: bool, timeout: float = 30.0) -> None:
        self.log.append("# strongSwan starts later in this boot, with the restored files")

    def stop_swanctl(self) -> None:
        pass


class BootSystemd:
    """systemctl from a unit ordered early in boot: never wait on a job of a later unit."""

    def __init__(self, inner: Systemd, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def unavailable(self) -> str | None:
        return self.inner.unavailable()

    def daemon_reload(self) -> None:
        run_argv(["systemctl", "daemon-reload"], self.log)

    def unit_state(self, unit: str) -> tuple[bool, bool]:
        return self.inner.unit_state(unit)

    def enable_now(self, unit: str) -> None:
        run_argv(["systemctl", "enable", "--now", "--no-block", unit], self.log)

    def restart(self, unit: str) -> None:
        # Only if it already runs; one that has not started yet starts later as it would.
        run_argv(["systemctl", "try-restart", "--no-block", unit], self.log)

    def disable_now(self, unit: str) -> None:
        run_argv(["systemctl", "disable", "--now", "--no-block", unit], self.log)


def boot_system(system: System) -> System:
    """`system` with daemon handling fit for the guard's place in the boot."""
    return dataclasses.replace(
        system,
        strongswan=BootStrongswan(system.strongswan, system.log),
        systemd=BootSystemd(system.systemd, system.log),
    )
