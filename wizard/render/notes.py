"""Every place the plan departs from the AWS document, said once.

Each note's id is an anchor in docs/deviations.md, where the reason is given in
full; the text here is what the preview shows beside the step.
"""

from __future__ import annotations

from wizard.plan_types import Note

SYSCTL_COMMENTS = Note(
    "sysctl-comments",
    "The document puts '#...' comments after sysctl values; sysctl reads them as part of "
    "the value, so the comments go on their own lines here.",
)
SYSCTL_W = Note(
    "sysctl-w",
    "Values are set with 'sysctl -w' one key at a time instead of 'sysctl -p', which would "
    "re-apply every line of the file, including ones that are not the wizard's.",
)
TUNNEL_SYSCTL_AT_BOOT = Note(
    "tunnel-sysctl-at-boot",
    "The per-tunnel sysctls are set when the tunnel interface comes up, not from "
    "/etc/sysctl.conf: at boot that file is read before Tunnel1/Tunnel2 exist, so the "
    "document's lines fail there.",
)
PHYSICAL_SYSCTL_ONCE = Note(
    "physical-sysctl-once",
    "The physical-interface lines appear once, not once per tunnel as in the document.",
)
LAN_DISABLE_XFRM = Note(
    "lan-disable-xfrm",
    "disable_xfrm/disable_policy are also set on the LAN interfaces: decapsulated packets keep "
    "the tunnel's mark and would otherwise be encrypted straight back (measured in the lab).",
)
NAT_LOCAL_IP = Note(
    "nat-local-ip",
    "Behind NAT the ESP mark rule matches this box's private address, like the VTI's "
    "'local'; the document's rule names the public address, which never appears on "
    "packets here.",
)
IPTABLES_CHECK = Note(
    "iptables-check",
    "Each rule is added only if 'iptables -C' does not find it, so a re-run adds nothing twice.",
)
IPTABLES_PERSISTENCE = Note(
    "iptables-persistence",
    "Only the wizard's own rules are saved (to /etc/vpn-wizard/iptables.rules, restored with "
    "--noflush). The document's 'iptables-save > /etc/iptables.conf' freezes every rule on "
    "the box at that moment and replays them all at boot.",
)
RC_LOCAL_CREATED = Note(
    "rc-local",
    "Ubuntu 18.04 and later ship no /etc/rc.local; it is created with a shebang, mode 0755 "
    "and 'exit 0', which systemd's rc-local.service runs at boot.",
)
INTERFACES_ROUTES = Note(
    "interfaces-routes",
    "The /etc/network/interfaces stanza also restores the VPC routes and the per-tunnel "
    "sysctls, and deletes the link on 'ifdown'; the document's stanza loses the routes at "
    "reboot and cannot be brought up twice.",
)
INSTALL_ROUTES_BLOCK = Note(
    "install-routes",
    "'install_routes = no' is written as a managed line inside the 'charon {' section; an "
    "active 'install_routes' line of the operator's is commented out while it is there.",
)
INSTALL_ROUTES_UPDOWN = Note(
    "install-routes-updown",
    "Also set in updown mode: without it strongSwan adds a table-220 route for 0.0.0.0/0 "
    "that the updown script has to flush each time.",
)
UNIQUEIDS_BLOCK = Note(
    "uniqueids",
    "'uniqueids=no' is written as a managed line under 'config setup' (created if missing); "
    "an active 'uniqueids' line of the operator's is commented out while it is there.",
)
UPDOWN_QUOTING = Note(
    "updown-quoting",
    "The updown script quotes every variable, compares the argument count numerically "
    "(-gt, not '>'), and checks iptables rules before adding them.",
)
UPDOWN_VPC = Note(
    "updown-vpc",
    "<VPC CIDR> in leftupdown is filled with the VPC CIDRs, comma-separated as the script "
    "expects.",
)
HEARTBEAT_SERVICE = Note(
    "heartbeat-service",
    "The heartbeat runs as a systemd service restarted on failure, instead of "
    "'./heartbeat.sh &', which dies with the shell that started it; its variables are quoted.",
)
STRONGSWAN_RESTART = Note(
    "strongswan-restart",
    "The document restarts strongSwan only in updown mode; manual mode needs it too, to read "
    "the new conns, secrets and install_routes.",
)
