"""The status refresh's own vici reading: the same answers as the `vici` package, fewer trips (issue 13).

`ReadingSession` keeps its `list-sa`/`list-conn` registrations and charon's
version for the session's life and decodes with `decode`. These prove, on
the lab's recorded replies served by a fake charon that speaks vici over a
socket pair:

* `decode` reads every message exactly as `vici.Message.deserialize` does,
  and refuses a cut or malformed one with a `ViciError`;
* three refreshes give what `vici.Session` gives, with one registration per
  event type and one version request in all;
* a refused command, an unknown one and a charon that hangs up are errors the
  reader handles (a new session at the next read).
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import pytest
import vici
from status_fixtures import _to_bytes, vici_record
from vici.protocol import FiniteStream, Message

from wizard.system import vici_source

RECORDS = ("both_up", "tunnel1_connecting", "tunnel2_no_child")


def _messages() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in RECORDS:
        record = vici_record(name)
        found.append(_to_bytes(record["version"]))
        found.extend(_to_bytes(event) for event in record["sas"])
    found.append({"Tunnel1": {"local_addrs": [b"198.51.100.10"], "children": {
        "Tunnel1": {"mode": b"TUNNEL", "local-ts": [b"0.0.0.0/0"], "remote-ts": []}}}})
    return found


@pytest.mark.parametrize("message", _messages())
def test_decode_reads_as_the_vici_package_does(message: dict[str, Any]) -> None:
    raw = Message.serialize(message)
    assert vici_source.decode(raw) == Message.deserialize(FiniteStream(raw)) == message


def test_a_cut_message_is_refused_or_a_shorter_whole_one() -> None:
    """Every prefix either decodes (it ended on an element, no section open) or is refused."""
    raw = Message.serialize(_messages()[1])
    refused = 0
    for cut in range(1, len(raw)):
        try:
            vici_source.decode(raw[:cut])
        except vici_source.ViciError:
            refused += 1
    assert refused > len(raw) // 2  # most cuts fall inside an element or a section


@pytest.mark.parametrize("raw", [
    bytes([9, 1, ord("x")]),  # no such element
    bytes([2]),  # a section ended that never began
    bytes([4, 1, ord("l"), 5, 0, 1, ord("a"), 9]),  # a list not ended
    bytes([3, 1, ord("k"), 0, 5, ord("a")]),  # a value cut short
    bytes([1, 1, ord("s"), 3, 1, ord("k"), 0, 0]),  # a section never ended
])
def test_a_malformed_message_is_refused(raw: bytes) -> None:
    with pytest.raises(vici_source.ViciError):
        vici_source.decode(raw)


# -- a fake charon ---------------------------------------------------------------------------


class FakeCharon:
    """Answers vici on one end of a socket pair from a recorded file; counts what it is asked.

    It frames and encodes with the `vici` package's own `Message.serialize`,
    not the code under test.
    """

    def __init__(self, record: dict[str, Any], refuse: set[str] | None = None) -> None:
        self.record = record
        self.refuse = refuse or set()
        self.asked: list[str] = []
        self.registered: list[str] = []
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _send(self, kind: int, body: bytes = b"", name: str | None = None) -> None:
        head = bytes([kind]) + (bytes([len(name)]) + name.encode() if name is not None else b"")
        packet = head + body
        self.theirs.sendall(struct.pack("!I", len(packet)) + packet)

    def _recv(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.theirs.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _serve(self) -> None:
        try:
            while True:
                packet = self._recv(struct.unpack("!I", self._recv(4))[0])
                kind, name = packet[0], packet[2:2 + packet[1]].decode()
                if kind in (3, 4):
                    self.registered.append(("+" if kind == 3 else "-") + name)
                    self._send(5)
                    continue
                self.asked.append(name)
                self._answer(name)
        except (EOFError, OSError):
            return

    def _answer(self, command: str) -> None:
        if command == "hang-up":
            self.theirs.close()
            return
        if command in self.refuse:
            self._send(1, Message.serialize({"success": b"no", "errmsg": b"refused"}))
        elif command == "version":
            self._send(1, Message.serialize(_to_bytes(self.record["version"])))
        elif command == "list-sas":
            for event in self.record["sas"]:
                self._send(7, Message.serialize(_to_bytes(event)), "list-sa")
            self._send(1, b"")
        elif command == "list-conns":
            for conn in self.record["conns"]:
                self._send(7, Message.serialize({conn: {"version": b"IKEv1"}}), "list-conn")
            self._send(1, b"")
        else:
            self._send(2)

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.mark.parametrize("record", RECORDS)
def test_a_reading_session_answers_as_the_vici_package_with_fewer_trips(record: str) -> None:
    package_charon = FakeCharon(vici_record(record))
    package = vici.Session(package_charon.ours)
    expected = vici_source._read_on(package)

    charon = FakeCharon(vici_record(record))
    session = vici_source.ReadingSession(charon.ours)
    for _ in range(3):
        assert vici_source._read_on(session) == expected
    assert charon.registered == ["+list-sa", "+list-conn"]  # once, and never unregistered
    assert charon.asked == ["version"] + ["list-sas", "list-conns"] * 3
    assert len(package_charon.registered) == 4  # the package: on and off, per command
    session.close()
    package_charon.close()
    charon.close()


def test_a_refused_or_unknown_command_is_a_vici_error() -> None:
    charon = FakeCharon(vici_record("both_up"), refuse={"list-conns"})
    session = vici_source.ReadingSession(charon.ours)
    with pytest.raises(vici_source.ViciError, match="list-conns: refused"):
        session.list_conns()
    with pytest.raises(vici_source.ViciError, match="does not know the no-such command"):
        session._request("no-such")
    charon.close()


def test_a_charon_that_hangs_up_is_replaced_at_the_next_read() -> None:
    charons: list[FakeCharon] = []

    def factory(path: str) -> vici_source.ReadingSession:
        charons.append(FakeCharon(vici_record("both_up")))
        return vici_source.ReadingSession(charons[-1].ours)

    reader = vici_source.ViciReader("/nonexistent", session_factory=factory)
    first = reader.read()
    charons[0].theirs.close()  # charon restarted
    assert reader.read() == first
    assert len(charons) == 2
    reader.close()
    for charon in charons:
        charon.close()


def test_a_session_closed_mid_answer_is_an_error() -> None:
    charon = FakeCharon(vici_record("both_up"))
    session = vici_source.ReadingSession(charon.ours)
    with pytest.raises(ConnectionResetError):
        session._request("hang-up")
    charon.close()
