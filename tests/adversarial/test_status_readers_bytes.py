"""What the status refresh decodes itself, from bytes it did not choose: a clear error or a value.

Issue 13 moved four decoders into the wizard to keep a refresh cheap: vici
messages from charon (`vici_source.decode`), the nftables generation answer
(`iptables_status.generation_from_reply`), the legacy table blob
(`iptables_status.table_fingerprint`) and `/proc/net/dev`
(`netlink_status.counters_from_proc`). Each is fed mutated recorded answers
and noise: it returns a value or raises only the error its callers catch
(`ViciError`; `OSError`/`ValueError`), never an IndexError or a hang; and a
vici message the `vici` package can decode, it decodes the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tally import tried

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from status_fixtures import DATA, _to_bytes, vici_record
from vici.protocol import FiniteStream, Message

from wizard.system import iptables_status, netlink_status, vici_source

PROBE = json.loads((DATA / "iptables_probe.json").read_text())
VICI = [Message.serialize(_to_bytes(event)) for name in ("both_up", "tunnel2_no_child")
        for event in vici_record(name)["sas"]]
NFT = [bytes.fromhex(v) for v in PROBE["nft"].values()]
LEGACY = [bytes.fromhex(v["entries"]) for v in PROBE["legacy"].values()]
PROC = (DATA / "proc_net_dev.txt").read_text()


def _mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A recorded answer cut, with bytes flipped, or spliced with noise; or plain noise."""

    def mutate(seed: bytes, cut: int, flips: list[tuple[int, int]], noise: bytes) -> bytes:
        data = bytearray(seed[: max(0, min(cut, len(seed)))] if cut >= 0 else seed)
        for where, value in flips:
            if data:
                data[where % len(data)] = value
        return bytes(data) + noise

    return st.one_of(
        st.binary(max_size=300),
        st.builds(mutate, st.sampled_from(seeds), st.integers(-1, 2000),
                  st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
                  st.binary(max_size=16)),
    )


def _package_decode(data: bytes) -> Any:
    try:
        return Message.deserialize(FiniteStream(data))
    except Exception:
        return None


@given(_mutated(VICI))
def test_vici_decode_refuses_or_agrees(data: bytes) -> None:
    tried("status: vici messages")
    try:
        got = vici_source.decode(data)
    except vici_source.ViciError:
        return
    expected = _package_decode(data)
    if expected is not None:
        assert got == expected


@given(_mutated(NFT), st.integers(0, 5))
def test_the_generation_answer_refuses_or_reads(data: bytes, seq: int) -> None:
    tried("status: nftables generation answers")
    try:
        got = iptables_status.generation_from_reply(data, seq)
    except (OSError, ValueError):
        return
    assert 0 <= got < 2**32


@given(_mutated(LEGACY))
def test_the_legacy_table_refuses_or_fingerprints(data: bytes) -> None:
    tried("status: legacy iptables tables")
    try:
        got = iptables_status.table_fingerprint(b"info", data)
    except ValueError:
        return
    assert len(got) == len(data) + 4


@given(st.one_of(
    st.text(max_size=400),
    st.builds(lambda cut, noise: PROC[:cut] + noise, st.integers(0, len(PROC)),
              st.text(max_size=60)),
))
def test_proc_net_dev_reads_what_it_can(text: str) -> None:
    tried("status: /proc/net/dev")
    got = netlink_status.counters_from_proc(text)
    for counters in got.values():
        assert len(counters) == 6 and all(isinstance(n, int) for n in counters)
