"""The desired state: which tunnels to expect, from the applied manifest or the given setup.

Desired state has its own source of truth, kept apart from the live one
(netplan's `state.py` does the same): the setup the wizard applied and
confirmed on this box, written down as `wizard.manifest` (no keys), or the
setup named on the command line (`--answers`/`--import`). It is never
re-parsed out of the files the wizard rendered: those are the operator's to
edit, and re-reading them would make every renderer change a reader change.
"""

from __future__ import annotations

from wizard.manifest import MANIFEST_PATH, AppliedManifest, ManifestError, parse_manifest
from wizard.model import Setup
from wizard.render.iptables import mangle_rules
from wizard.status.model import Expected, ExpectedTunnel
from wizard.system.paths import Root, TargetFileError

NO_SETUP = "no setup applied by vpn-wizard on this box: give --import or --answers"
"""What `status` says when there is neither a manifest nor a setup on the command line."""


def expected_from_setup(setup: Setup, origin: str = "answers") -> Expected:
    """The tunnels a setup describes: endpoints, inside addresses, marks, routes and rules."""
    tunnels = []
    for tunnel in setup.tunnels:
        tunnels.append(
            ExpectedTunnel(
                name=tunnel.name,
                aws_outside_ip=str(tunnel.aws_outside_ip),
                aws_inside_ip=str(tunnel.aws_inside_cidr.ip),
                mark=tunnel.mark,
                routes=tuple(str(n) for n in setup.static_routes),
                rules=tuple((r.chain, r.rule) for r in mangle_rules(setup, tunnel)),
                mode=setup.choices.mode,
                bgp_neighbor=str(tunnel.aws_inside_cidr.ip) if setup.dynamic else None,
                bgp_remote_as=tunnel.bgp.aws_asn if setup.dynamic and tunnel.bgp else None,
            )
        )
    return Expected(tuple(tunnels), origin, setup.choices.heartbeat)


def expected_from_manifest(manifest: AppliedManifest) -> Expected:
    """The tunnels of the setup vpn-wizard applied and confirmed on this box."""
    return expected_from_setup(manifest.setup, origin="manifest")


def read_applied(root: Root) -> AppliedManifest | None:
    """The applied manifest on the target, or None when vpn-wizard applied nothing there.

    Raises:
        ManifestError: the file is there but is not one this version wrote, or
            cannot be read (a link in its place, or not root: it is 0600); the
            message says what and where.
    """
    where = str(root.path(MANIFEST_PATH))
    try:
        text = root.read(MANIFEST_PATH)
    except TargetFileError as err:
        raise ManifestError(where, str(err)) from None
    if text is None:
        if MANIFEST_PATH in root.unreadable:
            raise ManifestError(where, "cannot be read by this user (it is mode 0600): "
                                       "run it as root, e.g. sudo vpn-wizard status")
        return None
    return parse_manifest(text, where)


def expected_on_box(root: Root) -> Expected:
    """The tunnels to expect on the target with no setup given: the manifest's, or none.

    Raises:
        ManifestError: as `read_applied`.
    """
    manifest = read_applied(root)
    return Expected() if manifest is None else expected_from_manifest(manifest)
