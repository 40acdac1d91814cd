"""What is wrong in a snapshot, one sentence per finding in the operator's words. Pure.

Also the small wordings every face of the status shares: how long ago,
when the heartbeat counts as silent, which tunnel carries the traffic.
"""

from __future__ import annotations

from wizard.status.model import (
    BgpPeer,
    PingStatus,
    RouteInForce,
    StatusSnapshot,
    TunnelStatus,
)

IPSEC_CONF = "/etc/ipsec.conf"

DRY_RUN_FINDING = (
    "Dry run: nothing was applied, so these tunnels are not expected to be up; "
    "apply the plan (vpn-wizard, or vpn-wizard apply) to bring them up."
)

NOTHING_APPLIED = (
    "No tunnels configured by vpn-wizard: no setup applied by vpn-wizard on this box: "
    "give --import or --answers, or run vpn-wizard to apply one."
)


def human_duration(seconds: float | None) -> str:
    """"45 s", "3 min", "2 h 05 min", "3 d 4 h": short enough for a panel column."""
    if seconds is None:
        return "?"
    s = int(max(0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def heartbeat_silence_limit(interval: float | None) -> float:
    """Seconds without a reply after which the heartbeat counts as failing.

    Three missed rounds, and never less than 15 s, so one lost ping on a
    busy link is not an alarm.
    """
    return max(15.0, 3 * (interval or 5.0))


def ping_counts(snapshot: StatusSnapshot, beat: PingStatus) -> str:
    """"12/12 in the last minute", with its own age when the heartbeat counted them long ago.

    The counts cover the minute before the heartbeat's last round, not the
    minute before this reading: once the heartbeat is silent, its last good
    minute must not read as now beside a "last reply 40 s ago".
    """
    counts = f"{beat.replies}/{beat.attempts}"
    if beat.counted_at is None:
        return f"{counts} answered"
    age = snapshot.taken_at - beat.counted_at
    if age <= heartbeat_silence_limit(snapshot.heartbeat_interval):
        return f"{counts} in the last minute"
    return f"{counts} in the minute to {human_duration(age)} ago (heartbeat silent since)"


def tunnel_label(snapshot: StatusSnapshot, name: str) -> str:
    """"Tunnel 1", or "Tunnel 1 (vpn-a)" when the conn has another name."""
    for index, tunnel in enumerate(snapshot.tunnels):
        if tunnel.name == name:
            return _label(tunnel, index)
    return name


def carrier(snapshot: StatusSnapshot, path: RouteInForce) -> str:
    """Which way traffic to one VPC CIDR goes now, in words.

    "Tunnel 1 (dev Tunnel1, metric 100)", "eth0 (0.0.0.0/0), not a tunnel", or "no route".
    """
    route = path.route
    if route is None:
        return "no route"
    if path.tunnel is None:
        return f"{route.dev or '?'} ({route.dst}), not a tunnel"
    return f"{tunnel_label(snapshot, path.tunnel)} ({route_words(path)})"


def route_words(path: RouteInForce) -> str:
    """"dev Tunnel1, metric 100": the kernel's route, as `ip route` would name it."""
    route = path.route
    if route is None:
        return "no route"
    metric = f", metric {route.metric}" if route.metric is not None else ""
    return f"dev {route.dev or '?'}{metric}"


def _label(tunnel: TunnelStatus, index: int) -> str:
    plain = f"Tunnel {index + 1}"
    return plain if tunnel.name.replace(" ", "") == plain.replace(" ", "") else (
        f"{plain} ({tunnel.name})"
    )


def diagnose(snapshot: StatusSnapshot) -> list[str]:
    """What is wrong, one sentence per finding, in the operator's words. Pure.

    An empty list means every expected tunnel is up with its interface,
    routes, rules and heartbeat as configured.
    """
    found: list[str] = []
    if not snapshot.applied:
        return [NOTHING_APPLIED]
    if snapshot.target.dry_run:
        # Nothing was applied: a daemon that is not running is what a dry run
        # leaves, not a fault to fix. Where one runs, the box's own state is
        # still worth comparing with the plan.
        found.append(DRY_RUN_FINDING)
        if not snapshot.daemon_running:
            return [*found, *snapshot.notes]
    elif not snapshot.daemon_running:
        detail = f" ({snapshot.daemon_detail})" if snapshot.daemon_detail else ""
        found.append(f"strongSwan is not running{detail} — start it with 'ipsec start'.")
    for index, tunnel in enumerate(snapshot.tunnels):
        found.extend(_diagnose_tunnel(snapshot, tunnel, _label(tunnel, index)))
    if snapshot.bgp_read is False:
        found.append(f"BGP could not be read: {snapshot.bgp_detail}.")
    elif snapshot.bgp_read:
        for index, tunnel in enumerate(snapshot.tunnels):
            found.extend(diagnose_bgp(tunnel, _label(tunnel, index)))
    if not snapshot.target.dry_run:
        found.extend(_diagnose_routing(snapshot))
    found.extend(_diagnose_heartbeat(snapshot))
    found.extend(snapshot.notes)
    return found


def _diagnose_routing(snapshot: StatusSnapshot) -> list[str]:
    """Traffic the kernel sends into a tunnel that is down: dropped, not failed over."""
    found = []
    tunnels = {t.name: (i, t) for i, t in enumerate(snapshot.tunnels)}
    for path in snapshot.in_force:
        if path.tunnel is None or path.tunnel not in tunnels:
            continue
        index, tunnel = tunnels[path.tunnel]
        if tunnel.up:
            continue
        label = _label(tunnel, index)
        others = [_label(t, i) for i, t in enumerate(snapshot.tunnels)
                  if t.name != tunnel.name and t.up]
        fix = (f"bring {label} up (u), or move the route to {others[0]}" if others
               else f"bring {label} up (u)")
        if tunnel.expected.mode == "manual":
            found.append(
                f"{label}: down, yet traffic to {path.dst} is routed through it "
                f"({route_words(path)}): in manual mode nothing moves the route, so "
                f"that traffic is dropped (blackholed) — {fix}."
            )
        else:
            found.append(
                f"{label}: down, yet traffic to {path.dst} is still routed through it "
                f"({route_words(path)}), so it is dropped — the updown script did not "
                f"remove the route; {fix}."
            )
    return found


def _diagnose_tunnel(snapshot: StatusSnapshot, t: TunnelStatus, label: str) -> list[str]:
    found: list[str] = []
    exp = t.expected
    peer = exp.aws_outside_ip or "the AWS endpoint"
    if snapshot.daemon_running:
        ike = t.ike
        if t.loaded is False:
            found.append(
                f"{label}: strongSwan has not loaded conn {exp.name} — check {IPSEC_CONF} "
                "and run 'ipsec reload'."
            )
        elif ike is None:
            found.append(f"{label}: down, no IKE SA with {peer}.")
        elif ike.state == "CONNECTING":
            found.append(
                f"{label}: down, IKE still connecting to {peer} — is it reachable on UDP "
                "500/4500, and do the PSK and phase 1 proposals match?"
            )
        elif ike.state != "ESTABLISHED":
            found.append(f"{label}: IKE SA is {ike.state}.")
        elif ike.installed_child is None:
            found.append(f"{label}: IKE up, no CHILD SA — check phase 2 proposals.")
        else:
            child = ike.installed_child
            if child.bytes_out > 0 and child.bytes_in == 0 and (child.packets_out or 0) >= 3:
                found.append(
                    f"{label}: ESP goes out but none comes back — check the mangle MARK rule "
                    "and the AWS side."
                )
    link = t.link
    vti_expected = exp.mode == "manual" or t.ipsec_up
    if link is None:
        if vti_expected and t.link_read:
            why = " (the updown script did not create it)" if exp.mode == "updown" else ""
            found.append(f"{label}: VTI {exp.name} is missing{why}.")
    else:
        if not link.up:
            found.append(f"{label}: VTI down.")
        if exp.mark is not None and link.ikey is not None and link.ikey != exp.mark:
            found.append(
                f"{label}: VTI key {link.ikey} differs from the conn's mark {exp.mark}."
            )
    if vti_expected:
        for route in t.routes:
            if not route.present:
                metric = f" metric {route.metric}" if route.metric is not None else ""
                found.append(
                    f"{label}: route to {route.dst} missing (dev {route.dev}{metric})."
                )
        for rule in t.rules:
            if rule.present is False:
                found.append(f"{label}: mangle rule missing: {rule.chain} {' '.join(rule.rule)}.")
    return found


def _diagnose_heartbeat(snapshot: StatusSnapshot) -> list[str]:
    found: list[str] = []
    if snapshot.heartbeat_updated is None:
        if snapshot.expected.heartbeat:
            found.append(
                f"heartbeat: not running (no state in {snapshot.heartbeat_file}) — check "
                "'systemctl status vpn-wizard-heartbeat'."
            )
        return found
    limit = heartbeat_silence_limit(snapshot.heartbeat_interval)
    age = snapshot.taken_at - snapshot.heartbeat_updated
    if age > limit:
        found.append(f"heartbeat: not running (last round {int(age)} s ago).")
        return found
    for index, tunnel in enumerate(snapshot.tunnels):
        beat = tunnel.heartbeat
        if beat is None:
            if tunnel.expected.aws_inside_ip:
                found.append(
                    f"heartbeat: does not ping {tunnel.expected.aws_inside_ip} "
                    f"({_label(tunnel, index)})."
                )
            continue
        where = f"{beat.address}, {_label(tunnel, index)}"
        if beat.last_reply is None:
            if beat.attempts:
                found.append(f"heartbeat: no reply yet ({where}).")
            continue
        silent = snapshot.taken_at - beat.last_reply
        if silent > limit:
            found.append(f"heartbeat: no reply for {int(silent)} s ({where}).")
        elif beat.attempts and beat.replies < beat.attempts:
            found.append(
                f"heartbeat: {beat.attempts - beat.replies} of {beat.attempts} pings lost "
                f"in the last minute ({where})."
            )
    return found


def diagnose_bgp(t: TunnelStatus, label: str) -> list[str]:
    """BGP over one tunnel, with the classic failure named: IPsec up, BGP down. Pure.

    On AWS a tunnel of a BGP connection counts as DOWN, and carries nothing,
    until its BGP session is Established; so "IPsec up, BGP down" is a tunnel
    that does not work, and the sentence says the likely cause from what FRR
    reports: an ASN mismatch (AWS refuses the OPEN), a missing policy (FRR
    drops every route), the hold timer, or no TCP session at all (the neighbor
    not reachable over the VTI).
    """
    neighbor = t.expected.bgp_neighbor
    if neighbor is None:
        return []
    peer = t.bgp
    if peer is None:
        return [f"{label}: FRR has no BGP neighbor {neighbor}: the wizard's block is missing "
                "from /etc/frr/frr.conf or bgpd is not enabled in /etc/frr/daemons; run the "
                "wizard again."]
    if not t.ipsec_up:
        if peer.established:
            return []
        return [f"{label}: BGP is down ({peer.state}) because IPsec is: AWS's BGP speaker "
                f"{neighbor} is reached through the tunnel."]
    if peer.established:
        if peer.policy_missing:  # the cause of the empty counts below: say only it
            return [_policy(label, peer)]
        found = []
        if peer.received == 0:
            found.append(f"{label}: BGP is up but AWS announces no route: enable route "
                         "propagation of the virtual private gateway in the VPC's route "
                         "tables.")
        if peer.sent == 0:
            found.append(f"{label}: BGP is up but this box announces nothing to AWS: FRR "
                         "announces a network only while this box has a route to it (is "
                         "the LAN interface up?).")
        return found
    head = f"{label}: IPsec is up but BGP is down ({peer.state})"
    words = f"{peer.last_notification} {peer.last_reset}".lower()
    if "bad peer as" in words or ("peer as" in words and "mismatch" in words):
        return [f"{head}: AWS refused the session for its ASN; this box's ASN must be the "
                "customer gateway's and the neighbor's AWS's "
                f"({peer.remote_as if peer.remote_as is not None else '?'} configured) — "
                "check both in the AWS console."]
    if peer.policy_missing:
        return [f"{head}. {_policy(label, peer)}"]
    if "hold timer" in words:
        return [f"{head}: the hold timer expired ({peer.hold_s or '?'} s without a message): "
                "keepalives are lost in the tunnel; check the MTU and that both ends use AWS's "
                "30 s hold time."]
    if peer.state in ("Active", "Connect", "Idle"):
        return [f"{head}: no TCP session to {neighbor}: the neighbor is not reachable over "
                f"the tunnel interface; 'ping {neighbor}' must answer (the VTI's inside "
                "address, its mark, rp_filter)."]
    return [f"{head}."]


def _policy(label: str, peer: BgpPeer) -> str:
    return (f"{label}: FRR discards {peer.policy_missing} updates for want of a policy "
            "(bgp ebgp-requires-policy): the route-maps of the wizard's block are missing "
            "from /etc/frr/frr.conf.")
