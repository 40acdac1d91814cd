"""The commands of a plan (apply's and uninstall's), as typed values rather than strings.

Each operation knows the command line the AWS document would have the operator
type (`argv`, for previews and `--format json`). The engine does not run
`argv` through a shell: each operation type has one adapter
(`wizard.engine.adapters`) that looks at the host, does it through
`wizard.system` (netlink for links and routes, direct writes for sysctl,
argv-only `iptables`) and undoes it; the preview's "how it is undone" comes
from that adapter too, so what is previewed, done and undone come from the
same value.
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



@dataclass(frozen=True)
class AddPeerAddress:
    """`ip addr add LOCAL remote PEER dev DEV`: the point-to-point inside address."""

    dev: str
    local: IPv4Interface
    peer: IPv4Interface

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "addr", "add", str(self.local), "remote", str(self.peer), "dev", self.dev)



@dataclass(frozen=True)
class SetLinkUp:
    """`ip link set DEV up mtu MTU`."""

    dev: str
    mtu: int

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "link", "set", self.dev, "up", "mtu", str(self.mtu))



@dataclass(frozen=True)
class AddRoute:
    """`ip route add DST dev DEV metric METRIC`."""

    dst: IPv4Network
    dev: str
    metric: int

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "route", "add", str(self.dst), "dev", self.dev, "metric", str(self.metric))



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
    def delete_argv(self) -> tuple[str, ...]:
        """The `-D` form, as a unit's ExecStop and the uninstall run it."""
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



@dataclass(frozen=True)
class SystemdUnit:
    """Reload systemd and enable+start (or restart) one unit."""

    unit: str
    action: Literal["enable-now"] = "enable-now"

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "enable", "--now", self.unit)



@dataclass(frozen=True)
class DaemonReload:
    """`systemctl daemon-reload`, after unit files change.

    Attributes:
        scope: run it when its own step changed something ("step", apply: the
            step writes the unit files), or when anything in the transaction
            did ("transaction", uninstall: the files step came before).
    """

    scope: Literal["step", "transaction"] = "step"

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "daemon-reload")



# --------------------------------------------------------------------------- uninstall


@dataclass(frozen=True)
class DeleteVtiLink:
    """`ip link del NAME`, only when NAME is the wizard's VTI (its key); its routes go with it.

    Attributes:
        sysctls: the interface's own keys the apply set (rp_filter,
            disable_policy): they go with the interface, so its undo sets them
            again on the re-created one.
    """

    name: str
    key: int
    sysctls: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "link", "del", self.name)


@dataclass(frozen=True)
class DeleteRoute:
    """`ip route del DST dev DEV metric METRIC`."""

    dst: IPv4Network
    dev: str
    metric: int

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ip", "route", "del", str(self.dst), "dev", self.dev, "metric", str(self.metric))


@dataclass(frozen=True)
class DeleteIptablesRule:
    """`iptables -t TABLE -D CHAIN RULE...`, repeated while `-C` finds a copy."""

    table: str
    chain: str
    rule: tuple[str, ...]

    @property
    def argv(self) -> tuple[str, ...]:
        return ("iptables", "-t", self.table, "-D", self.chain, *self.rule)


@dataclass(frozen=True)
class DisableUnit:
    """`systemctl disable --now UNIT`."""

    unit: str

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "disable", "--now", self.unit)


@dataclass(frozen=True)
class RemoveDir:
    """`rmdir PATH`: a directory the wizard created, if only what the wizard made is left in it.

    Attributes:
        ours: every directory the wizard created, and every file the same
            uninstall removes: what may still be inside PATH when it goes
            (a dry run removes nothing, and must say the same as the run).
    """

    path: str
    ours: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        return ("rmdir", self.path)


@dataclass(frozen=True)
class ReloadStrongswan:
    """`ipsec restart` after the wizard's conns are gone, when the daemon runs (uninstall)."""

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ipsec", "restart")


@dataclass(frozen=True)
class StopStrongswan:
    """`ipsec stop`: the daemon was stopped before the wizard first started it."""

    @property
    def argv(self) -> tuple[str, ...]:
        return ("ipsec", "stop")


@dataclass(frozen=True)
class ReloadSwanctl:
    """Restart the daemon and `swanctl --load-all` after the wizard's files are gone (uninstall)."""

    @property
    def argv(self) -> tuple[str, ...]:
        return ("swanctl", "--load-all", "--noprompt")


@dataclass(frozen=True)
class StopSwanctl:
    """`systemctl stop strongswan`: the daemon was stopped before the wizard first started it."""

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "stop", "strongswan")


@dataclass(frozen=True)
class RestartFrr:
    """Restart FRR on its new configuration, and enable it so BGP comes back after a reboot.

    With systemd: `systemctl enable frr` and `systemctl restart frr`; without
    (a container, the UML lab): the package's /usr/lib/frr/frrinit.sh restart.
    Undo restarts it on the restored files, or stops it (and disables it) if it
    was not running (enabled) before.
    """

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "enable", "--now", "frr.service")


@dataclass(frozen=True)
class ReloadFrr:
    """Uninstall: leave FRR as the wizard found it, once the wizard's blocks are gone.

    Attributes:
        stop: FRR was not running before the wizard's first apply: stop it.
        disable: and frr.service was not enabled then: disable it too.
    Otherwise FRR, when it runs, is restarted so bgpd drops the wizard's router.
    """

    stop: bool = False
    disable: bool = False

    @property
    def argv(self) -> tuple[str, ...]:
        if self.disable:
            return ("systemctl", "disable", "--now", "frr.service")
        if self.stop:
            return ("systemctl", "stop", "frr.service")
        return ("systemctl", "restart", "frr.service")


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
    | DeleteVtiLink
    | DeleteRoute
    | DeleteIptablesRule
    | DisableUnit
    | RemoveDir
    | ReloadStrongswan
    | StopStrongswan
    | ReloadSwanctl
    | StopSwanctl
    | RestartFrr
    | ReloadFrr
)
