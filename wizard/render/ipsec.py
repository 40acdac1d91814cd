"""strongSwan's legacy (starter) configuration: ipsec.conf, ipsec.secrets, charon.conf."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from wizard.blocks import ManagedBlock, lines_outside_blocks
from wizard.model import Setup, Tunnel

IPSEC_CONF = "/etc/ipsec.conf"
IPSEC_SECRETS = "/etc/ipsec.secrets"
CHARON_CONF = "/etc/strongswan.d/charon.conf"
UPDOWN_PATH = "/etc/ipsec.d/aws-updown.sh"


def duration(seconds: int) -> str:
    """strongSwan's time syntax, as the document writes it: 28800 -> "8h", 90 -> "90s"."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def config_setup_block() -> ManagedBlock:
    """Seed #1 step 3: `uniqueids=no` in the `config setup` section."""
    return ManagedBlock(
        "config-setup",
        "\tuniqueids=no",
        after=r"^config setup\s*$",
        create="config setup\n{block}\n",
        supersedes=r"^\s+uniqueids\s*=",
    )


def updown_argument(setup: Setup, tunnel: Tunnel) -> str:
    """The `leftupdown=` value: the script path and its arguments for this tunnel.

    With BGP no `-r` is given: the script builds the VTI and FRR routes over it.
    """
    base = (f"{UPDOWN_PATH} -ln {tunnel.name} -ll {tunnel.customer_inside_cidr} "
            f"-lr {tunnel.aws_inside_cidr} -m {tunnel.mark}")
    if setup.dynamic:
        return base
    routes = ",".join(str(net) for net in setup.choices.vpc_cidrs) or "<VPC CIDR>"
    return f"{base} -r {routes}"


def conn_lines(setup: Setup, tunnel: Tunnel) -> list[str]:
    """Seed #1 step 3: the `conn` block, key for key in the document's order."""
    c = tunnel.crypto
    lines = [
        f"conn {tunnel.name}",
        "\tauto=start",
        "\tleft=%defaultroute",
        f"\tleftid={tunnel.customer_outside_ip}",
        f"\tright={tunnel.aws_outside_ip}",
        "\ttype=tunnel",
        "\tleftauth=psk",
        "\trightauth=psk",
        f"\tkeyexchange=ikev{c.ike_version}",
        f"\tike={c.ike}",
        f"\tikelifetime={duration(c.ike_lifetime)}",
        f"\tesp={c.esp}",
        f"\tlifetime={duration(c.esp_lifetime)}",
        "\tkeyingtries=%forever",
        "\tleftsubnet=0.0.0.0/0",
        "\trightsubnet=0.0.0.0/0",
        f"\tdpddelay={c.dpd_delay}s",
        f"\tdpdtimeout={c.dpd_timeout}s",
        f"\tdpdaction={c.dpd_action}",
        f"\tmark={tunnel.mark}",
    ]
    if setup.choices.mode == "updown":
        lines.append(f'\tleftupdown="{updown_argument(setup, tunnel)}"')
    return lines


def conn_block(setup: Setup, tunnel: Tunnel) -> ManagedBlock:
    return ManagedBlock(tunnel.name, "\n".join(conn_lines(setup, tunnel)))


def secrets_line(setup: Setup, tunnel: Tunnel) -> str:
    """Seed #1 step 4, spacing exactly as the document warns. Holds the real PSK."""
    return (
        f"{tunnel.customer_outside_ip} {tunnel.aws_outside_ip} : "
        f'PSK "{tunnel.psk.reveal()}"'
    )


def secrets_block(setup: Setup, tunnel: Tunnel) -> ManagedBlock:
    return ManagedBlock(tunnel.name, secrets_line(setup, tunnel))


def install_routes_block() -> ManagedBlock:
    """Seed #2 step 3: keep strongSwan's routes out of table 220, and the table itself unused.

    `install_routes = no` is the document's line. `routing_table = 0` goes
    with it: charon otherwise still installs a policy rule that sends every
    lookup through table 220 first (`ip rule` shows "from all lookup 220"),
    empty once routes are off, but a trap for anything else that puts a route
    there. charon-systemd reads the same `charon` section, so both backends
    share the block (see routing-table).
    """
    return ManagedBlock(
        "install-routes",
        "    install_routes = no\n    routing_table = 0",
        after=r"^\s*charon\s*\{",
        create="charon {\n{block}}\n",
        supersedes=r"^\s*(install_routes|routing_table)\s*=",
    )


_CONN = re.compile(r"^conn\s+(\S+)")
_MARK = re.compile(r"^\s+mark\s*=\s*(\S+)")
_RIGHT = re.compile(r"^\s+right\s*=\s*\"?([^\s\"#]+)")


@dataclass(frozen=True)
class ExistingConn:
    """A `conn` of the operator's own in ipsec.conf (outside the wizard's blocks).

    Attributes:
        name: the conn's name.
        line: where its `conn` line is (1-based), for messages.
        right: its `right=` value as written ("203.0.113.1", "%any", a host name), or None.
        mark: its `mark=` value, or None.
    """

    name: str
    line: int
    right: str | None = None
    mark: int | None = None


def existing_conns(text: str) -> dict[str, ExistingConn]:
    """The conns an ipsec.conf already has outside the wizard's blocks, by name.

    `conn %default` is left out (it is not a connection). Marks may be written
    as "100", "0x64" or "100/0xffffffff"; only the value counts.
    """
    conns: dict[str, ExistingConn] = {}
    conn: ExistingConn | None = None
    for number, line in lines_outside_blocks(text):
        match = _CONN.match(line)
        if match:
            conn = None
            if not match.group(1).startswith("%"):
                conn = ExistingConn(match.group(1), number)
                conns.setdefault(conn.name, conn)
            continue
        if line and not line[0].isspace():
            conn = None
            continue
        if conn is None or conns.get(conn.name) is not conn:
            continue
        match = _MARK.match(line)
        if match:
            try:
                conn = replace(conn, mark=int(match.group(1).split("/")[0], 0))
            except ValueError:
                continue
            conns[conn.name] = conn
            continue
        match = _RIGHT.match(line)
        if match:
            conn = replace(conn, right=match.group(1))
            conns[conn.name] = conn
    return conns


def existing_marks(text: str) -> dict[str, int]:
    """`conn` name -> mark for the conns an ipsec.conf already has, outside our blocks."""
    return {name: c.mark for name, c in existing_conns(text).items() if c.mark is not None}
