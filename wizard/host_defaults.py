"""What the box proposes for the choices nobody made yet: decided once, with a reason each.

`wizard.system.host.probe` says what the box *has*; this module says what
that means for the plan: which strongSwan backend, which persistence, which
WAN interface, and whether the box is behind NAT (and its private address).
Every front end takes its defaults from `decide` and `apply_defaults`, so
the TUI, plain mode and the CLI start from the same setup, and each default
carries the one-line reason the screens and `plan` show.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from typing import Generic, TypeVar

from wizard.model import Backend, Connection, Persistence, Setup
from wizard.system.host import HostFacts

T = TypeVar("T")

SOURCE_DETECTED = "detected"
"""The `sources` value for a choice taken from the box rather than from a file or default."""

#: Sources a host default may replace: nobody chose these values.
_REPLACEABLE = ("default", SOURCE_DETECTED)


@dataclass(frozen=True)
class Default(Generic[T]):
    """One proposed value and why, in a line an operator reads."""

    value: T
    reason: str


@dataclass(frozen=True)
class HostDefaults:
    """The defaults the box proposes.

    Attributes:
        backend: "stroke" or "swanctl".
        persistence: "seed", "netplan", "networkd" or "none".
        wan: the WAN interface; None when the interfaces were not read.
        local_ip: the private address when behind NAT, `Default(None, ...)`
            when the customer outside address is on this box; None when it
            cannot be told (interfaces not read, or no tunnel yet).
    """

    backend: Default[Backend]
    persistence: Default[Persistence]
    wan: Default[str] | None = None
    local_ip: Default[IPv4Address | None] | None = None

    @property
    def behind_nat(self) -> bool | None:
        """True behind NAT, False when not, None when unknown."""
        return None if self.local_ip is None else self.local_ip.value is not None

    def reasons(self) -> dict[str, str]:
        """Question id -> why its default is what it is (for the screens and `plan`)."""
        out = {"choices.backend": self.backend.reason,
               "choices.persistence": self.persistence.reason}
        if self.wan is not None:
            out["choices.physical_interface"] = self.wan.reason
        if self.local_ip is not None:
            out["choices.behind_nat"] = self.local_ip.reason
            out["choices.local_ip"] = self.local_ip.reason
        return out


def default_backend(facts: HostFacts) -> Default[Backend]:
    """The document's starter when it is there, swanctl when only swanctl is.

    strongSwan 6 (Ubuntu 26.04) ships no starter by default; a box with only
    `swanctl` and charon-systemd can run nothing else. Where both exist the
    document's stroke layout is kept: it is what the operator's guide shows.
    """
    if facts.starter:
        return Default("stroke", "the ipsec starter is installed: the document's ipsec.conf")
    if facts.swanctl or facts.charon_systemd:
        return Default("swanctl", "only swanctl/charon-systemd is installed (no ipsec "
                                  "starter): swanctl.conf over vici")
    if facts.major_version is not None and facts.major_version >= 6:
        return Default("swanctl", f"strongSwan {facts.strongswan_version} has no ipsec starter: "
                                  "swanctl.conf over vici")
    return Default("stroke", "no strongSwan found: the document's ipsec.conf (install "
                             "strongswan-starter before applying)")


def default_persistence(facts: HostFacts) -> Default[Persistence]:
    """netplan where it configures the box, networkd where only it does, ifupdown's seed where
    `ifup` is installed, else none; never a systemd-based choice on a box without systemd.

    netplan renders to systemd-networkd, so a box with netplan gets netplan
    files (networkd files beside netplan's own would be a second source of
    truth). A root with no os-release is an empty directory, not a box:
    nothing is known about it, so the document's own layout stands.
    """
    if facts.netplan and facts.systemd:
        return Default("netplan", "netplan configures this box: tunnels in /etc/netplan, "
                                  "rules restored by a systemd unit")
    if facts.networkd and facts.systemd:
        return Default("networkd", "systemd-networkd configures this box (no netplan)")
    if facts.ifupdown:
        return Default("seed", "ifupdown is installed: the document's /etc/network/interfaces "
                               "and rc.local")
    if not facts.os_release:
        return Default("seed", "nothing is known about the target (no os-release): the "
                               "document's layout")
    found = "no systemd" if not facts.systemd else "no ifupdown, netplan or systemd-networkd"
    return Default("none", f"{found} on this box: nothing would restore the tunnels at boot, "
                           "so runtime only (re-run the wizard after a reboot)")


def default_wan(facts: HostFacts) -> Default[str] | None:
    """The interface the default route leaves by; None when the interfaces are not known."""
    if not facts.interfaces:
        return None
    wan = next((i for i in facts.interfaces if i.has_default_route), None)
    if wan is None:
        return None
    return Default(wan.name, f"{wan.name} carries the default route")


def default_local_ip(
    facts: HostFacts, connection: Connection, wan: str
) -> Default[IPv4Address | None] | None:
    """Behind NAT when the customer outside address is on no interface; then the WAN's address.

    None when it cannot be told: the interfaces were not read, or there is no
    tunnel. Behind NAT without an IPv4 address on the WAN, the address is
    left for the operator (the Interfaces step says why).
    """
    if facts.interfaces is None or not connection.tunnels:
        return None
    outside = connection.tunnels[0].customer_outside_ip
    holder = next((i for i in facts.interfaces if i.holds(outside)), None)
    if holder is not None:
        return Default(None, f"{outside} is on {holder.name}: this box is not behind NAT")
    interface = facts.interface(wan)
    if interface is None or not interface.addresses:
        return None
    address = interface.addresses[0].ip
    return Default(address, f"{outside} is on no interface of this box, so it is behind NAT; "
                            f"its private address is {address}, {wan}'s first IPv4 address")


def decide(facts: HostFacts, connection: Connection | None, *,
           wan: str | None = None) -> HostDefaults:
    """Every default the box proposes for this connection.

    Args:
        facts: what the probe found.
        connection: the AWS side (its customer outside address tells NAT);
            None before anything is imported.
        wan: the WAN interface the operator chose, if any; the NAT address is
            that interface's. Defaults to the default-route interface.
    """
    wan_default = default_wan(facts)
    chosen = wan or (wan_default.value if wan_default else None)
    local_ip = (default_local_ip(facts, connection, chosen)
                if connection is not None and chosen else None)
    return HostDefaults(default_backend(facts), default_persistence(facts), wan_default, local_ip)


#: The choices a host default can set.
KEYS = ("backend", "persistence", "physical_interface", "local_ip")


def apply_defaults(
    setup: Setup, sources: Mapping[str, str], defaults: HostDefaults,
    keys: Collection[str] = KEYS,
) -> tuple[Setup, dict[str, str]]:
    """`setup` with each choice nobody made replaced by the box's default.

    A value from an answers file or typed by the operator (source other than
    "default"/"detected") is never overridden; the replaced ones are marked
    "detected" in the returned sources. The NAT address follows the operator's
    WAN when they chose one. `keys` narrows what may change (a caller that
    knows only the interfaces leaves backend and persistence alone).
    """
    new_sources = dict(sources)
    changes: dict[str, object] = {}

    def free(key: str) -> bool:
        return new_sources.get(f"choices.{key}", "default") in _REPLACEABLE

    if free("backend"):
        changes["backend"] = defaults.backend.value
    if free("persistence"):
        changes["persistence"] = defaults.persistence.value
    if defaults.wan is not None and free("physical_interface"):
        changes["physical_interface"] = defaults.wan.value
    if defaults.local_ip is not None and free("local_ip"):
        changes["local_ip"] = defaults.local_ip.value
    changes = {k: v for k, v in changes.items() if k in keys and getattr(setup.choices, k) != v}
    if not changes:
        return setup, new_sources
    choices = replace(setup.choices, **changes)  # type: ignore[arg-type]
    new_sources.update({f"choices.{key}": SOURCE_DETECTED for key in changes})
    return replace(setup, choices=choices), new_sources


def host_defaults(facts: HostFacts, setup: Setup, sources: Mapping[str, str],
                  keys: Collection[str] = KEYS) -> tuple[Setup, dict[str, str]]:
    """`decide` then `apply_defaults`: the one call a front end makes after a load or import."""
    wan = (setup.choices.physical_interface
           if sources.get("choices.physical_interface", "default") not in _REPLACEABLE else None)
    return apply_defaults(setup, sources, decide(facts, setup.connection, wan=wan), keys)
