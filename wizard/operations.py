"""The commands of a plan, as typed values rather than strings.

Each operation knows the command line the AWS document would have the operator
type (`argv`, for previews and `--format json`) and how it is undone. The apply
engine does not run `argv` through a shell: it dispatches on the operation's
type to an adapter in `wizard.system` (netlink for links and routes, direct
writes for sysctl, argv-only `iptables`), so what is previewed and what is done
come from the same value.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal


@dataclass(frozen=True)
class SetSysctl:
    """Set a kernel parameter now (the file edit that makes it persistent is separate)."""

    key: str
    value: str

    @property
    def written_key(self) -> str:
        """The key as `sysctl` and sysctl.conf/sysctl.d read it.

        An interface name may hold dots (the VLAN eth0.100); in the dotted form
        sysctl would read them as separators, so such a key is written in the
        `/` form (net/ipv4/conf/eth0.100/disable_xfrm), where a dot is part of a name.
        """
        prefix = "net.ipv4.conf."
        if self.key.startswith(prefix):
            iface, _, leaf = self.key[len(prefix):].rpartition(".")
            if "." in iface:
                return f"net/ipv4/conf/{iface}/{leaf}"
        return self.key

    @property
    def argv(self) -> tuple[str, ...]:
        return ("sysctl", "-w", f"{self.written_key}={self.value}")

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("sysctl", "-w", f"{self.written_key}=<previous value>")


@dataclass(frozen=True)
class AddVtiLink:
    """`ip link add NAME type vti local L remote R key K` (ikey = okey = K)."""

    name: str
    local: IPv4Address
    remote: IPv4Address
    key: int

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "link", "add", self.name, "type", "vti", "local", str(self.local),
                "remote", str(self.remote), "key", str(self.key))

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("ip", "link", "del", self.name)


@dataclass(frozen=True)
class AddPeerAddress:
    """`ip addr add LOCAL remote PEER dev DEV`: the point-to-point inside address."""

    dev: str
    local: IPv4Interface
    peer: IPv4Interface

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "addr", "add", str(self.local), "remote", str(self.peer), "dev", self.dev)

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("ip", "addr", "del", str(self.local), "remote", str(self.peer), "dev", self.dev)


@dataclass(frozen=True)
class SetLinkUp:
    """`ip link set DEV up mtu MTU`."""

    dev: str
    mtu: int

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "link", "set", self.dev, "up", "mtu", str(self.mtu))

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("ip", "link", "set", self.dev, "down")


@dataclass(frozen=True)
class AddRoute:
    """`ip route add DST dev DEV metric METRIC`."""

    dst: IPv4Network
    dev: str
    metric: int

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "route", "add", str(self.dst), "dev", self.dev, "metric", str(self.metric))

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("ip", "route", "del", str(self.dst), "dev", self.dev, "metric", str(self.metric))


@dataclass(frozen=True)
class AddIptablesRule:
    """`iptables -t TABLE -A CHAIN RULE...`, added only if `-C` says it is absent."""

    table: str
    chain: str
    rule: tuple[str, ...]

    @property
    def argv(self) -> tuple[str, ...]:
        return ("iptables", "-t", self.table, "-A", self.chain, *self.rule)

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("iptables", "-t", self.table, "-D", self.chain, *self.rule)

    def check_argv(self) -> tuple[str, ...]:
        """The `-C` form: exit 0 when the rule is already present."""
        return ("iptables", "-t", self.table, "-C", self.chain, *self.rule)


@dataclass(frozen=True)
class RestartStrongswan:
    """(Re)start the IKE daemon so it reads the new conns and secrets.

    Undo restarts it again on the restored configuration, or stops it if it
    was not running before.
    """

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ipsec", "restart")

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("ipsec", "restart")


@dataclass(frozen=True)
class LoadSwanctl:
    """Have the IKE daemon run the swanctl configuration: `swanctl --load-all`.

    The swanctl counterpart of `RestartStrongswan`. When the plan changed
    anything, the daemon is restarted first (charon reads charon.conf's
    `install_routes`/`routing_table` only when it starts), exactly as
    `ipsec restart` does for the starter; then every file under
    /etc/swanctl/conf.d is loaded over vici. Undo restores the files first and
    loads them again, which unloads the wizard's connections (swanctl unloads
    what is no longer in its files).

    Attributes:
        conns: the connections the files define; apply waits until the daemon
            lists them, so a file the daemon rejects fails the step.
    """

    conns: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        return ("swanctl", "--load-all", "--noprompt")

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("swanctl", "--load-all", "--noprompt")


@dataclass(frozen=True)
class SystemdUnit:
    """Reload systemd and enable+start (or restart) one unit."""

    unit: str
    action: Literal["enable-now"] = "enable-now"

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "enable", "--now", self.unit)

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("systemctl", "disable", "--now", self.unit)


@dataclass(frozen=True)
class DaemonReload:
    """`systemctl daemon-reload`, after unit files change."""

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "daemon-reload")

    @property
    def undo_argv(self) -> tuple[str, ...]:
        return ("systemctl", "daemon-reload")


Operation = (
    SetSysctl
    | AddVtiLink
    | AddPeerAddress
    | SetLinkUp
    | AddRoute
    | AddIptablesRule
    | RestartStrongswan
    | LoadSwanctl
    | SystemdUnit
    | DaemonReload
)
