"""Adapters for `--dry-run`: they read the host as it is and record every change as text.

Each write becomes the line an operator would type (`ip link add ...`,
`sysctl -w ...`, `write /etc/ipsec.secrets (0600)`) in the shared log, and
nothing is done. Reads go to the wrapped adapter, so a dry run on a box that
is already configured reports "unchanged" wherever it can tell; where a read
needs privileges it does not have (`iptables -C` as a user) it assumes the
change is needed, which errs on the side of showing more.

Every value in a line is shell-quoted (`shlex.quote`), so the line reads as the
exact command even when a value holds a blank or a quote. The lines are
shown through `wizard.redact.Redactor` and `wizard.safe_text` by whoever
displays them (the CLI, plain mode, the TUI's apply screen).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from ipaddress import IPv4Interface

from wizard.system.base import (
    Address,
    Frr,
    Iptables,
    LinkInfo,
    Links,
    Strongswan,
    Sysctl,
    Systemd,
)
from wizard.system.vici_source import initiate_command, terminate_command


def _line(*argv: object) -> str:
    """A command as an operator would type it: every argument shell-quoted where needed."""
    return shlex.join(str(a) for a in argv)


class RecordingLinks:
    """Reads links through `inner`; records link, address and route changes."""

    def __init__(self, inner: Links, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def get(self, name: str) -> LinkInfo | None:
        return self.inner.get(name)

    def addresses(self, name: str) -> list[Address]:
        return self.inner.addresses(name)

    def has_route(self, dst: str, dev: str, metric: int) -> bool:
        return self.inner.has_route(dst, dev, metric)

    def add_vti(self, name: str, local: str, remote: str, key: int) -> None:
        self.log.append(_line("ip", "link", "add", name, "type", "vti", "local", local,
                              "remote", remote, "key", key))

    def delete(self, name: str) -> None:
        self.log.append(_line("ip", "link", "del", name))

    def set_link(self, name: str, *, up: bool, mtu: int) -> None:
        self.log.append(_line("ip", "link", "set", name, "up" if up else "down", "mtu", mtu))

    def add_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None:
        self.log.append(_line("ip", "addr", "add", local, "remote", peer, "dev", name))

    def del_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None:
        self.log.append(_line("ip", "addr", "del", local, "remote", peer, "dev", name))

    def add_route(self, dst: str, dev: str, metric: int) -> None:
        self.log.append(_line("ip", "route", "add", dst, "dev", dev, "metric", metric))

    def del_route(self, dst: str, dev: str, metric: int) -> None:
        self.log.append(_line("ip", "route", "del", dst, "dev", dev, "metric", metric))


class RecordingSysctl:
    def __init__(self, inner: Sysctl, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def get(self, key: str) -> str | None:
        return self.inner.get(key)

    def set(self, key: str, value: str) -> None:
        self.log.append(_line("sysctl", "-w", f"{key}={value}"))


class RecordingIptables:
    """Reads rules through `inner`, as changed by the changes it recorded.

    A caller that deletes "while the rule is present" (uninstall, the
    status panel's failover test) would otherwise loop forever in a dry
    run: the recorded delete changes nothing `inner` can see. So what was
    recorded is remembered, and reads answer as the box would look after it.
    """

    def __init__(self, inner: Iptables, log: list[str], *, can_check: bool) -> None:
        self.inner = inner
        self.log = log
        self.can_check = can_check
        self._recorded: dict[tuple[str, str, tuple[str, ...]], bool] = {}
        """(table, chain, rule) -> present after the recorded changes."""

    def present(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        recorded = self._recorded.get((table, chain, tuple(rule)))
        if recorded is not None:
            return recorded
        return self.can_check and self.inner.present(table, chain, rule)

    def surely_absent(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        recorded = self._recorded.get((table, chain, tuple(rule)))
        if recorded is not None:
            return not recorded
        return not self.can_check or self.inner.surely_absent(table, chain, rule)

    def append(self, table: str, chain: str, rule: Sequence[str]) -> None:
        self.log.append(_line("iptables", "-t", table, "-A", chain, *rule))
        self._recorded[(table, chain, tuple(rule))] = True

    def delete(self, table: str, chain: str, rule: Sequence[str]) -> None:
        self.log.append(_line("iptables", "-t", table, "-D", chain, *rule))
        self._recorded[(table, chain, tuple(rule))] = False


class RecordingStrongswan:
    def __init__(self, inner: Strongswan, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def installed(self) -> bool:
        return self.inner.installed()

    def running(self) -> bool:
        return self.inner.running()

    def loaded_conns(self) -> set[str]:
        return self.inner.loaded_conns()

    def restart(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        self.log.append("ipsec restart")

    def start(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        self.log.append("ipsec start")

    def stop(self) -> None:
        self.log.append("ipsec stop")

    def swanctl_installed(self) -> bool:
        return self.inner.swanctl_installed()

    def swanctl_conns(self) -> set[str] | None:
        return self.inner.swanctl_conns()

    def load_swanctl(self, conns: Sequence[str], *, restart: bool, timeout: float = 30.0) -> None:
        if restart:
            self.log.append("restart the IKE daemon (systemctl restart strongswan, or ipsec "
                            "restart where the starter runs it)")
        self.log.append("swanctl --load-all --noprompt")

    def stop_swanctl(self) -> None:
        self.log.append("systemctl stop strongswan")

    def initiate(self, name: str) -> None:
        self.log.append(initiate_command(name))

    def terminate(self, name: str) -> None:
        self.log.append(terminate_command(name))


class RecordingFrr:
    """FRR read as it is; its restart and stop only written down."""

    def __init__(self, inner: Frr, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def installed(self) -> bool:
        return self.inner.installed()

    def running(self) -> bool:
        return self.inner.running()

    def restart(self) -> None:
        self.log.append("/usr/lib/frr/frrinit.sh restart")

    def stop(self) -> None:
        self.log.append("/usr/lib/frr/frrinit.sh stop")

    def vtysh_json(self, command: str) -> str | None:
        return self.inner.vtysh_json(command)


class RecordingSystemd:
    def __init__(self, inner: Systemd, log: list[str]) -> None:
        self.inner = inner
        self.log = log

    def unavailable(self) -> str | None:
        return self.inner.unavailable()

    def unit_state(self, unit: str) -> tuple[bool, bool]:
        return self.inner.unit_state(unit)

    def daemon_reload(self) -> None:
        self.log.append("systemctl daemon-reload")

    def enable_now(self, unit: str) -> None:
        self.log.append(_line("systemctl", "enable", "--now", unit))

    def restart(self, unit: str) -> None:
        self.log.append(_line("systemctl", "restart", unit))

    def disable_now(self, unit: str) -> None:
        self.log.append(_line("systemctl", "disable", "--now", unit))


def privileged() -> bool:
    """Whether read-only checks that need root (iptables -C) can run."""
    return os.geteuid() == 0
