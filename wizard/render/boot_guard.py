"""The boot guard unit: confirm-or-revert that survives a power loss.

`apply --confirm-timeout` starts a revert timer (`wizard.revert_timer`), a
process: if the box loses power before the operator confirms, the timer dies
with it, while the persistence files the apply wrote (interfaces stanzas,
netplan or networkd files, rc.local, sysctl files, the daemon's
configuration) are on disk and would bring the unconfirmed tunnels up at the
next boot. So while a confirmation is pending, the box also carries this
unit: early at boot, after the local filesystems and systemd-sysctl and
before any network or strongSwan unit, it runs `vpn-wizard boot-guard`,
which rolls back a transaction that a previous boot left unconfirmed (or
unfinished) and then removes the unit. A confirmed or rolled-back
transaction removes it at once.
"""

from __future__ import annotations

UNIT_NAME = "vpn-wizard-boot-guard.service"
ZIPAPP_CACHE = "/run/vpn-wizard-shiv"
"""Where the release zipapp unpacks itself when a unit runs it (SHIV_ROOT).

On /run, a tmpfs: each boot unpacks afresh. In the default place (/root/.shiv)
a power loss within seconds of the first run left truncated modules that the
next start trusted (found by the booted lab: the guard died on an ImportError
at the very boot it exists for). Other installations ignore the variable."""
UNIT = f"/etc/systemd/system/{UNIT_NAME}"
WANTS_LINK = f"/etc/systemd/system/sysinit.target.wants/{UNIT_NAME}"
"""What `systemctl enable` would create for `WantedBy=sysinit.target`."""

BEFORE = (
    "network-pre.target",
    "networking.service",
    "systemd-networkd.service",
    "NetworkManager.service",
    "strongswan.service",
    "strongswan-starter.service",
    "ipsec.service",
    "rc-local.service",
    "vpn-wizard-iptables.service",
    "vpn-wizard-heartbeat.service",
)
"""Everything that acts on the files an apply writes: it must read them restored."""


def unit(command: str) -> str:
    """The unit text; `command` is the installed `vpn-wizard`'s absolute path."""
    if not command.startswith("/"):
        raise ValueError(f"systemd needs an absolute path for ExecStart, not {command!r}")
    return (
        "[Unit]\n"
        "Description=vpn-wizard: roll back an apply a previous boot left unconfirmed\n"
        "Documentation=man:systemd.special(7)\n"
        "DefaultDependencies=no\n"
        "After=local-fs.target systemd-sysctl.service systemd-modules-load.service\n"
        f"Before={' '.join(BEFORE)} shutdown.target\n"
        "Wants=network-pre.target\n"
        "Conflicts=shutdown.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"Environment=SHIV_ROOT={ZIPAPP_CACHE}\n"
        f"ExecStart={command} boot-guard\n"
        "StandardOutput=journal+console\n"
        "\n"
        "[Install]\n"
        "WantedBy=sysinit.target\n"
    )
