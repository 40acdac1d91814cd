"""systemd units (the heartbeat service), through `systemctl`.

On a box whose PID 1 is not systemd (a container, the UML lab) `systemctl`
cannot work; the adapter says so, and the engine reports the step as skipped
with that reason instead of failing the whole apply or pretending.
"""

from __future__ import annotations

from pathlib import Path

from wizard.system.base import run_argv


def pid1_name() -> str:
    """The name of the init process, for the message that explains a skip."""
    try:
        return Path("/proc/1/comm").read_text().strip() or "unknown"
    except OSError:
        return "unknown"


class Systemctl:
    """The real systemd."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def unavailable(self) -> str | None:
        if Path("/run/systemd/system").is_dir():
            return None
        return f"systemd is not running on this box (PID 1 is {pid1_name()})"

    def daemon_reload(self) -> None:
        run_argv(["systemctl", "daemon-reload"], self.log)

    def unit_state(self, unit: str) -> tuple[bool, bool]:
        enabled = run_argv(["systemctl", "is-enabled", "--quiet", unit], [], check=False)
        active = run_argv(["systemctl", "is-active", "--quiet", unit], [], check=False)
        return enabled.returncode == 0, active.returncode == 0

    def enable_now(self, unit: str) -> None:
        run_argv(["systemctl", "enable", "--now", unit], self.log)

    def restart(self, unit: str) -> None:
        run_argv(["systemctl", "restart", unit], self.log)

    def disable_now(self, unit: str) -> None:
        run_argv(["systemctl", "disable", "--now", unit], self.log)
