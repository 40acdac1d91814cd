"""Fixtures for the real-kernel lab.

``lab`` is one booted UML per test module, with the vgw responder already
answering for ``lab_tunnels`` (the seed's two tunnels at lab addresses). A
module that needs other peer settings (IKEv2, other proposals) overrides
``lab_tunnels`` in its own file. There is no reset of the cgw between tests:
undoing an operator's edits is the very thing the product must prove it can
do, so the lab does not pretend to. A test that changes the cgw takes
``fresh_lab`` instead, which boots a lab of its own (about 3-4 s, plus 2-3 s
for the responder), or shares ``lab`` with tests that leave it as they found
it and checks on entry that they did. ``lab_factory`` boots labs on demand
(several at once if need be: each is a UML process of its own).

Every session also checks that the host's strongSwan, sysctl, network and
alternatives files, its links, namespaces and mangle table are as they were.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

# The lab's helpers are plain modules beside this file; make them importable
# whatever import mode or rootdir the run uses.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostguard
from peer import PeerTunnel, seed_tunnels, start_peer
from run_figures import TIMINGS
from uml import Lab, lab_unavailable

Timing = Callable[[str, float], None]


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here too, so this folder runs on its own."""
    config.addinivalue_line(
        "markers", "lab: needs root and user-mode-linux; runs real strongSwan on a real kernel"
    )


@pytest.fixture(scope="session")
def lab_timing() -> Timing:
    """Record a measured duration: printed now and listed in the run's summary."""

    def record(label: str, seconds: float) -> None:
        TIMINGS.append((label, seconds))
        print(f"lab timing: {label}: {seconds:.2f} s")

    return record


@contextmanager
def booted_lab(tunnels: Sequence[PeerTunnel], timing: Timing) -> Iterator[Lab]:
    """Boot a lab, start the vgw responder, and check the host afterwards."""
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    before = hostguard.fingerprint(include_repo=False)
    with Lab() as lab:
        assert lab.boot_seconds is not None
        timing("UML boot to control channel", lab.boot_seconds)
        started = time.monotonic()
        start_peer(lab, tunnels)
        timing("vgw responder up, conns loaded", time.monotonic() - started)
        yield lab
    # The repo's file list is left out here: other work may change it while a
    # long module runs. test_lab_harness checks it around a short session.
    after = hostguard.fingerprint(include_repo=False)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"a lab session changed the host (before, after): {changed}"
    assert hostguard.network_problems() == []


@pytest.fixture(scope="module")
def lab_tunnels() -> list[PeerTunnel]:
    """The tunnels the vgw answers for; override in a module for other settings."""
    return seed_tunnels()


@pytest.fixture(scope="module")
def lab(lab_tunnels: list[PeerTunnel], lab_timing: Timing) -> Iterator[Lab]:
    """One lab per module, vgw responder running, cgw untouched at the start."""
    with booted_lab(lab_tunnels, lab_timing) as booted:
        yield booted


LabFactory = Callable[[Sequence[PeerTunnel], Timing], AbstractContextManager[Lab]]


@pytest.fixture(scope="session")
def lab_factory() -> LabFactory:
    """`booted_lab` itself, for a test that runs labs of its own (in threads, say).

    Check `uml.lab_unavailable()` first when calling it outside the test's
    own thread: there, its `pytest.skip` would only end that thread.
    """
    return booted_lab


@pytest.fixture
def fresh_lab(lab_tunnels: list[PeerTunnel], lab_timing: Timing) -> Iterator[Lab]:
    """A lab of this test's own, for a test that changes the cgw."""
    with booted_lab(lab_tunnels, lab_timing) as booted:
        yield booted
