"""The plan as JSON for scripts: names here are a published interface, keep them stable.

Every file's text, diff and command goes through the plan's
`wizard.redact.Redactor`, so the JSON shows no key (the plan's or one already
on the box) unless `show_secrets`. `json.dumps` escapes every control
character (ASCII output), so the document is also safe to print to a terminal.
"""

from __future__ import annotations

import json
from typing import Any

from wizard.engine.actions import undo_argv
from wizard.model import Setup
from wizard.plan_types import Plan
from wizard.redact import Redactor


def plan_document(
    setup: Setup,
    plan: Plan,
    *,
    show_secrets: bool = False,
    sources: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The plan as one JSON-ready object; secrets masked unless `show_secrets`."""
    redactor = Redactor.for_plan(plan, show=show_secrets)

    choices = setup.choices
    document: dict[str, Any] = {
        "connection": {
            "vpn_connection_id": setup.connection.vpn_connection_id,
            "vpn_gateway_id": setup.connection.vpn_gateway_id,
            "customer_gateway_id": setup.connection.customer_gateway_id,
        },
        "choices": {
            "enable_forwarding": choices.enable_forwarding,
            "mode": choices.mode,
            "physical_interface": choices.physical_interface,
            "local_ip": str(choices.local_ip) if choices.local_ip else None,
            "lan_interfaces": list(choices.lan_interfaces),
            "vpc_cidrs": [str(n) for n in choices.vpc_cidrs],
            "mtu": choices.mtu,
            "persistence": choices.persistence,
            "heartbeat": choices.heartbeat,
            "heartbeat_interval": choices.heartbeat_interval,
            "backend": choices.backend,
        },
        "tunnels": [
            {
                "name": t.name,
                "customer_outside_ip": str(t.customer_outside_ip),
                "aws_outside_ip": str(t.aws_outside_ip),
                "customer_inside_cidr": str(t.customer_inside_cidr),
                "aws_inside_cidr": str(t.aws_inside_cidr),
                "mark": t.mark,
                "psk": t.psk.reveal() if show_secrets else str(t.psk),
                "ike_version": t.crypto.ike_version,
                "ike": t.crypto.ike,
                "esp": t.crypto.esp,
                "ike_lifetime": t.crypto.ike_lifetime,
                "esp_lifetime": t.crypto.esp_lifetime,
                "dpd_delay": t.crypto.dpd_delay,
                "dpd_timeout": t.crypto.dpd_timeout,
                "dpd_action": t.crypto.dpd_action,
            }
            for t in setup.tunnels
        ],
        "steps": [
            {
                "id": step.id,
                "title": step.title,
                "why": step.why,
                "seed_ref": step.seed_ref,
                "files": [
                    {
                        "path": f.path,
                        "mode": f"{f.mode:04o}",
                        "content": redactor.file(f.path, f.after, f.mode),
                        "block": f.block.block_id if f.block else None,
                        "diff": redactor.diff(f),
                    }
                    for f in step.files
                ],
                "commands": [[redactor.text(a) for a in op.argv] for op in step.commands],
                "undo": [[redactor.text(a) for a in undo_argv(op)]
                         for op in reversed(step.commands)],
                "notes": [{"id": n.id, "text": n.text} for n in step.notes],
            }
            for step in plan
        ],
        "sources": dict(sources or {}),
    }
    if setup.dynamic:  # a static plan's document is as it was
        bgp = setup.tunnels[0].bgp if setup.tunnels else None
        document["connection"]["routing"] = "dynamic"
        document["connection"]["bgp"] = None if bgp is None else {
            "customer_asn": bgp.customer_asn, "aws_asn": bgp.aws_asn,
            "hold_time": bgp.hold_time,
            "neighbors": [str(t.aws_inside_cidr.ip) for t in setup.tunnels]}
        document["choices"]["advertise"] = [str(n) for n in choices.advertise]
        document["choices"]["bgp_mode"] = choices.bgp_mode
    return document


def dumps(document: dict[str, Any]) -> str:
    """The document as JSON text; ASCII only, so no control byte is ever written raw."""
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=True) + "\n"
