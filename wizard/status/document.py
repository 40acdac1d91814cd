"""A snapshot as the JSON document `vpn-wizard status --once --json` prints (docs/status.md).

Kept apart from the values so the model stays a leaf, and apart from the
command so the panel, tests and scripts share one spelling of every key.
"""

from __future__ import annotations

from typing import Any

from wizard.status.diagnosis import diagnose
from wizard.status.model import RouteInForce, StatusSnapshot, Target, TunnelStatus


def target_json(target: Target) -> dict[str, Any]:
    """Which box the document describes, and whether its keys act for real."""
    return {"dry_run": target.dry_run, "root": target.root, "live": target.live}


def snapshot_json(snapshot: StatusSnapshot) -> dict[str, Any]:
    """The whole document, diagnosis included (the command adds `exit_code`)."""
    return {
        "taken_at": snapshot.taken_at,
        "source": snapshot.source,
        "strongswan": {"running": snapshot.daemon_running, "detail": snapshot.daemon_detail},
        "expected_from": snapshot.expected.origin,
        "rules_source": snapshot.rules_source,
        "rules_watch": snapshot.rules_watch,
        "heartbeat": {
            "file": snapshot.heartbeat_file,
            "updated": snapshot.heartbeat_updated,
            "interval": snapshot.heartbeat_interval,
        },
        "all_up": snapshot.all_up,
        "in_force": [_in_force_json(p) for p in snapshot.in_force],
        "tunnels": [tunnel_json(t) for t in snapshot.tunnels],
        "notes": list(snapshot.notes),
        "target": target_json(snapshot.target),
        **({"bgp": {"read": snapshot.bgp_read, "detail": snapshot.bgp_detail}}
           if snapshot.bgp_read is not None else {}),
        "diagnosis": diagnose(snapshot),
    }


def _in_force_json(path: RouteInForce) -> dict[str, Any]:
    route = path.route
    return {
        "dst": path.dst,
        "tunnel": path.tunnel,
        "route": None if route is None else {
            "dst": route.dst, "dev": route.dev, "metric": route.metric},
    }


def tunnel_json(t: TunnelStatus) -> dict[str, Any]:
    """One tunnel's part of the document (with "bgp" for a BGP connection's tunnels)."""
    document = _tunnel_json(t)
    if t.expected.bgp_neighbor is not None:
        peer = t.bgp
        document["bgp"] = {"neighbor": t.expected.bgp_neighbor, "state": None} if peer is None \
            else {"neighbor": peer.address, "state": peer.state, "remote_as": peer.remote_as,
                  "up_s": peer.up_s, "prefixes_received": peer.received,
                  "prefixes_sent": peer.sent, "hold_s": peer.hold_s,
                  "last_reset": peer.last_reset, "last_notification": peer.last_notification,
                  "policy_missing": peer.policy_missing or None}
    return document


def _tunnel_json(t: TunnelStatus) -> dict[str, Any]:
    child = t.child
    ike = t.ike
    return {
        "name": t.name,
        "up": t.up,
        "aws_outside_ip": t.expected.aws_outside_ip,
        "mode": t.expected.mode,
        "loaded": t.loaded,
        "ike": None
        if ike is None
        else {
            "state": ike.state,
            "version": ike.version,
            "established_s": ike.established_s,
            "rekey_in_s": ike.rekey_in_s,
            "algorithms": ike.algorithms,
            "local_host": ike.local_host,
            "remote_host": ike.remote_host,
        },
        "child": None
        if child is None
        else {
            "state": child.state,
            "installed_s": child.installed_s,
            "rekey_in_s": child.rekey_in_s,
            "algorithms": child.algorithms,
            "bytes_in": child.bytes_in,
            "bytes_out": child.bytes_out,
            "packets_in": child.packets_in,
            "packets_out": child.packets_out,
        },
        "vti": None
        if t.link is None
        else {
            "name": t.link.name,
            "up": t.link.up,
            "mtu": t.link.mtu,
            "rx_bytes": t.link.rx_bytes,
            "tx_bytes": t.link.tx_bytes,
            "rx_errors": t.link.rx_errors,
            "tx_errors": t.link.tx_errors,
            "ikey": t.link.ikey,
            "okey": t.link.okey,
        },
        "routes": [
            {"dst": r.dst, "dev": r.dev, "metric": r.metric, "present": r.present}
            for r in t.routes
        ],
        "rules": [
            {"chain": r.chain, "rule": " ".join(r.rule), "present": r.present} for r in t.rules
        ],
        "heartbeat": None
        if t.heartbeat is None
        else {
            "address": t.heartbeat.address,
            "last_reply": t.heartbeat.last_reply,
            "last_rtt_ms": t.heartbeat.last_rtt_ms,
            "replies": t.heartbeat.replies,
            "attempts": t.heartbeat.attempts,
            "counted_at": t.heartbeat.counted_at,
        },
    }
