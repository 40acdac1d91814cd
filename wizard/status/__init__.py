"""The live state of both tunnels and the heartbeat, held to what vpn-wizard applied.

What the AWS document has the operator check by hand after its step 4 —
`ipsec status`, `ip route`, `iptables -t mangle -L -n`, `ifconfig` and a
ping — gathered in one immutable snapshot per refresh, and turned into
sentences an operator can act on. One job per module:

* `model` — the values (SAs, links, routes, rules, pings, the snapshot); a
  leaf that imports nothing of the product, so the readers in
  `wizard.system` build on it alone.
* `desired` — which tunnels to expect: the applied manifest
  (`wizard.manifest`), or the setup given on the command line.
* `assembly` — the readers' results put together, tunnel by tunnel, with
  the route the kernel uses for each VPC CIDR.
* `diagnosis` — what is wrong, in the operator's words.
* `document` — the JSON document of `vpn-wizard status --once --json`.
* `sources` — the protocols a source offers the panel (read, act, watch).
* `live` — the live source and its keys' actions, through the `System`
  seam; imported on its own as `wizard.status.live`, because it builds on
  `wizard.system`, whose readers build on `model`.

Where each part comes from on a real box, cheapest first: strongSwan over
vici (`wizard.system.vici_source`), `ipsec statusall` only without a vici
socket (`wizard.system.statusall`); links and routes over netlink
(`wizard.system.netlink_status`); the mangle rules from one `iptables -t
mangle -S` (`wizard.system.iptables_status`); the heartbeat's state file
(`wizard.heartbeat`).
"""

from wizard.status.assembly import best_ike, build_snapshot, routes_in_force
from wizard.status.desired import (
    NO_SETUP,
    expected_from_manifest,
    expected_from_setup,
    expected_on_box,
    read_applied,
)
from wizard.status.diagnosis import (
    DRY_RUN_FINDING,
    NOTHING_APPLIED,
    carrier,
    diagnose,
    heartbeat_silence_limit,
    human_duration,
    ping_counts,
    tunnel_label,
)
from wizard.status.document import snapshot_json, target_json, tunnel_json
from wizard.status.model import (
    ChildSa,
    Expected,
    ExpectedTunnel,
    IkeSa,
    LinkStatus,
    PingStatus,
    Route,
    RouteCheck,
    RouteInForce,
    RuleCheck,
    Source,
    StatusSnapshot,
    StrongswanReading,
    Target,
    TunnelStatus,
)
from wizard.status.sources import EventSource, StatusReaders, StatusSource, TunnelControls

__all__ = [
    "DRY_RUN_FINDING",
    "NOTHING_APPLIED",
    "NO_SETUP",
    "ChildSa",
    "EventSource",
    "Expected",
    "ExpectedTunnel",
    "IkeSa",
    "LinkStatus",
    "PingStatus",
    "Route",
    "RouteCheck",
    "RouteInForce",
    "RuleCheck",
    "Source",
    "StatusReaders",
    "StatusSnapshot",
    "StatusSource",
    "StrongswanReading",
    "Target",
    "TunnelControls",
    "TunnelStatus",
    "best_ike",
    "build_snapshot",
    "carrier",
    "diagnose",
    "expected_from_manifest",
    "expected_from_setup",
    "expected_on_box",
    "heartbeat_silence_limit",
    "human_duration",
    "ping_counts",
    "read_applied",
    "routes_in_force",
    "snapshot_json",
    "target_json",
    "tunnel_json",
    "tunnel_label",
]
