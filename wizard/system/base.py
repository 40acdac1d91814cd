"""What every host adapter offers, whichever host it talks to.

The apply engine sees the host only through these protocols. Three families
implement them: the real host (netlink, /proc/sys, `iptables`, `ipsec`,
`systemctl`), a simulated kernel kept in a file under `--root` (so a plan can
be applied, killed and rolled back by ordinary users in tests), and the
recording wrappers behind `--dry-run`, which read but never write.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Interface
from typing import Protocol


class HostError(Exception):
    """The host refused or failed an action; the message is meant for the operator."""


class CommandTimeout(HostError):
    """A command gave no answer in time (a caller may treat that as "no reply")."""


@dataclass(frozen=True)
class VtiInfo:
    """The parameters that make a VTI the one the plan wants."""

    local: str | None
    remote: str | None
    ikey: int
    okey: int


@dataclass(frozen=True)
class LinkInfo:
    """A network interface as far as the plan cares."""

    name: str
    kind: str | None
    """Link kind from IFLA_INFO_KIND ("vti", "veth"...); None for plain devices."""
    up: bool
    mtu: int
    vti: VtiInfo | None = None


@dataclass(frozen=True)
class Address:
    """An IPv4 address on a link; `peer` is set for point-to-point addresses."""

    local: str
    peer: str | None
    prefixlen: int


class Links(Protocol):
    """Interfaces, addresses and routes (the seed's `ip` commands)."""

    def get(self, name: str) -> LinkInfo | None: ...
    def add_vti(self, name: str, local: str, remote: str, key: int) -> None: ...
    def delete(self, name: str) -> None: ...
    def addresses(self, name: str) -> list[Address]: ...
    def add_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None: ...
    def del_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None: ...
    def set_link(self, name: str, *, up: bool, mtu: int) -> None: ...
    def has_route(self, dst: str, dev: str, metric: int) -> bool: ...
    def add_route(self, dst: str, dev: str, metric: int) -> None: ...
    def del_route(self, dst: str, dev: str, metric: int) -> None: ...


class Sysctl(Protocol):
    """Kernel parameters, by their dotted `sysctl` names."""

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


class Iptables(Protocol):
    """Rules of one table/chain, as argv fragments."""

    def present(self, table: str, chain: str, rule: Sequence[str]) -> bool: ...
    def surely_absent(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        """True only when the rule certainly is not there (no `-C` needed); False: ask `present`."""
        ...

    def append(self, table: str, chain: str, rule: Sequence[str]) -> None: ...
    def delete(self, table: str, chain: str, rule: Sequence[str]) -> None: ...


class Strongswan(Protocol):
    """The IKE daemon, driven through the `ipsec` starter script, or through swanctl (vici)."""

    def installed(self) -> bool: ...
    def running(self) -> bool: ...
    def loaded_conns(self) -> set[str]: ...
    def restart(self, conns: Sequence[str], timeout: float = 30.0) -> None: ...
    def start(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        """`ipsec start` for a daemon that is not running: a restart's stop and pause, saved."""
        ...

    def stop(self) -> None: ...
    # The swanctl backend (wizard.system.swanctl):
    def swanctl_installed(self) -> bool: ...
    def swanctl_conns(self) -> set[str] | None:
        """Connections loaded over vici; None when the daemon does not answer."""
        ...

    def load_swanctl(
        self, conns: Sequence[str], *, restart: bool, timeout: float = 30.0
    ) -> None: ...
    def stop_swanctl(self) -> None: ...
    # The status panel's keys (whichever backend loaded the conn):
    def initiate(self, name: str) -> None:
        """Start bringing conn `name` up; returns at once, the daemon's events tell the rest."""
        ...

    def terminate(self, name: str) -> None:
        """Take conn `name` down: delete its IKE SA and with it the CHILD SAs."""
        ...


class Systemd(Protocol):
    """Units, when systemd is the init system."""

    def unavailable(self) -> str | None:
        """None when systemd runs the box; otherwise why units cannot be managed."""
        ...

    def daemon_reload(self) -> None: ...
    def unit_state(self, unit: str) -> tuple[bool, bool]:
        """(enabled, active)."""
        ...

    def enable_now(self, unit: str) -> None: ...
    def restart(self, unit: str) -> None: ...
    def disable_now(self, unit: str) -> None: ...


class Frr(Protocol):
    """FRR's daemons, through the package's init script (systemd is the systemd adapter's)."""

    def installed(self) -> bool: ...
    def running(self) -> bool: ...
    def restart(self) -> None: ...
    def stop(self) -> None: ...
    def vtysh_json(self, command: str) -> str | None:
        """FRR's JSON answer to a `show ... json` command, or None when it does not answer."""
        ...


def run_argv(
    argv: Sequence[str], log: list[str], *, check: bool = True, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run one command (never through a shell) and remember it in `log`.

    The one place the wizard starts a command: every adapter, the probe and
    the heartbeat's ping come through here (or `read_command`), so the rules
    hold everywhere. Argv lists only: a PSK never travels on a command line,
    so logging the argv is safe. A failure raises HostError carrying the
    command's stderr.
    """
    log.append(" ".join(argv))
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False,
            stdin=subprocess.DEVNULL,
        )
    except (FileNotFoundError, PermissionError):
        raise HostError(f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired:
        raise CommandTimeout(f"{' '.join(argv)}: no answer after {timeout:.0f}s") from None
    except OSError as err:
        raise HostError(f"{argv[0]}: {err.strerror or err}") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise HostError(
            f"{' '.join(argv)} exited {proc.returncode}"
            + (f": {detail[-1]}" if detail else "")
        )
    return proc


def read_command(argv: Sequence[str], timeout: float = 10.0) -> str | None:
    """A read-only query's combined output, or None when it is missing or hangs.

    For the host probe's version questions (`ipsec --version`): the exit code
    does not matter, only whether the command answered. Not logged, since it
    changes nothing.
    """
    try:
        proc = run_argv(argv, [], check=False, timeout=timeout)
    except HostError:
        return None
    return (proc.stdout or "") + (proc.stderr or "")
