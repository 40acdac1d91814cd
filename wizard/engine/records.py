"""Typed undo records: what the journal says about how to put one action back.

An "intent" record in the journal carries one of these, written before the
action it undoes (see `wizard.engine.journal`). Each is a frozen dataclass with a
`KIND` tag; `to_json` writes the tag and the fields, `from_json` reads them
back checking every key and every type, and refuses anything else with an
`UndoRecordError` naming the journal entry. A rollback (possibly in another
process, another version, at boot) never runs a guess.

The JSON shape of every record is exactly the untyped dict the previous
version wrote (same tags, same keys), so a box left mid-transaction by the
previous version is rolled back by this one; `tests/test_undo_records.py`
holds literal records of that version.

This module is data only: the code that does and undoes each record is the
adapter of its operation family (`wizard.engine.adapters`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Union


class UndoRecordError(Exception):
    """An undo record in a journal that this version cannot read; nothing is guessed."""


@dataclass(frozen=True)
class FileUndo:
    """Put `path` back: its saved original (or its absence), and the directories the write made.

    Attributes:
        existed: whether the file was there before the action.
        mode, uid, gid: its mode and owner before (None when it did not exist).
        saved: the journal-relative name of its saved bytes (`orig/N`).
        dirs: directories the write created, outermost first.
        block: the action inserted a managed block (the file is shared with
            the operator) rather than writing the whole file.
    """

    KIND: ClassVar[str] = "file"
    path: str
    existed: bool
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    saved: str | None = None
    dirs: tuple[str, ...] = ()
    block: bool = False


@dataclass(frozen=True)
class SysctlUndo:
    """Set `key` back to `value` (None: the key did not exist, nothing to restore)."""

    KIND: ClassVar[str] = "sysctl"
    key: str
    value: str | None


@dataclass(frozen=True)
class LinkDelUndo:
    """Delete the interface the action created."""

    KIND: ClassVar[str] = "link-del"
    name: str


@dataclass(frozen=True)
class LinkRecreateUndo:
    """Create again the VTI interface the action deleted, with its addresses, state and routes."""

    KIND: ClassVar[str] = "link-recreate"
    name: str
    local: str
    remote: str
    key: int
    addrs: tuple[tuple[str, str | None, int], ...]
    up: bool
    mtu: int
    routes: tuple[tuple[str, int], ...] = ()
    sysctls: tuple[tuple[str, str], ...] = ()
    """The interface's own kernel settings (key, value), set again once it exists."""


@dataclass(frozen=True)
class LinkSetUndo:
    """Put an interface's up/down state and MTU back."""

    KIND: ClassVar[str] = "link-set"
    dev: str
    up: bool
    mtu: int


@dataclass(frozen=True)
class AddrDelUndo:
    """Remove the point-to-point address the action added."""

    KIND: ClassVar[str] = "addr-del"
    dev: str
    local: str
    peer: str


@dataclass(frozen=True)
class RouteDelUndo:
    """Remove the route the action added."""

    KIND: ClassVar[str] = "route-del"
    dst: str
    dev: str
    metric: int


@dataclass(frozen=True)
class RouteAddUndo:
    """Add back the route the action removed."""

    KIND: ClassVar[str] = "route-add"
    dst: str
    dev: str
    metric: int


@dataclass(frozen=True)
class IptablesDelUndo:
    """Remove every copy of the rule the action appended."""

    KIND: ClassVar[str] = "iptables-del"
    table: str
    chain: str
    rule: tuple[str, ...]


@dataclass(frozen=True)
class IptablesAddUndo:
    """Append again the rule the action removed."""

    KIND: ClassVar[str] = "iptables-add"
    table: str
    chain: str
    rule: tuple[str, ...]


@dataclass(frozen=True)
class UnitUndo:
    """Undo `enable --now`: disable a unit that was not enabled, restart one that was running."""

    KIND: ClassVar[str] = "unit"
    unit: str
    was_enabled: bool
    was_active: bool


@dataclass(frozen=True)
class UnitEnableUndo:
    """Enable and start again the unit the action disabled."""

    KIND: ClassVar[str] = "unit-enable"
    unit: str


@dataclass(frozen=True)
class DaemonReloadUndo:
    """Reload systemd once the unit files are back."""

    KIND: ClassVar[str] = "daemon-reload"


@dataclass(frozen=True)
class StrongswanUndo:
    """Restart the starter on the restored files, or stop it if it was not running."""

    KIND: ClassVar[str] = "strongswan"
    was_running: bool


@dataclass(frozen=True)
class SwanctlUndo:
    """Load the restored swanctl files again, or stop the daemon if it was not running."""

    KIND: ClassVar[str] = "swanctl"
    was_running: bool


@dataclass(frozen=True)
class FrrUndo:
    """Restart FRR on the restored files, or stop it; enabled or not as it was.

    Attributes:
        was_running: FRR ran before the action.
        was_enabled: `frr.service` was enabled before; None where systemd does
            not run the box (FRR was driven by its init script).
    """

    KIND: ClassVar[str] = "frr"
    was_running: bool
    was_enabled: bool | None = None


@dataclass(frozen=True)
class NoUndo:
    """Nothing to put back (the action's effect goes with another one's undo)."""

    KIND: ClassVar[str] = "none"


UndoRecord = Union[  # noqa: UP007 - a runtime value: `get_args` lists the record types
    FileUndo, SysctlUndo, LinkDelUndo, LinkRecreateUndo, LinkSetUndo, AddrDelUndo,
    RouteDelUndo, RouteAddUndo, IptablesDelUndo, IptablesAddUndo, UnitUndo, UnitEnableUndo,
    DaemonReloadUndo, StrongswanUndo, SwanctlUndo, FrrUndo, NoUndo,
]

RECORDS: dict[str, type[Any]] = {cls.KIND: cls for cls in typing.get_args(UndoRecord)}
"""Every record type, by its journal tag."""


def to_json(record: UndoRecord) -> dict[str, Any]:
    """The record as the journal stores it: its tag under "kind", then its fields."""
    out: dict[str, Any] = {"kind": record.KIND}
    for f in dataclasses.fields(record):
        out[f.name] = _plain(getattr(record, f.name))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def from_json(data: object, where: str) -> UndoRecord:
    """Read one journal undo record back, or refuse it.

    Args:
        data: the "undo" value of an intent record.
        where: names the journal entry, for the message.

    Raises:
        UndoRecordError: not an object, an unknown kind, a missing or unknown
            key, or a value of the wrong type.
    """
    if data is None:
        return NoUndo()
    if not isinstance(data, dict):
        raise UndoRecordError(f"{where}: the undo record is not a JSON object")
    kind = data.get("kind")
    cls = RECORDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UndoRecordError(
            f"{where}: undo kind {kind!r} is not one this version of vpn-wizard knows "
            f"(it knows {', '.join(sorted(RECORDS))})"
        )
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known) - {"kind"})
    if unknown:
        raise UndoRecordError(f"{where}: undo kind {kind!r} has an unknown key {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            if f.default is dataclasses.MISSING:
                raise UndoRecordError(f"{where}: undo kind {kind!r} lacks the key {name!r}")
            continue
        try:
            values[name] = _typed(data[name], hints[name])
        except ValueError:
            raise UndoRecordError(
                f"{where}: undo kind {kind!r}: {name!r} is not {_name(hints[name])}"
            ) from None
    return typing.cast(UndoRecord, cls(**values))


def _typed(value: Any, hint: Any) -> Any:
    """`value` checked against `hint` (str, int, bool, None, unions, tuples); ValueError if not."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _typed(value, option)
            except ValueError:
                continue
        raise ValueError(value)
    if hint is type(None):
        if value is None:
            return None
        raise ValueError(value)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise ValueError(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(v, args[0]) for v in value)
        if len(args) != len(value):
            raise ValueError(value)
        return tuple(_typed(v, a) for v, a in zip(value, args, strict=True))
    if hint is bool:
        if type(value) is bool:
            return value
        raise ValueError(value)
    if hint in (int, str):
        if type(value) is hint:
            return value
        raise ValueError(value)
    raise ValueError(value)  # pragma: no cover - every field's type is listed above


def _name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")
