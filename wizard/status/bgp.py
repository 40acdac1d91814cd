"""FRR's BGP neighbors, read from its JSON (`vtysh -c 'show bgp neighbors json'`).

JSON, never the screen text: FRR's `show bgp summary` columns change between
releases, its JSON keys far less. The parse is pure (`parse_neighbors`), so
tests feed it output recorded from a real FRR (tests/data/frr/); the one call
to FRR goes through the `Frr` seam of `wizard.system` (`read_bgp`).
"""

from __future__ import annotations

import json
from typing import Any

from wizard.status.model import BgpPeer, BgpReading
from wizard.system.base import Frr

COMMAND = "show bgp neighbors json"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def peer_from(address: str, data: dict[str, Any]) -> BgpPeer:
    """One neighbor's entry of `show bgp neighbors json`."""
    family = data.get("addressFamilyInfo", {})
    unicast = family.get("ipv4Unicast", {}) if isinstance(family, dict) else {}
    if not isinstance(unicast, dict):
        unicast = {}
    state = _text(data.get("bgpState")) or "unknown"
    up_ms = _int(data.get("bgpTimerUpMsec"))
    hold_ms = _int(data.get("bgpTimerHoldTimeMsecs"))
    missing = [way for way, key in (("inbound", "inboundEbgpRequiresPolicy"),
                                    ("outbound", "outboundEbgpRequiresPolicy"))
               if key in data or key in unicast]
    established = state == "Established"
    return BgpPeer(
        address=address,
        state=state,
        remote_as=_int(data.get("remoteAs")),
        up_s=up_ms // 1000 if established and up_ms is not None else None,
        received=_int(unicast.get("acceptedPrefixCounter")) if established else None,
        sent=_int(unicast.get("sentPrefixCounter")) if established else None,
        hold_s=hold_ms // 1000 if hold_ms is not None else None,
        last_reset=_text(data.get("lastResetDueTo")),
        last_notification=_text(data.get("lastNotificationReason")),
        policy_missing=" and ".join(missing),
    )


def parse_neighbors(text: str) -> dict[str, BgpPeer]:
    """Neighbor address -> peer, from `show bgp neighbors json` (ValueError when not JSON)."""
    data = json.loads(text or "{}")
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return {address: peer_from(address, entry) for address, entry in data.items()
            if isinstance(entry, dict) and "bgpState" in entry}


def read_bgp(frr: Frr | None) -> BgpReading:
    """FRR's neighbors now; (False, why, {}) when FRR is missing or does not answer."""
    if frr is None or not frr.installed():
        return False, "FRR is not installed (apt-get install frr)", {}
    text = frr.vtysh_json(COMMAND)
    if text is None:
        return False, "FRR does not answer (is frr.service running? is bgpd enabled?)", {}
    try:
        return True, "", parse_neighbors(text)
    except ValueError as err:
        return False, f"FRR's answer to '{COMMAND}' is not JSON: {err}", {}
