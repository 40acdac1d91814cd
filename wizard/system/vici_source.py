"""strongSwan's SAs over vici, the daemon's own control socket (the `vici` package).

One Unix-socket request per refresh and no process: `swanctl --list-sas`
without the fork. The same socket carries `ike-updown` and `child-updown`
events, which is how the status panel hears of a tunnel going down the
moment charon does, and the `initiate`/`terminate` commands behind its keys.

vici hands back nested dicts of bytes; `ike_from_vici` turns one `list-sa`
entry into the core's `IkeSa`. It is pure and tested on recorded replies; the
rest talks to a socket, and takes a session factory so tests can hand in a
fake session.

The status panel's refreshes read through `ReadingSession`, which speaks
the same protocol with the `vici` package's framing constants but keeps
its `list-sa`/`list-conn` event registrations for the session's life (the
package registers and unregisters around every streamed command: four more
round trips per refresh), asks charon's version once per session, reads
the socket in large pieces, and decodes messages with `decode` (the
package's decoder reads a byte at a time through `BytesIO`; under UML that
was most of a refresh's vici cost). Commands and events still go through
the package's `vici.Session`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wizard.status.model import ChildSa, IkeSa
from wizard.system.base import HostError

SOCKET = "/var/run/charon.vici"


class ViciError(Exception):
    """charon answered, but not with what was asked (a failed command, a broken reply)."""


@dataclass(frozen=True)
class ViciReading:
    """One refresh's worth of answers."""

    version: str
    sas: tuple[IkeSa, ...]
    conns: tuple[str, ...]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    text = _text(value)
    try:
        return int(text)
    except ValueError:
        return None


def _algorithms(entry: Mapping[str, Any], *, prf: bool) -> str:
    """vici's algorithm fields joined the way `ipsec statusall` prints them."""
    parts = []
    encr = _text(entry.get("encr-alg"))
    if encr:
        size = _text(entry.get("encr-keysize"))
        parts.append(f"{encr}_{size}" if size else encr)
    integ = _text(entry.get("integ-alg"))
    if integ:
        size = _text(entry.get("integ-keysize"))
        parts.append(f"{integ}_{size}" if size else integ)
    if prf and entry.get("prf-alg"):
        parts.append(_text(entry.get("prf-alg")))
    if entry.get("dh-group"):
        parts.append(_text(entry.get("dh-group")))
    return "/".join(parts)


def child_from_vici(entry: Mapping[str, Any]) -> ChildSa:
    """One entry of a `list-sa` event's `child-sas` section."""
    return ChildSa(
        name=_text(entry.get("name")),
        state=_text(entry.get("state")) or "UNKNOWN",
        installed_s=_int(entry.get("install-time")),
        rekey_in_s=_int(entry.get("rekey-time")),
        algorithms=_algorithms(entry, prf=False),
        bytes_in=_int(entry.get("bytes-in")) or 0,
        bytes_out=_int(entry.get("bytes-out")) or 0,
        packets_in=_int(entry.get("packets-in")),
        packets_out=_int(entry.get("packets-out")),
    )


def ike_from_vici(name: str, entry: Mapping[str, Any]) -> IkeSa:
    """One IKE SA of a `list-sa` event (`{name: entry}`), with its CHILD SAs.

    IKEv1 SAs are reauthenticated, not rekeyed, so the earlier of the two
    times is reported as "rekey in".
    """
    times = [t for t in (_int(entry.get("rekey-time")), _int(entry.get("reauth-time"))) if t]
    children = entry.get("child-sas") or {}
    return IkeSa(
        name=name,
        state=_text(entry.get("state")) or "UNKNOWN",
        version=_int(entry.get("version")),
        local_host=_text(entry.get("local-host")) or None,
        remote_host=_text(entry.get("remote-host")) or None,
        established_s=_int(entry.get("established")),
        rekey_in_s=min(times) if times else None,
        algorithms=_algorithms(entry, prf=True),
        children=tuple(child_from_vici(c) for c in children.values()),
    )


def sas_from_events(events: Iterable[Mapping[str, Any]]) -> tuple[IkeSa, ...]:
    """Every IKE SA in a `list-sas` stream (one `{name: entry}` dict per event)."""
    return tuple(ike_from_vici(name, entry) for event in events for name, entry in event.items())


def connect(path: str = SOCKET, timeout: float = 5.0) -> Any:
    """A vici session on `path`; the socket times out so a hung charon cannot hang a refresh.

    Raises:
        FileNotFoundError / ConnectionRefusedError: no charon behind the path.
    """
    import vici  # the vici package is needed only when charon serves a socket

    return vici.Session(_unix_socket(path, timeout))


def _unix_socket(path: str, timeout: float) -> socket.socket:
    """A stream socket connected to `path`, timing out after `timeout` seconds per call."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


# The vici wire format (strongSwan's src/libcharon/plugins/vici/README.md).
CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7
SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6
_LENGTH = struct.Struct("!I")


def decode(data: bytes) -> dict[str, Any]:
    """One vici message as nested dicts of bytes, as `vici.Message.deserialize` gives it. Pure.

    Raises:
        ViciError: the message is cut short or holds an element vici does not have.
    """
    root: dict[str, Any] = {}
    section = root
    stack: list[dict[str, Any]] = []
    i, end = 0, len(data)
    try:
        while i < end:
            kind = data[i]
            if kind == SECTION_END:
                if not stack:
                    raise ViciError(f"vici message: end of a section never begun at {i}")
                section = stack.pop()
                i += 1
                continue
            size = data[i + 1]
            name = data[i + 2:i + 2 + size].decode("utf-8")
            i += 2 + size
            if kind == KEY_VALUE:
                length = (data[i] << 8) | data[i + 1]
                section[name] = data[i + 2:i + 2 + length]
                i += 2 + length
            elif kind == SECTION_START:
                stack.append(section)
                section[name] = section = {}
            elif kind == LIST_START:
                items = []
                while data[i] == LIST_ITEM:
                    length = (data[i + 1] << 8) | data[i + 2]
                    items.append(data[i + 3:i + 3 + length])
                    i += 3 + length
                if data[i] != LIST_END:
                    raise ViciError(f"vici message: list {name} not ended at {i}")
                section[name] = items
                i += 1
            else:
                raise ViciError(f"vici message: element type {kind} at {i - 2 - size}")
    except (IndexError, UnicodeDecodeError):
        raise ViciError("vici message cut short") from None
    if i != end or stack:
        raise ViciError("vici message cut short")
    return root


def _named(kind: int, name: str) -> bytes:
    raw = name.encode()
    body = bytes((kind, len(raw))) + raw
    return _LENGTH.pack(len(body)) + body


class ReadingSession:
    """A vici session for reading, kept from one refresh to the next.

    `version`, `list_sas` and `list_conns` answer as `vici.Session`'s do.
    The `list-sa` and `list-conn` events are registered on first use and
    stay registered: charon sends them only to the session that asked.

    Args:
        sock: a connected stream socket to charon (with a timeout, so a hung
            charon cannot hang a refresh).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.transport = self  # what `_close` closes
        self._buf = bytearray()
        self._registered: set[str] = set()
        self._version: dict[str, Any] | None = None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _packet(self) -> tuple[int, bytes]:
        """The next packet: its type, and what follows the type (and name, for an event)."""
        buf = self._buf
        while len(buf) < 4 or len(buf) < 4 + _LENGTH.unpack_from(buf)[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("charon closed the vici session")
            buf += chunk
        length = _LENGTH.unpack_from(buf)[0]
        packet = bytes(buf[4:4 + length])
        del buf[:4 + length]
        if not packet:
            raise ViciError("empty vici packet")
        kind = packet[0]
        if kind == EVENT:
            return kind, packet[2 + packet[1]:]
        return kind, packet[1:]

    def _register(self, event: str) -> None:
        if event in self._registered:
            return
        self.sock.sendall(_named(EVENT_REGISTER, event))
        kind, _ = self._packet()
        if kind != EVENT_CONFIRM:
            raise ViciError(f"charon refused the {event} event (packet type {kind})")
        self._registered.add(event)

    def _request(self, command: str, event: str | None = None) -> tuple[dict[str, Any],
                                                                         list[dict[str, Any]]]:
        """Send `command`; its answer, and the events it streamed before it."""
        if event is not None:
            self._register(event)
        self.sock.sendall(_named(CMD_REQUEST, command))
        events = []
        while True:
            kind, body = self._packet()
            if kind == EVENT:
                events.append(decode(body))
            elif kind == CMD_RESPONSE:
                answer = decode(body)
                if answer.get("success", b"yes") != b"yes":
                    raise ViciError(f"{command}: {_text(answer.get('errmsg'))}")
                return answer, events
            elif kind == CMD_UNKNOWN:
                raise ViciError(f"charon does not know the {command} command")
            else:
                raise ViciError(f"{command}: unexpected vici packet type {kind}")

    def version(self) -> dict[str, Any]:
        """charon's version: asked once (a restarted charon closes the session)."""
        if self._version is None:
            self._version = self._request("version")[0]
        return self._version

    def list_sas(self) -> list[dict[str, Any]]:
        return self._request("list-sas", "list-sa")[1]

    def list_conns(self) -> list[dict[str, Any]]:
        return self._request("list-conns", "list-conn")[1]


def connect_reading(path: str = SOCKET, timeout: float = 5.0) -> ReadingSession:
    """A `ReadingSession` on `path`.

    Raises:
        FileNotFoundError / ConnectionRefusedError: no charon behind the path.
    """
    return ReadingSession(_unix_socket(path, timeout))


def _close(session: Any) -> None:
    transport = getattr(session, "transport", None)
    if transport is not None:
        with contextlib.suppress(OSError):
            transport.close()


def read(
    path: str = SOCKET, session_factory: Callable[[str], Any] = connect
) -> ViciReading:
    """The daemon's version, its SAs and the conns it has loaded: three requests, one socket.

    Raises:
        OSError: the socket cannot be reached.
        ViciError: charon refused a request or sent something unreadable.
    """
    session = session_factory(path)
    try:
        return _read_on(session)
    finally:
        _close(session)


def _read_on(session: Any) -> ViciReading:
    try:
        version = session.version()
        sas = sas_from_events(session.list_sas())
        conns = tuple(name for event in session.list_conns() for name in event)
    except OSError:
        raise
    except Exception as err:  # the vici package's own exceptions
        raise ViciError(str(err)) from None
    return ViciReading(_text(version.get("version")) or "?", sas, conns)


class ViciReader:
    """`read` on one vici session kept open from one refresh to the next.

    The status panel refreshes every second or two; connecting each time was
    a third of a refresh's work. When charon closed the session (a restart)
    or a request failed, the session is dropped and the read tried once more
    on a new one, so a restarted daemon is read at the next refresh.

    Args:
        path: charon's vici socket.
        session_factory: makes a session (tests hand in fakes).
    """

    def __init__(self, path: str = SOCKET,
                 session_factory: Callable[[str], Any] = connect_reading) -> None:
        self.path = path
        self._factory = session_factory
        self._session: Any = None
        self._lock = threading.Lock()

    def read(self) -> ViciReading:
        """As `read`, on the kept session.

        Raises:
            OSError: the socket cannot be reached, even anew.
            ViciError: charon refused a request on a new session too.
        """
        with self._lock:
            for fresh in (self._session is None, True):
                if self._session is None:
                    self._session = self._factory(self.path)
                try:
                    return _read_on(self._session)
                except (OSError, ViciError):
                    self._drop()
                    if fresh:
                        raise
            raise AssertionError("unreachable: the second try is on a new session")

    def close(self) -> None:
        """Close the kept session, if any; the next `read` opens a new one."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._session is not None:
            _close(self._session)
            self._session = None


def initiate(
    path: str, name: str, session_factory: Callable[[str], Any] = connect
) -> None:
    """Bring conn `name` up; returns at once (timeout -1), the events report the outcome.

    Waiting would block for as long as the peer does not answer, which with
    the document's `keyingtries=%forever` is forever.
    """
    _command(path, session_factory, "initiate", {"child": name, "ike": name, "timeout": "-1"})


def terminate(
    path: str, name: str, session_factory: Callable[[str], Any] = connect
) -> None:
    """Take conn `name` down: delete its IKE SA and with it the CHILD SAs."""
    _command(path, session_factory, "terminate", {"ike": name, "timeout": "-1"})


def initiate_command(name: str) -> str:
    """The `swanctl` line that does what `initiate` does, for logs and dry runs."""
    return f"swanctl --initiate --ike {name} --child {name}"


def terminate_command(name: str) -> str:
    """The `swanctl` line that does what `terminate` does."""
    return f"swanctl --terminate --ike {name}"


def control(
    what: str,
    name: str,
    log: list[str],
    path: str = SOCKET,
    session_factory: Callable[[str], Any] | None = None,
) -> None:
    """`initiate` or `terminate` conn `name` for a `Strongswan` adapter, logged like a command.

    Raises:
        HostError: no daemon on the socket, or it refused (the message says which).
    """
    log.append(initiate_command(name) if what == "initiate" else terminate_command(name))
    run = initiate if what == "initiate" else terminate
    try:
        run(path, name, session_factory or connect)
    except (FileNotFoundError, ConnectionRefusedError):
        raise HostError(
            f"{what} {name}: strongSwan does not answer on {path} (is it running, with vici?)"
        ) from None
    except (OSError, ViciError) as err:
        raise HostError(f"{what} {name}: {err}") from None


def _command(
    path: str, session_factory: Callable[[str], Any], what: str, message: dict[str, str]
) -> None:
    session = session_factory(path)
    try:
        for _log in getattr(session, what)(message):
            pass  # control-log lines: the panel learns the outcome from events
    except OSError:
        raise
    except Exception as err:
        raise ViciError(f"{what} {message.get('ike')}: {err}") from None
    finally:
        _close(session)


EVENTS = ("ike-updown", "child-updown")


def describe_event(kind: str, payload: Mapping[str, Any]) -> str:
    """"child-updown Tunnel1 down": enough for a log line or a panel's notice."""
    names = [k for k, v in payload.items() if isinstance(v, Mapping)]
    direction = "up" if _text(payload.get("up")) == "yes" else "down"
    return f"{kind} {' '.join(names) or '?'} {direction}"


def listen(
    path: str,
    stop: threading.Event,
    notify: Callable[[str], None],
    session_factory: Callable[[str], Any] = connect,
    poll: float = 1.0,
) -> None:
    """Call `notify` for each SA up/down event until `stop` is set.

    Wakes every `poll` seconds to look at `stop`. When charon goes away (a
    restart) it reconnects, telling `notify` so the panel refreshes; with no
    socket at all it returns, and the panel keeps to its interval refresh.
    """
    while not stop.is_set():
        if not os.path.exists(path):
            return
        try:
            session = session_factory(path)
        except OSError:
            stop.wait(2.0)
            continue
        try:
            for kind, payload in session.listen(list(EVENTS), timeout=poll):
                if stop.is_set():
                    break
                if kind is None:
                    continue
                notify(describe_event(_text(kind), payload or {}))
        except Exception:  # charon went away mid-listen: say so, then reconnect
            notify("strongSwan connection lost")
            stop.wait(2.0)
        finally:
            _close(session)
