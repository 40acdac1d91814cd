"""BGP in the status: FRR's JSON read, and "IPsec up, BGP down" named with its cause.

tests/data/frr/ holds `show bgp neighbors json` as a real FRR 8.4 answered it
(recorded by tests/frr_pair.py against an FRR playing AWS's side): both
sessions up; the wizard's route-maps taken out (FRR's ebgp-requires-policy);
AWS expecting another ASN (its NOTIFICATION "Bad Peer AS"); tunnel 1's link
down (no TCP session). The strongSwan side is the recorded vici reply of
both tunnels up, so every BGP finding below is one with IPsec up.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from status_fixtures import lab_setup, snapshot_from_vici

from wizard.model import Bgp
from wizard.status.bgp import parse_neighbors, read_bgp
from wizard.status.desired import expected_from_setup
from wizard.status.diagnosis import diagnose
from wizard.status.model import BgpPeer, Expected

FRR_DATA = Path(__file__).resolve().parent / "data" / "frr"
T1, T2 = "169.254.23.5", "169.254.22.73"


def _bgp_expected() -> Expected:
    setup = lab_setup()
    tunnels = tuple(replace(t, bgp=Bgp(65000, 64512, t.aws_inside_cidr.ip, 30))
                    for t in setup.tunnels)
    setup = replace(setup, connection=replace(setup.connection, routing="dynamic",
                                              tunnels=tunnels),
                    choices=replace(setup.choices, advertise=(IPv4Network("192.0.2.0/24"),)))
    return expected_from_setup(setup)


def _recorded(name: str) -> dict[str, BgpPeer]:
    return parse_neighbors((FRR_DATA / f"{name}.json").read_text())


def _findings(name: str, vici: str = "both_up") -> list[str]:
    snapshot = snapshot_from_vici(vici, expected=_bgp_expected(),
                                  bgp=(True, "", _recorded(name)))
    return diagnose(snapshot)


def test_the_recorded_sessions_read_as_frr_reported_them() -> None:
    peers = _recorded("established")
    assert set(peers) == {T1, T2}
    for peer in peers.values():
        assert peer.established and peer.remote_as == 64512 and peer.hold_s == 30
        assert (peer.received, peer.sent) == (1, 1) and peer.up_s is not None
        assert not peer.policy_missing


def test_a_bgp_setup_expects_a_neighbor_per_tunnel_and_no_static_route() -> None:
    expected = _bgp_expected()
    assert [(t.bgp_neighbor, t.bgp_remote_as, t.routes) for t in expected.tunnels] == [
        (T1, 64512, ()), (T2, 64512, ())]
    static = expected_from_setup(lab_setup())
    assert all(t.bgp_neighbor is None for t in static.tunnels)


def test_both_sessions_up_is_no_finding_and_the_snapshot_carries_them() -> None:
    snapshot = snapshot_from_vici("both_up", expected=_bgp_expected(),
                                  bgp=(True, "", _recorded("established")))
    assert [t.bgp.state if t.bgp else None for t in snapshot.tunnels] == ["Established"] * 2
    assert not [f for f in diagnose(snapshot) if "BGP" in f]


def test_asn_mismatch_is_named() -> None:
    found = [f for f in _findings("asn-mismatch") if "BGP" in f]
    assert len(found) == 2
    assert all("IPsec is up but BGP is down (Idle)" in f and "ASN" in f for f in found)


def test_missing_policy_is_named() -> None:
    found = [f for f in _findings("policy-missing") if "policy" in f]
    assert found and all("inbound and outbound" in f and "ebgp-requires-policy" in f
                         for f in found)


def test_neighbor_unreachable_over_the_vti_is_named() -> None:
    found = [f for f in _findings("unreachable") if "BGP" in f]
    assert _recorded("unreachable")[T1].state in ("Idle", "Active", "Connect")
    assert any(f.startswith("Tunnel 1: IPsec is up but BGP is down (") and
               "no TCP session" in f and f"ping {T1}" in f for f in found)
    assert not any(f.startswith("Tunnel 2") for f in found)


def test_hold_timer_expiry_is_named() -> None:
    peers = _recorded("established")
    peers[T1] = replace(peers[T1], state="Active", last_reset="BGP Notification send",
                        last_notification="Hold Timer Expired/Unspecific")
    snapshot = snapshot_from_vici("both_up", expected=_bgp_expected(), bgp=(True, "", peers))
    assert any("hold timer expired (30 s" in f for f in diagnose(snapshot))


def test_bgp_down_because_ipsec_is_down_says_so() -> None:
    peers = _recorded("unreachable")
    snapshot = snapshot_from_vici("tunnel1_connecting", expected=_bgp_expected(),
                                  bgp=(True, "", peers))
    found = diagnose(snapshot)
    assert any(f.startswith("Tunnel 1: BGP is down (") and "because IPsec is" in f
               for f in found)
    assert not any("IPsec is up but BGP is down" in f for f in found)


def test_a_neighbor_frr_does_not_know_and_frr_not_answering_are_said() -> None:
    snapshot = snapshot_from_vici("both_up", expected=_bgp_expected(), bgp=(True, "", {}))
    assert any("FRR has no BGP neighbor" in f for f in diagnose(snapshot))
    silent = snapshot_from_vici("both_up", expected=_bgp_expected(),
                                bgp=(False, "FRR does not answer", {}))
    assert "BGP could not be read: FRR does not answer." in diagnose(silent)


@pytest.mark.parametrize("text", ["", "not json", "[]"])
def test_garbage_from_vtysh_is_reported_not_raised(text: str) -> None:
    class Answers:
        def installed(self) -> bool:
            return True

        def running(self) -> bool:
            return True

        def restart(self) -> None: ...

        def stop(self) -> None: ...

        def vtysh_json(self, command: str) -> str | None:
            return text

    ok, detail, peers = read_bgp(Answers())
    assert peers == {} and (not ok or text == "")
    assert ok or "not JSON" in detail


def test_the_json_document_carries_each_tunnels_session() -> None:
    from wizard.status.document import snapshot_json

    snapshot = snapshot_from_vici("both_up", expected=_bgp_expected(),
                                  bgp=(True, "", _recorded("established")))
    document = snapshot_json(snapshot)
    assert [t["bgp"]["state"] for t in document["tunnels"]] == ["Established"] * 2
    assert document["tunnels"][0]["bgp"]["prefixes_received"] == 1
    assert document["bgp"] == {"read": True, "detail": ""}
    static = snapshot_json(snapshot_from_vici("both_up"))
    assert "bgp" not in static and all("bgp" not in t for t in static["tunnels"])


def test_a_bgp_tunnel_is_up_only_with_its_session_and_the_text_says_so() -> None:
    from wizard.commands.status import format_text

    down = snapshot_from_vici("both_up", expected=_bgp_expected(),
                              bgp=(True, "", _recorded("asn-mismatch")))
    assert [t.ipsec_up for t in down.tunnels] == [True, True]
    assert not any(t.up for t in down.tunnels) and not down.all_up  # as AWS counts it
    up = snapshot_from_vici("both_up", expected=_bgp_expected(),
                            bgp=(True, "", _recorded("established")))
    assert up.all_up
    text = format_text(up)
    seconds = _recorded("established")[T1].up_s
    assert (f"  BGP    Established {seconds} s, 1 received, 1 sent, neighbor {T1} AS 64512"
            in text)
    assert "  BGP    Idle, neighbor" in format_text(down)
    static = snapshot_from_vici("both_up")
    assert static.all_up and "BGP" not in format_text(static)


def test_the_status_panel_shows_each_tunnels_session() -> None:
    from rich.console import Console

    from screens.status import tunnel_details

    snapshot = snapshot_from_vici("both_up", expected=_bgp_expected(),
                                  bgp=(True, "", _recorded("asn-mismatch")))
    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(tunnel_details(snapshot, snapshot.tunnels[0]))
    text = console.export_text()
    assert "BGP" in text and "Idle" in text and f"{T1} AS 64512" in text
    assert "DOWN" in text  # IPsec is up, BGP is not: AWS counts the tunnel down
