"""strongSwan's swanctl configuration: the AWS document's conns, for boxes without the starter.

Ubuntu 26.04's strongSwan 6 ships no `ipsec` starter and no stroke plugin by
default; the daemon is charon-systemd and the configuration is loaded with
`swanctl --load-all` over vici. This module renders the same two tunnels the
document's `ipsec.conf` describes, connection for connection, into two files
the wizard owns whole:

* `/etc/swanctl/conf.d/vpn-wizard.conf` (0644): the connections;
* `/etc/swanctl/conf.d/vpn-wizard-secrets.conf` (0600): the pre-shared keys.

Why two files and not one 0600 file: the split is the one the document makes
between ipsec.conf and ipsec.secrets, so the connection file stays readable
for previews, `plan` as an ordinary user and the status panel, while only the
secrets file needs root. swanctl.conf's stock `include conf.d/*.conf` reads
both, and strongSwan's settings parser merges their sections.

What stroke does implicitly has to be said explicitly here: the lifetimes
(see `lifetimes`), `keyingtries=%forever`, the mark on both directions, the
dpd action's new name. `parse` reads such a file back, so tests can compare
the two backends key by key and the simulated daemon can tell which
connections a file defines.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.model import Crypto, Setup, Tunnel
from wizard.render import ipsec

# The reader of this syntax lives in its own leaf; named here too, as its readers know it.
from wizard.swanctl_syntax import ParseError as ParseError
from wizard.swanctl_syntax import defined_connections as defined_connections
from wizard.swanctl_syntax import parse as parse

SWANCTL_DIR = "/etc/swanctl/conf.d"
SWANCTL_CONF = f"{SWANCTL_DIR}/vpn-wizard.conf"
SWANCTL_SECRETS = f"{SWANCTL_DIR}/vpn-wizard-secrets.conf"

MARGIN = 540
"""ipsec.conf's default `margintime` (9m): how long before expiry stroke rekeys."""
FUZZ = 100
"""ipsec.conf's default `rekeyfuzz` (100%): the random share of the margin."""

DPD_ACTIONS = {"restart": "restart", "clear": "clear", "hold": "trap", "none": "clear"}
"""ipsec.conf `dpdaction` -> swanctl `dpd_action`.

stroke maps hold to a trap policy (swanctl's `trap`) and both clear and none
to no action; `none` additionally switches DPD off (`dpd_delay = 0s`), which
is what stroke's build_peer_cfg does. `restart` is accepted by swanctl 5.x
and 6.x alike (6.x also calls it `start`).
"""

_INDENT = "    "


@dataclass(frozen=True)
class Lifetimes:
    """swanctl's rekeying times for one tunnel, as stroke derives them from ipsec.conf.

    stroke's build_peer_cfg/build_child_cfg (strongSwan 5.x,
    src/libcharon/plugins/stroke/stroke_config.c), with ipsec.conf's defaults
    `margintime=9m`, `rekeyfuzz=100%` and `reauth=yes`:

    * IKE SA: `reauth_time = ikelifetime - margintime` (with reauth=yes the
      IKE SA is re-authenticated, never just rekeyed, so `rekey_time = 0`),
      `over_time = margintime`, `rand_time = margintime * rekeyfuzz / 100`.
      The SA is hard-deleted at reauth_time + over_time = ikelifetime.
    * CHILD_SA: `life_time = lifetime`, `rekey_time = lifetime - margintime`,
      `rand_time = margintime * rekeyfuzz / 100`.

    For the seed (ikelifetime=8h, lifetime=1h): reauth 28800-540 = 28260 s,
    over and rand 540 s; child rekey 3600-540 = 3060 s, life 3600 s, rand 540 s.
    swanctl's own defaults (rekey 4h, life 110% of rekey...) differ, which is
    why every one of these is written out.
    """

    rekey_time: int
    reauth_time: int
    over_time: int
    rand_time: int
    child_rekey_time: int
    child_life_time: int
    child_rand_time: int


def lifetimes(crypto: Crypto, margin: int = MARGIN, fuzz: int = FUZZ) -> Lifetimes:
    """The swanctl times equivalent to `ikelifetime`/`lifetime` under stroke (see `Lifetimes`)."""
    jitter = margin * fuzz // 100
    return Lifetimes(
        rekey_time=0,
        reauth_time=crypto.ike_lifetime - margin,
        over_time=margin,
        rand_time=jitter,
        child_rekey_time=crypto.esp_lifetime - margin,
        child_life_time=crypto.esp_lifetime,
        child_rand_time=jitter,
    )


def proposals(value: str) -> str:
    """A proposal list as swanctl takes it: stroke's strict marker `!` dropped.

    swanctl proposals are always strict (strongSwan's defaults are appended
    only when the list says `default`), so `aes128-sha1-modp1024!` and
    `aes128-sha1-modp1024` both become the latter; see swanctl-proposals.
    """
    return ",".join(p.strip() for p in value.strip().rstrip("!").split(","))


def local_addrs(setup: Setup) -> str:
    """`left=%defaultroute`: any local address, or the private one behind NAT.

    Behind NAT the VTI is bound to the private address (the seed's <LOCAL IP>),
    so IKE is pinned to it too; otherwise charon picks the source address the
    routing table gives, as %defaultroute did.
    """
    return str(setup.choices.local_ip) if setup.choices.local_ip else "%any"


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def connection_lines(setup: Setup, tunnel: Tunnel) -> list[str]:
    """One `connections.<name>` section, equivalent to the seed's `conn` (indented 4)."""
    c = tunnel.crypto
    times = lifetimes(c)
    dpd_delay = 0 if c.dpd_action == "none" else c.dpd_delay
    name = tunnel.name
    i1, i2, i3, i4 = (_INDENT * n for n in (1, 2, 3, 4))
    lines = [
        f"{i1}{name} {{",
        f"{i2}version = {c.ike_version}",
        f"{i2}local_addrs = {local_addrs(setup)}",
        f"{i2}remote_addrs = {tunnel.aws_outside_ip}",
        f"{i2}proposals = {proposals(c.ike)}",
        f"{i2}# ikelifetime={ipsec.duration(c.ike_lifetime)} less stroke's margintime "
        f"({MARGIN}s): re-authenticate, as ipsec.conf's reauth=yes does",
        f"{i2}rekey_time = {times.rekey_time}s",
        f"{i2}reauth_time = {times.reauth_time}s",
        f"{i2}over_time = {times.over_time}s",
        f"{i2}rand_time = {times.rand_time}s",
        f"{i2}keyingtries = 0",
        f"{i2}unique = no",
        f"{i2}dpd_delay = {dpd_delay}s",
    ]
    if c.ike_version == 2:
        lines.append(f"{i2}# dpd_timeout is read for IKEv1 only; IKEv2 uses charon's "
                     "retransmission timeouts (the same as with ipsec.conf)")
    lines += [
        f"{i2}dpd_timeout = {c.dpd_timeout}s",
        f"{i2}local {{",
        f"{i3}auth = psk",
        f"{i3}id = {tunnel.customer_outside_ip}",
        f"{i2}}}",
        f"{i2}remote {{",
        f"{i3}auth = psk",
        f"{i3}id = {tunnel.aws_outside_ip}",
        f"{i2}}}",
        f"{i2}children {{",
        f"{i3}{name} {{",
        f"{i4}mode = tunnel",
        f"{i4}local_ts = 0.0.0.0/0",
        f"{i4}remote_ts = 0.0.0.0/0",
        f"{i4}esp_proposals = {proposals(c.esp)}",
        f"{i4}rekey_time = {times.child_rekey_time}s",
        f"{i4}life_time = {times.child_life_time}s",
        f"{i4}rand_time = {times.child_rand_time}s",
        f"{i4}mark_in = {tunnel.mark}",
        f"{i4}mark_out = {tunnel.mark}",
        f"{i4}dpd_action = {DPD_ACTIONS[c.dpd_action]}",
        f"{i4}start_action = start",
    ]
    if setup.choices.mode == "updown":
        lines.append(f"{i4}updown = {_quote(ipsec.updown_argument(setup, tunnel))}")
    lines += [f"{i3}}}", f"{i2}}}", f"{i1}}}"]
    return lines


def conf(setup: Setup) -> str:
    """The whole of /etc/swanctl/conf.d/vpn-wizard.conf (no secrets in it)."""
    vpn = setup.connection.vpn_connection_id
    lines = [
        "# vpn-wizard: the AWS tunnels"
        + (f" of {vpn}" if vpn else "")
        + ", for swanctl (loaded with 'swanctl --load-all').",
        "# The whole file is the wizard's: a re-run replaces it, 'vpn-wizard uninstall' "
        "removes it.",
        "# Each connection is the AWS document's ipsec.conf conn of the same name "
        "(docs/targets.md);",
        f"# the pre-shared keys are in {SWANCTL_SECRETS.rsplit('/', 1)[1]} (mode 0600).",
        "connections {",
    ]
    for index, tunnel in enumerate(setup.tunnels):
        if index:
            lines.append("")
        lines += connection_lines(setup, tunnel)
    lines.append("}")
    return "\n".join(lines) + "\n"


def secrets(setup: Setup) -> str:
    """The whole of vpn-wizard-secrets.conf. Holds the real PSKs: write it 0600, show it masked."""
    lines = [
        "# vpn-wizard: the pre-shared keys of the AWS tunnels (the AWS document's "
        "ipsec.secrets lines).",
        "# The whole file is the wizard's; keep it mode 0600.",
        "secrets {",
    ]
    for tunnel in setup.tunnels:
        lines += [
            f"{_INDENT}ike-{tunnel.name} {{",
            f"{_INDENT * 2}id-local = {tunnel.customer_outside_ip}",
            f"{_INDENT * 2}id-remote = {tunnel.aws_outside_ip}",
            f"{_INDENT * 2}secret = {_quote(tunnel.psk.reveal())}",
            f"{_INDENT}}}",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def connection_names(setup: Setup) -> tuple[str, ...]:
    """The connections `conf` defines: what `swanctl --list-conns` must show after loading."""
    return tuple(t.name for t in setup.tunnels)
