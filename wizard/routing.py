"""Routing arithmetic the document leaves implicit: reverse-path filtering and the tunnel MTU.

Pure functions for the screens, the preview and the docs: none of them
changes a default. The document's VTI MTU (1419) and loose `rp_filter` (2)
stay what the plan uses; these say when and why another figure applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard import crypto as proposals
from wizard.model import Crypto

IPV4_HEADER = 20
TCP_HEADER = 20
NAT_T_HEADER = 8
"""UDP encapsulation of ESP on port 4500 (RFC 3948), used when either end is behind NAT."""
ESP_HEADER = 8
"""SPI and sequence number."""
ESP_TRAILER = 2
"""Pad length and next header bytes, after the padding."""

#: Encryption token -> (IV bytes, block size the payload and trailer are padded to).
_CIPHERS = {
    "aes128": (16, 16),
    "aes256": (16, 16),
    "aes128gcm16": (8, 4),
    "aes256gcm16": (8, 4),
}
#: ICV bytes: HMAC output truncated per RFC 2404/4868; GCM's 16-byte tag.
_ICV = {"sha1": 12, "sha256": 16, "sha384": 24, "sha512": 32}
_GCM_ICV = 16

RP_FILTER_NAMES = {0: "off", 1: "strict", 2: "loose"}


# --------------------------------------------------------------------------- rp_filter


def effective_rp_filter(all_value: int, iface_value: int) -> int:
    """The reverse path filter the kernel applies on an interface.

    The kernel uses the larger of `net.ipv4.conf.all.rp_filter` and the
    interface's own value (Documentation/networking/ip-sysctl.rst: "The max
    value from conf/{all,interface}/rp_filter is used"). So the document's
    loose mode (2) on a VTI holds whatever `all` says, while a strict `all`
    (1) can only be relaxed per interface to 2, never to 0.
    """
    return max(all_value, iface_value)


def rp_filter_problem(all_value: int, iface_value: int, wanted: int = 2) -> str | None:
    """Why an interface would not get the `wanted` filter, or None when it does.

    With the document's `wanted=2` this is always None: 2 is the largest
    value, and the reason the wizard never touches `all`.
    """
    effective = effective_rp_filter(all_value, iface_value)
    if effective == wanted:
        return None
    name = RP_FILTER_NAMES.get(effective, str(effective))
    if all_value > wanted:
        return (f"net.ipv4.conf.all.rp_filter={all_value} makes it {name} ({effective}) "
                f"whatever the interface says")
    return f"the interface's rp_filter={iface_value} makes it {name} ({effective})"


# --------------------------------------------------------------------------- MTU


@dataclass(frozen=True)
class _Overhead:
    cipher: str
    integrity: str | None
    iv: int
    block: int
    icv: int


def _combinations(esp: str) -> list[_Overhead]:
    found = []
    for proposal in proposals.parse_proposal(esp, phase=2):
        for enc in proposal.encryption:
            iv, block = _CIPHERS[enc]
            if enc.endswith("gcm16"):
                found.append(_Overhead(enc, None, iv, block, _GCM_ICV))
                continue
            for integ in proposal.integrity:
                found.append(_Overhead(enc, integ, iv, block, _ICV[integ]))
    return found


def _inner_mtu(o: _Overhead, nat_t: bool, link_mtu: int) -> int:
    room = link_mtu - IPV4_HEADER - (NAT_T_HEADER if nat_t else 0) - ESP_HEADER - o.iv - o.icv
    return room // o.block * o.block - ESP_TRAILER


def recommended_mtu(
    crypto: Crypto, nat_t: bool, link_mtu: int = 1500
) -> tuple[int, int, str]:
    """The largest tunnel MTU (and TCP MSS) that never makes ESP exceed `link_mtu`.

    An ESP tunnel-mode packet is the outer IPv4 header, the UDP header when
    NAT traversal is on, the ESP header, the cipher's IV, the inner packet
    plus 2 trailer bytes padded to the cipher's block (16 bytes for AES-CBC,
    4 for AES-GCM), then the integrity check value. Solving for the inner
    packet gives the MTU; the MSS is 40 bytes less (inner IPv4 and TCP
    headers). Where the phase 2 proposal allows several algorithms, the
    worst case counts, since any of them may be negotiated.

    These are AWS's published figures (best practices for the customer
    gateway device): e.g. 1438/1398 for AES-CBC with SHA1 or SHA2-256 without
    NAT-T, 1422/1382 with it, 1446/1406 for AES-GCM. The document's 1419
    (MSS 1379) fits every combination except AES-CBC with SHA2-512 behind
    NAT (1406/1366); it stays the default.

    Args:
        crypto: the tunnel's settings; only `esp` (phase 2) matters.
        nat_t: whether ESP is encapsulated in UDP (this box or AWS's end behind NAT).
        link_mtu: the MTU of the path the ESP packets take (1500 on most links).

    Returns:
        (mtu, mss, explanation), the explanation naming the deciding algorithms
        and the arithmetic.
    """
    worst = min(_combinations(crypto.esp), key=lambda o: _inner_mtu(o, nat_t, link_mtu))
    mtu = _inner_mtu(worst, nat_t, link_mtu)
    mss = mtu - IPV4_HEADER - TCP_HEADER
    algorithms = worst.cipher + (f" with {worst.integrity}" if worst.integrity else "")
    nat = f" - {NAT_T_HEADER} (UDP, NAT-T)" if nat_t else ""
    room = (link_mtu - IPV4_HEADER - (NAT_T_HEADER if nat_t else 0) - ESP_HEADER - worst.iv
            - worst.icv)
    explanation = (
        f"ESP {algorithms}{' behind NAT' if nat_t else ''}: {link_mtu} - {IPV4_HEADER} "
        f"(outer IP){nat} - {ESP_HEADER} (ESP header) - {worst.iv} (IV) - {worst.icv} (ICV) "
        f"= {room}; padded to {worst.block}-byte blocks with {ESP_TRAILER} trailer bytes, "
        f"the inner packet can be {mtu} bytes; MSS {mtu} - 40 = {mss}"
    )
    return mtu, mss, explanation
