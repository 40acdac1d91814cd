"""The tally itself: a family that counts nothing would hide an empty suite."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tally import TRIED, tried


@given(st.text())
def test_tally_counts_each_example(value: str) -> None:
    before = TRIED["tally-selftest"]
    tried("tally-selftest")
    assert TRIED["tally-selftest"] == before + 1
