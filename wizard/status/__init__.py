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
  seam.

Import from the module that holds a name (`from wizard.status.model import
StatusSnapshot`): this face imports nothing, so `wizard.system`'s readers can
build on the leaf `model` without pulling `live`, which builds on them.

Where each part comes from on a real box, cheapest first: strongSwan over
vici (`wizard.system.vici_source`), `ipsec statusall` only without a vici
socket (`wizard.system.statusall`); links and routes over netlink, dumped
again only after the kernel announced a change, the counters from
/proc/net/dev between (`wizard.system.netlink_status`); the mangle rules
from `iptables -t mangle -S`, run again only after the kernel's mangle table
changed (`wizard.system.iptables_status`); the heartbeat's state file
(`wizard.heartbeat`). One refresh reads what changed (docs/status.md).
"""
