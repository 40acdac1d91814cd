"""The mangle rules are re-read only when the kernel says they changed (issue 13).

Running `iptables -t mangle -S` was most of a status refresh's CPU, and the
rules almost never change. `MangleReader` asks the kernel first, in the
backend the `iptables` command uses: the nftables generation id, or the
legacy table's content without its counters. These prove:

* the parsing, on the kernel's own answers recorded in a throwaway network
  namespace (`tests/data/status/iptables_probe.json`, made by
  `unshare -n python tests/data/status/record_iptables_probe.py`): counters
  do not count as a change, a changed mark of the same size does;
* the reader: no `-S` in the steady state, `-S` at the first refresh after a
  change, nothing kept when the table changed while `-S` ran, and `-S` at
  every refresh, said so, when the kernel cannot be asked;
* both backends live, in a network namespace of their own (root only; the
  host's own tables are never read or written).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from status_fixtures import DATA

from wizard.system import iptables_status as ipt

RECORDED = json.loads((DATA / "iptables_probe.json").read_text())
REPO = Path(__file__).resolve().parents[1]


def _legacy(state: str) -> bytes:
    got = RECORDED["legacy"][state]
    return ipt.table_fingerprint(bytes.fromhex(got["info"]), bytes.fromhex(got["entries"]))


def _nft(name: str) -> bytes:
    return bytes.fromhex(RECORDED["nft"][name])


# -- the legacy table's content ------------------------------------------------------------


def test_counters_are_not_a_change() -> None:
    """Packets through a rule change its counters in the blob, not the fingerprint."""
    raw = RECORDED["legacy"]
    assert raw["rules"]["entries"] != raw["rules_counted"]["entries"]  # the counters moved
    assert _legacy("rules") == _legacy("rules_counted")


def test_a_changed_mark_of_the_same_size_is_a_change() -> None:
    """`iptables -R` to another mark: same entry count and size, other content."""
    raw = RECORDED["legacy"]
    assert raw["rules"]["info"] == raw["mark_changed"]["info"]
    assert len(raw["rules"]["entries"]) == len(raw["mark_changed"]["entries"])
    assert _legacy("rules") != _legacy("mark_changed")


def test_a_deleted_rule_is_a_change() -> None:
    assert _legacy("mark_changed") != _legacy("rule_deleted")


@pytest.mark.parametrize("damage", ["truncated", "zero_next_offset", "overlong_next_offset"])
def test_a_malformed_table_is_refused(damage: str) -> None:
    entries = bytearray.fromhex(RECORDED["legacy"]["rules"]["entries"])
    if damage == "truncated":
        entries = entries[: len(entries) - 8]
    else:
        step = 0 if damage == "zero_next_offset" else len(entries) + 4
        struct.pack_into("=H", entries, ipt.IPT_ENTRY_NEXT_OFFSET, step)
    with pytest.raises(ValueError, match="ipt_entry at"):
        ipt.table_fingerprint(b"", bytes(entries))


# -- the nftables generation ---------------------------------------------------------------


def test_the_generation_is_read_from_the_kernels_answer() -> None:
    assert ipt.generation_from_reply(_nft("reply_seq1"), 1) == 1
    assert ipt.generation_from_reply(_nft("reply_seq2_after_a_rule"), 2) == 2


def test_the_parse_agrees_with_pyroute2() -> None:
    """pyroute2's own nftables message class decodes the same generation."""
    from pyroute2.netlink.nfnetlink.nftsocket import nft_gen_msg

    reply = _nft("reply_seq2_after_a_rule")
    msg = nft_gen_msg(reply)
    msg.decode()
    assert msg.get_attr("NFTA_GEN_ID") == ipt.generation_from_reply(reply, 2)


def test_the_request_is_a_getgen() -> None:
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", ipt.getgen_request(7))
    assert (length, kind, flags, seq, pid) == (20, 0x0A10, 1, 7, 0)


def test_an_answer_to_another_request_is_not_taken() -> None:
    with pytest.raises(ValueError, match="no answer"):
        ipt.generation_from_reply(_nft("reply_seq1"), 2)


def test_the_kernels_refusal_is_an_oserror() -> None:
    with pytest.raises(OSError, match="NFT_MSG_GETGEN"):
        ipt.generation_from_reply(_nft("error_reply_seq3"), 3)


@pytest.mark.parametrize("cut", [3, 19, 30, 44])
def test_a_cut_answer_is_refused(cut: int) -> None:
    with pytest.raises(ValueError):
        ipt.generation_from_reply(_nft("reply_seq1")[:cut], 1)


# -- which backend -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [("xtables-nft-multi", "nft"), ("iptables-nft", "nft"),
     ("xtables-legacy-multi", "legacy"), ("iptables-legacy", "legacy"), ("iptables", None)],
)
def test_the_backend_is_where_the_command_really_is(
    tmp_path: Path, target: str, expected: str | None
) -> None:
    real = tmp_path / "sbin" / target
    real.parent.mkdir()
    real.write_text("")
    alternative = tmp_path / "iptables-alternative"
    alternative.symlink_to(real)
    command = tmp_path / "iptables"
    if target != "iptables":
        command.symlink_to(alternative)
    assert ipt.backend(str(real if target == "iptables" else command)) == expected


# -- the reader ----------------------------------------------------------------------------

MANGLE = [
    "-P INPUT ACCEPT",
    "-A INPUT -s 198.51.100.1/32 -d 198.51.100.10/32 -p esp -j MARK --set-xmark 0x64/0xffffffff",
]


class Box:
    """A fake `iptables -S` and a fake probe over one rule list and one generation."""

    def __init__(self) -> None:
        self.lines = list(MANGLE)
        self.generation = 1
        self.runs: list[list[str]] = []
        self.fail_probe: OSError | None = None
        self.change_during_run = False

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.runs.append(argv)
        out = "\n".join(self.lines) + "\n"
        if self.change_during_run:
            self.change_during_run = False
            self.lines = self.lines[:1]
            self.generation += 1
        return subprocess.CompletedProcess(argv, 0, out, "")

    def probe(self, path: str) -> Box.Probe:
        return Box.Probe(self)

    class Probe:
        what = "fake generation"

        def __init__(self, box: Box) -> None:
            self.box = box
            self.closed = False

        def token(self) -> object:
            if self.box.fail_probe is not None:
                raise self.box.fail_probe
            return self.box.generation

        def close(self) -> None:
            self.closed = True


def _reader(box: Box) -> ipt.MangleReader:
    return ipt.MangleReader("iptables", run=box.run, probe_factory=box.probe)


def _present(lines: list[str] | None) -> bool:
    assert lines is not None
    return ipt.rule_present(lines, "INPUT", ["-s", "198.51.100.1", "-d", "198.51.100.10",
                                             "-p", "esp", "-j", "MARK", "--set-xmark", "100"])


def test_the_steady_state_runs_no_iptables() -> None:
    box = Box()
    reader = _reader(box)
    for _ in range(5):
        lines, source = reader.read()
        assert _present(lines) and source == ipt.SOURCE
    assert len(box.runs) == 1
    assert reader.watch == "fake generation"


def test_a_change_is_read_at_the_next_refresh() -> None:
    box = Box()
    reader = _reader(box)
    reader.read()
    box.lines, box.generation = box.lines[:1], 2  # the rule deleted
    lines, _ = reader.read()
    assert not _present(lines) and len(box.runs) == 2
    reader.read()
    assert len(box.runs) == 2


def test_a_change_while_iptables_ran_is_read_again() -> None:
    """The rules changed after `-S` printed them: they are not kept as the new table's."""
    box = Box()
    reader = _reader(box)
    box.change_during_run = True
    lines, _ = reader.read()
    assert _present(lines)  # what -S printed, before the change
    lines, _ = reader.read()
    assert not _present(lines) and len(box.runs) == 2
    reader.read()
    assert len(box.runs) == 2


def test_without_a_probe_iptables_runs_every_time_and_says_why() -> None:
    box = Box()
    reader = ipt.MangleReader("iptables", run=box.run, probe_factory=lambda path: None)
    for _ in range(3):
        assert _present(reader.read()[0])
    assert len(box.runs) == 3
    assert reader.watch.startswith(ipt.EVERY_REFRESH)
    assert "neither the nft nor the legacy iptables" in reader.watch


def test_a_probe_that_fails_falls_back_to_every_refresh_and_says_why() -> None:
    box = Box()
    reader = _reader(box)
    reader.read()
    box.fail_probe = PermissionError(1, "Operation not permitted")
    box.lines = box.lines[:1]
    assert not _present(reader.read()[0])
    assert not _present(reader.read()[0])
    assert len(box.runs) == 3
    assert reader.watch.startswith(ipt.EVERY_REFRESH) and "Operation not permitted" in reader.watch
    box.fail_probe = None  # the kernel answers again: back to no process
    reader.read()
    reader.read()
    assert len(box.runs) == 4 and reader.watch == "fake generation"


def test_a_failed_iptables_is_reported_and_nothing_kept() -> None:
    box = Box()

    def broken(argv: list[str]) -> subprocess.CompletedProcess[str]:
        box.runs.append(argv)
        return subprocess.CompletedProcess(argv, 4, "", "iptables: Permission denied.\n")

    reader = ipt.MangleReader("iptables", run=broken, probe_factory=box.probe)
    assert reader.read() == (None, "iptables -t mangle -S failed: iptables: Permission denied.")
    assert reader.read()[0] is None and len(box.runs) == 2


def test_a_missing_command_says_so() -> None:
    reader = ipt.MangleReader("iptables-that-is-not-installed")
    assert reader.read() == (None, "iptables-that-is-not-installed is not installed")


def test_close_closes_the_probe() -> None:
    box = Box()
    probes: list[Box.Probe] = []

    def factory(path: str) -> Box.Probe:
        probes.append(box.probe(path))
        return probes[-1]

    reader = ipt.MangleReader("iptables", run=box.run, probe_factory=factory)
    reader.read()
    reader.close()
    assert probes[0].closed
    reader.read()  # after close, read afresh
    assert len(box.runs) == 2


def test_a_command_switched_to_the_other_back_end_is_watched_anew(tmp_path: Path) -> None:
    """`update-alternatives --set iptables ...` while the panel runs: the new back end's probe."""
    legacy, nft = tmp_path / "xtables-legacy-multi", tmp_path / "xtables-nft-multi"
    legacy.write_text("")
    nft.write_text("")
    command = tmp_path / "iptables"
    command.symlink_to(legacy)
    box = Box()
    made: list[str] = []

    def factory(path: str) -> Box.Probe:
        made.append(ipt.backend(path) or "?")
        return box.probe(path)

    reader = ipt.MangleReader(str(command), run=box.run, probe_factory=factory)
    reader.read()
    reader.read()
    command.unlink()
    command.symlink_to(nft)
    reader.read()
    reader.read()
    assert made == ["legacy", "nft"] and len(box.runs) == 2


def test_the_parsed_rules_answer_as_rule_present() -> None:
    rules = ipt.MangleRules(MANGLE)
    for chain, rule in (("INPUT", ["-s", "198.51.100.1", "-d", "198.51.100.10", "-p", "esp",
                                    "-j", "MARK", "--set-xmark", "100"]),
                        ("INPUT", ["-p", "esp", "-j", "MARK", "--set-xmark", "100"]),
                        ("FORWARD", ["-j", "ACCEPT"])):
        assert rules.present(chain, rule) == ipt.rule_present(MANGLE, chain, rule)


# -- both backends, live, in a network namespace of their own -------------------------------

LIVE = """
import json, subprocess, sys
sys.path.insert(0, {repo!r})
from wizard.system.iptables_status import MangleReader
binary = sys.argv[1]
rule = ["-s", "198.51.100.1", "-d", "198.51.100.10", "-p", "esp", "-j", "MARK"]
def ipt(*words):
    subprocess.run([binary, "-t", "mangle", *words], check=True, capture_output=True)
def present(reader, mark):
    lines = reader.read()[0]
    return [reader.runs, reader.watch, any("--set-xmark " + mark in l for l in lines)]
reader = MangleReader(binary)
out = {{}}
ipt("-A", "INPUT", *rule, "--set-xmark", "100")
out["first"] = present(reader, "0x64")
reader.read(); reader.read()
out["steady"] = present(reader, "0x64")
ipt("-R", "INPUT", "1", *rule, "--set-xmark", "101")
out["replaced"] = present(reader, "0x65")
ipt("-D", "INPUT", "1")
out["deleted"] = present(reader, "0x65")
out["after"] = present(reader, "0x65")
print(json.dumps(out))
"""


def _namespace_unavailable(binary: str) -> str | None:
    if os.geteuid() != 0:
        return "needs root (a network namespace of its own)"
    if shutil.which("unshare") is None or shutil.which(binary) is None:
        return f"needs unshare and {binary}"
    probe = subprocess.run(["unshare", "-n", binary, "-t", "mangle", "-S"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"{binary} does not work in a new network namespace: {probe.stderr.strip()}"
    return None


@pytest.mark.parametrize(("binary", "watch"), [
    ("iptables-nft", "nftables generation (NFT_MSG_GETGEN)"),
    ("iptables-legacy", "the legacy mangle table's content (IPT_SO_GET_ENTRIES)"),
])
def test_both_backends_live_in_a_namespace_of_their_own(binary: str, watch: str) -> None:
    """One `-S` per change and none between, in a network namespace that lives for this test.

    `unshare -n` gives the child an empty network namespace: its tables are
    its own, and vanish with it; the host's are never read or written.
    """
    why = _namespace_unavailable(binary)
    if why:
        pytest.skip(why)
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", LIVE.format(repo=str(REPO)), binary],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got: dict[str, Any] = json.loads(proc.stdout)
    assert got["first"] == [1, watch, True]
    assert got["steady"] == [1, watch, True]  # three more refreshes, no process
    assert got["replaced"] == [2, watch, True]  # same size, other mark: read again
    assert got["deleted"] == [3, watch, False]
    assert got["after"] == [3, watch, False]


# -- through the status source -------------------------------------------------------------


class BoxReaders:
    """Canned strongSwan and links; the mangle rules through a `MangleReader` on a `Box`."""

    def __init__(self, box: Box) -> None:
        self.reader = _reader(box)

    def strongswan(self, notes: list[str]) -> Any:
        return "vici", True, "strongSwan 5.9.8", [], ["Tunnel1"]

    def links(self, names: Any) -> Any:
        return {}, []

    def mangle(self) -> tuple[list[str] | None, str]:
        return self.reader.read()

    @property
    def rules_watch(self) -> str:
        return self.reader.watch

    def watch_strongswan(self, stop: Any, notify: Any) -> None:
        return None

    def watch_netlink(self, stop: Any, notify: Any) -> None:
        return None


def test_the_snapshot_reports_a_deleted_rule_at_the_next_refresh(tmp_path: Path) -> None:
    from wizard.status.document import snapshot_json
    from wizard.status.live import LiveStatus
    from wizard.status.model import Expected, ExpectedTunnel

    rule = ("INPUT", ("-s", "198.51.100.1", "-d", "198.51.100.10", "-p", "esp", "-j", "MARK",
                      "--set-xmark", "100"))
    box = Box()
    source = LiveStatus(Expected((ExpectedTunnel("Tunnel1", rules=(rule,)),), "answers"),
                        readers=BoxReaders(box), heartbeat_file=str(tmp_path / "none"))
    for _ in range(3):
        snap = source.snapshot()
        assert [r.present for r in snap.tunnels[0].rules] == [True]
    assert len(box.runs) == 1
    box.lines, box.generation = box.lines[:1], 2
    snap = source.snapshot()
    assert [r.present for r in snap.tunnels[0].rules] == [False]
    doc = snapshot_json(snap)
    assert doc["rules_source"] == ipt.SOURCE and doc["rules_watch"] == "fake generation"
    assert "Tunnel 1: mangle rule missing: INPUT -s 198.51.100.1" in " ".join(doc["diagnosis"])
