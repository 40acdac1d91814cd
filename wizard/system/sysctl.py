"""Kernel parameters, written straight to /proc/sys (what `sysctl -w` does).

Writing the one file is what the seed's `sysctl -w` does, without a process
per key; reading it first gives the value undo puts back.
"""

from __future__ import annotations

from pathlib import Path

from wizard.system.base import HostError

PROC_SYS = Path("/proc/sys")
_CONF = "net.ipv4.conf."


def proc_path(key: str, base: Path = PROC_SYS) -> Path:
    """The /proc/sys file of a dotted key.

    An interface name may itself hold dots (eth0.100), which in /proc stay
    dots: only the separators around it become slashes.
    """
    if key.startswith(_CONF):
        rest = key[len(_CONF) :]
        iface, _, leaf = rest.rpartition(".")
        if iface and leaf:
            return base / "net" / "ipv4" / "conf" / iface / leaf
    return base.joinpath(*key.split("."))


class ProcSysctl:
    """The real kernel's parameters."""

    def __init__(self, log: list[str], base: Path = PROC_SYS) -> None:
        self.log = log
        self.base = base

    def get(self, key: str) -> str | None:
        """The current value, or None when the key does not exist (no such interface)."""
        try:
            return proc_path(key, self.base).read_text().strip()
        except FileNotFoundError:
            return None

    def set(self, key: str, value: str) -> None:
        self.log.append(f"sysctl -w {key}={value}")
        try:
            proc_path(key, self.base).write_text(f"{value}\n")
        except OSError as err:
            raise HostError(f"sysctl -w {key}={value}: {err.strerror}") from None
