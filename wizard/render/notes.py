"""Every place the plan departs from the AWS document, said once.

Each note's id is an anchor in docs/deviations.md, where the reason is given in
full; the text here is what the preview shows beside the step.
"""

from __future__ import annotations

from wizard.model import Setup
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
STRONGSWAN_START = Note(
    "strongswan-start",
    "'ipsec restart' runs only when strongSwan is running and a file it reads changed. Not "
    "running: 'ipsec start' (the restart's stop and 2 s pause would do nothing). Running "
    "with both conns and nothing it reads changed: nothing, so the tunnels do not drop.",
)
ROUTING_TABLE = Note(
    "routing-table",
    "'routing_table = 0' is written beside 'install_routes = no': without it charon still adds "
    "an (empty) policy-routing rule for table 220 that every lookup passes through.",
)

# --- swanctl backend (strongSwan without the ipsec starter) ---------------------------------
SWANCTL_FILES = Note(
    "swanctl-files",
    "The conns go to /etc/swanctl/conf.d/vpn-wizard.conf and the keys to "
    "vpn-wizard-secrets.conf (mode 0600), two files the wizard owns whole, instead of blocks "
    "in ipsec.conf and ipsec.secrets.",
)
SWANCTL_LIFETIMES = Note(
    "swanctl-lifetimes",
    "swanctl has no ikelifetime/lifetime: the rekey, reauth, over and rand times are derived "
    "the way stroke derives them (margintime 9m, rekeyfuzz 100%, reauth=yes) and written out.",
)
SWANCTL_PROPOSALS = Note(
    "swanctl-proposals",
    "swanctl proposals are strict: only the listed proposals are offered. ipsec.conf appends "
    "strongSwan's defaults to a list without a trailing '!'.",
)
SWANCTL_DPD = Note(
    "swanctl-dpd",
    "dpdaction=hold becomes dpd_action = trap, and dpdaction=none becomes dpd_delay = 0s; "
    "dpd_timeout applies to IKEv1 only, in swanctl as in ipsec.conf.",
)
SWANCTL_LOAD = Note(
    "swanctl-load",
    "The connections are loaded with 'swanctl --load-all'. The daemon is started first when "
    "it is not running, and restarted first only when charon's own settings changed "
    "(it reads install_routes only at start).",
)

# --- today's persistence: sysctl.d, netplan or systemd-networkd, a systemd unit -------------
SYSCTL_D = Note(
    "sysctl-d",
    "Persistent kernel settings go to /etc/sysctl.d/60-vpn-wizard.conf, a file of the "
    "wizard's own, not into /etc/sysctl.conf; a later file setting the same key wins at boot.",
)
SYSCTL_D_TUNNELS = Note(
    "sysctl-d-tunnels",
    "The tunnels' rp_filter and disable_policy are in the same file: systemd applies "
    "per-interface lines again when the interface appears, which is when networkd creates "
    "Tunnel1/Tunnel2.",
)
PERSISTENCE_BOOT_ONLY = Note(
    "persistence-boot-only",
    "These files take effect at the next boot. The running box already has the same state from "
    "the steps above; 'netplan apply' and a networkd restart are never run, since either can "
    "drop the SSH session the wizard is applied through.",
)
NETPLAN_NO_PEER = Note(
    "netplan-no-peer",
    "netplan cannot give a tunnel address a peer, so the inside address is written as the /30 "
    "alone; the kernel routes the whole /30, AWS's end included, over the tunnel.",
)
NETWORKD_INDEPENDENT = Note(
    "networkd-independent",
    "The .netdev sets Independent=yes (as netplan does) instead of a Tunnel= line in the "
    "physical interface's .network file, which stays the operator's, untouched.",
)
IPTABLES_UNIT = Note(
    "iptables-unit",
    "The mangle rules are restored by vpn-wizard-iptables.service, which deletes then appends "
    "each rule (so never twice) and runs after netfilter-persistent; /etc/iptables/rules.v4 is "
    "left to the operator.",
)
UPDOWN_PERSISTENCE = Note(
    "updown-persistence",
    "In updown mode only the sysctl file is written: the updown script creates the tunnel "
    "interfaces, routes and rules each time a tunnel comes up, and a boot-time definition of "
    "the same interface would make its 'ip link add' fail.",
)

# --- AWS's own advice that the plan does not follow ----------------------------------------
AWS_MTU_ADVICE = Note(
    "aws-mtu-advice",
    "AWS's Generic file advises a tunnel MTU and a TCP MSS of its own; the plan keeps the "
    "strongSwan document's MTU and clamps the MSS to the path MTU instead.",
)


def mtu_advice(setup: Setup) -> tuple[Note, ...]:
    """The MTU/MSS note, worded with the file's numbers, when its advice differs from the plan.

    AWS's figures (1436/1387 in today's Generic download) assume the overhead of
    one cipher suite without NAT traversal; the document's 1419 leaves room
    for the others and for NAT-T's UDP header (see docs/deviations.md). The MSS
    is clamped to the path MTU rather than fixed, so it follows whatever MTU
    the operator sets. An operator who sets the MTU AWS advises gets no MTU
    sentence, only the MSS one.
    """
    connection = setup.connection
    mtu, mss = connection.advised_mtu, connection.advised_mss
    if mtu is None and mss is None:
        return ()
    parts = []
    if mtu is not None and mtu != setup.choices.mtu:
        parts.append(
            f"AWS's file advises a tunnel MTU of {mtu}; the plan uses {setup.choices.mtu}. "
            "AWS's figure fits one cipher suite without NAT traversal; the strongSwan "
            "document's 1419 leaves room for the ESP overhead of the other proposals AWS "
            "accepts and for NAT traversal's UDP header, so a later change of proposal or a "
            "NAT in the path does not fragment the tunnel."
        )
    if mss is not None:
        parts.append(
            f"AWS's file advises a TCP MSS of {mss}; the plan clamps the MSS to the path MTU "
            "(--clamp-mss-to-pmtu) instead, so it always matches the tunnel's MTU."
        )
    if not parts:
        return ()
    return (Note(AWS_MTU_ADVICE.id, " ".join(parts)),)

FRR_BLOCK = Note(
    "frr-block",
    "The document has no BGP section for Linux. FRR's bgpd runs it: the wizard's router, "
    "neighbors, prefix-lists and route-maps are one marked block in /etc/frr/frr.conf (FRR "
    "has no include), and bgpd=yes one block in /etc/frr/daemons; the rest of both files "
    "is left as it is.",
)
FRR_WRITE_MEMORY = Note(
    "frr-write-memory",
    "'write memory' in vtysh rewrites /etc/frr/frr.conf from the running configuration "
    "without comments, so the block's markers go; uninstall then refuses to guess and "
    "says so. Change the wizard's BGP settings by running the wizard again.",
)
FRR_RESTART = Note(
    "frr-restart",
    "FRR is restarted, not reloaded: a reload needs frr-pythontools and does not start a "
    "daemon newly enabled in the daemons file. frr.service is enabled so BGP comes back "
    "after a reboot.",
)
