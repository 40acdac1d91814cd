"""The operator's answers as TOML: what they chose, replayable on the next box.

An answers file lets `vpn-wizard --answers FILE` run without a single
question (subiquity's autoinstall, in small). Every key is optional; what a
file leaves out comes from the AWS file, then from the seed's defaults, and
`resolve` reports which source each value came from. The schema (the long
form is docs/answers.md):

    import = "aws-vpn.txt"            # the AWS file, relative to this file

    [choices]                         # every field of model.Choices
    mode = "manual"                   # "manual" | "updown"
    physical_interface = "eth0"
    local_ip = "192.0.2.10"           # leave out when the public address is on this box
    lan_interfaces = ["eth1"]
    vpc_cidrs = ["10.0.0.0/16"]
    mtu = 1419
    persistence = "seed"              # "seed" | "netplan" | "networkd" | "none"
    heartbeat = true
    heartbeat_interval = 5
    fast_failover = false             # the heartbeat moves the routes off a dead tunnel
    enable_forwarding = true
    backend = "stroke"                # "stroke" | "swanctl"
    advertise = ["192.0.2.0/24"]      # with BGP: the networks announced to AWS
    bgp_mode = "active-active"        # "active-active" | "active-passive"

    [connection]                      # AWS's ids, shown in the preview
    vpn_connection_id = "vpn-0e1a2b3c"
    vpn_gateway_id = "vgw-0d4e5f6a"
    customer_gateway_id = "cgw-0c7b8a9d"
    routing = "dynamic"               # "static" | "dynamic" (BGP); AWS's file decides first
    bgp_asn = 65000                   # with BGP, when AWS's file has no BGP section
    bgp_aws_asn = 64512
    bgp_hold_time = 30

    [[tunnels]]                       # the first table is tunnels[0] (Tunnel1), and so on
    name = "Tunnel1"
    mark = 100
    customer_outside_ip = "198.51.100.10"
    aws_outside_ip = "203.0.113.1"
    customer_inside_cidr = "169.254.23.6/30"
    aws_inside_cidr = "169.254.23.5/30"
    psk = "..."                       # written only when secrets are asked for
    ike_version = 1
    ike = "aes128-sha1-modp1024"
    esp = "aes128-sha1-modp1024"
    ike_lifetime = 28800              # seconds
    esp_lifetime = 3600
    dpd_delay = 10
    dpd_timeout = 30
    dpd_action = "restart"

Types are checked on load (a string where a number belongs is an error, and
so is a key the schema does not know, so a typo is never silently ignored);
whether a value is *allowed* (an AWS-reserved inside CIDR, mode "foo") is
left to `wizard.model.validate`, which reports it under the same field path.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from types import ModuleType
from typing import Any

from wizard import fields
from wizard.aws import Imported
from wizard.model import (
    BACKENDS,
    BGP_MODES,
    MODES,
    PERSISTENCE,
    ROUTINGS,
    Choices,
    Connection,
    Crypto,
    Setup,
    Tunnel,
    parse_address,
    parse_interface,
    parse_network,
)
from wizard.questions import BY_ID as QUESTIONS
from wizard.questions import set_bgp
from wizard.secret import Secret
from wizard.system.input_file import MAX_INPUT_BYTES, InputFileError, read_input, too_large

SOURCE_ANSWERS = "answers"
SOURCE_IMPORT = "import"
SOURCE_DEFAULT = "default"


class AnswersError(Exception):
    """An answers file that cannot be used, located for the operator.

    Attributes:
        path: the answers file as the operator named it ("" when there is none).
        key: the dotted key, e.g. "choices.mtu" or "tunnels[1].psk"; "" for the
            file as a whole.
        message: what is wrong; never a pre-shared key.
    """

    def __init__(self, path: str, key: str, message: str) -> None:
        self.path = path
        self.key = key
        self.message = message
        location = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{location}: {message}" if location else message)


@dataclass(frozen=True)
class Answers:
    """An answers file, read and type-checked: only the keys it gives.

    Attributes:
        path: where it was read from, for errors raised later by `resolve`.
        import_path: the `import` key as written; relative to the answers
            file's directory, so a file and its AWS document travel together.
        choices: Choices field name -> typed value (IPv4Address, tuple...).
        connection: the AWS ids given under [connection].
        tunnels: one mapping per `[[tunnels]]` table, Tunnel and Crypto field
            names -> typed values (a `Secret` for psk).
    """

    path: str = ""
    import_path: str | None = None
    choices: Mapping[str, object] = field(default_factory=dict)
    tunnels: tuple[Mapping[str, object], ...] = ()
    connection: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """The setup the answers, the AWS file and the defaults make together.

    Attributes:
        setup: the model, ready for validation and the plan.
        sources: field path ("choices.mode", "tunnels[0].psk",
            "tunnels[1].crypto.ike", "connection.vpn_connection_id") ->
            "answers", "import" or "default", so a preview can say where
            each value came from.
    """

    setup: Setup
    sources: dict[str, str]


# --------------------------------------------------------------------------- types


class _Bad(Exception):
    """A value of the wrong type or shape; the message says what was expected."""


def _kind(value: object) -> str:
    """A TOML value's type, as the operator wrote it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _string(value: object) -> str:
    """Any string of the file: never one holding a line break or another control character."""
    if not isinstance(value, str):
        raise _Bad(f"must be a string, not {_kind(value)}")
    bad = fields.unsafe_character(value)
    if bad is not None:
        raise _Bad(
            f"holds the control or invisible character {bad}; no value of an answers file "
            "may (it would end up inside a configuration line)"
        )
    return value


def _grammar(check: Callable[[str], str | None]) -> Callable[[object], str]:
    """A string that must also match its field's grammar (`wizard.fields`), checked raw."""

    def convert(value: object) -> str:
        text = _string(value)
        reason = check(text)
        if reason:
            raise _Bad(reason)
        return text

    return convert


def _integer(value: object) -> int:
    if type(value) is not int:  # bool is an int in Python, never in TOML
        raise _Bad(f"must be an integer, not {_kind(value)}")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false, not {_kind(value)}")
    return value


def _parsed(parser: Callable[[str], Any], what: str) -> Callable[[object], Any]:
    def convert(value: object) -> Any:
        text = _string(value)
        try:
            return parser(text)
        except ValueError as exc:
            raise _Bad(f"{text!r} is not {what} ({exc})") from None

    return convert


def _array(item: Callable[[object], Any]) -> Callable[[object], tuple[Any, ...]]:
    def convert(value: object) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _Bad(f"must be an array, not {_kind(value)}")
        out = []
        for index, element in enumerate(value):
            try:
                out.append(item(element))
            except _Bad as exc:
                raise _Bad(f"item {index + 1} {exc}") from None
        return tuple(out)

    return convert


def _secret(value: object) -> Secret:
    if not isinstance(value, str):
        raise _Bad(f"must be a string, not {_kind(value)}")
    return Secret(value)


_address = _parsed(parse_address, "an IPv4 address")
_interface = _parsed(parse_interface, "an address with a prefix such as 169.254.23.6/30")

#: [choices] keys -> converter, in the order a saved file lists them.
CHOICE_KEYS: dict[str, Callable[[object], Any]] = {
    "mode": _string,
    "physical_interface": _grammar(fields.check_interface_name),
    "local_ip": _address,
    "lan_interfaces": _array(_grammar(fields.check_interface_name)),
    "vpc_cidrs": _array(_parsed(parse_network, "a network such as 10.0.0.0/16")),
    "mtu": _integer,
    "persistence": _string,
    "heartbeat": _boolean,
    "heartbeat_interval": _integer,
    "fast_failover": _boolean,
    "enable_forwarding": _boolean,
    "backend": _string,
    "advertise": _array(_parsed(parse_network, "a network such as 192.0.2.0/24")),
    "bgp_mode": _string,
}
#: [[tunnels]] keys that are fields of `Tunnel`.
TUNNEL_KEYS: dict[str, Callable[[object], Any]] = {
    "name": _grammar(fields.check_tunnel_name),
    "mark": _integer,
    "customer_outside_ip": _address,
    "aws_outside_ip": _address,
    "customer_inside_cidr": _interface,
    "aws_inside_cidr": _interface,
    "psk": _secret,
}
#: [[tunnels]] keys that are fields of `Crypto`.
CRYPTO_KEYS: dict[str, Callable[[object], Any]] = {
    "ike_version": _integer,
    "ike": _grammar(fields.check_proposal),
    "esp": _grammar(fields.check_proposal),
    "ike_lifetime": _integer,
    "esp_lifetime": _integer,
    "dpd_delay": _integer,
    "dpd_timeout": _integer,
    "dpd_action": _string,
}
#: [connection] keys: the ids AWS gave, fields of `Connection`.
CONNECTION_KEYS: dict[str, Callable[[object], Any]] = {
    name: _grammar(lambda text, name=name: fields.check_aws_id(name, text))
    for name in ("vpn_connection_id", "vpn_gateway_id", "customer_gateway_id")
}
#: [connection] keys about routing: the type, and the BGP values a file without a BGP
#: section (the strongSwan download) lacks; they apply to both tunnels, as AWS's do.
ROUTING_KEYS: dict[str, Callable[[object], Any]] = {
    "routing": _string,
    "bgp_asn": _integer,
    "bgp_aws_asn": _integer,
    "bgp_hold_time": _integer,
}
#: The `Bgp` field each routing key sets.
_BGP_FIELDS = {"bgp_asn": "customer_asn", "bgp_aws_asn": "aws_asn",
               "bgp_hold_time": "hold_time"}
#: Model fields only AWS's file can give: the per-tunnel BGP values come from it (or, for
#: a file without them, from ROUTING_KEYS); an answers file saying "static" for a BGP
#: connection is refused by validation, never silently obeyed.
FROM_AWS_ONLY = frozenset({"bgp", "routing", "advised_mtu", "advised_mss"})
_TOP_KEYS = ("import", "choices", "connection", "tunnels")
#: A [[tunnels]] table holds Tunnel and Crypto fields side by side, flat.
_TUNNEL_TABLE_KEYS = {**TUNNEL_KEYS, **CRYPTO_KEYS}
#: Tunnel fields a tunnel cannot do without: neither the seed nor the model has a default.
_REQUIRED = ("customer_outside_ip", "aws_outside_ip", "customer_inside_cidr",
             "aws_inside_cidr", "psk")


# --------------------------------------------------------------------------- load


def load_answers(path: str | Path) -> Answers:
    """Read and type-check an answers file.

    Raises:
        AnswersError: the file is unreadable, not TOML, has a key the schema
            does not know or a value of the wrong type (naming the key).
    """
    name = str(path)
    try:
        data = read_input(path)
    except InputFileError as exc:
        raise AnswersError(name, "", exc.reason) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswersError(name, "", f"not UTF-8 text (at byte {exc.start})") from None
    return parse_answers(text, name)


def _toml_reader() -> ModuleType:
    """The TOML reader, imported when an answers file is read: an AWS file alone needs none
    (and the TUI reads one before its first frame)."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # pragma: no cover - exercised on 3.10 only

    return tomli  # pragma: no cover


def parse_answers(text: str, path: str = "<answers>") -> Answers:
    """Type-check answers already in memory; `load_answers` without the file."""
    if len(text) > MAX_INPUT_BYTES:
        raise AnswersError(path, "", too_large(len(text), "the text"))
    toml = _toml_reader()
    try:
        document = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise AnswersError(path, "", f"not valid TOML: {exc}") from None
    _no_unknown(document, _TOP_KEYS, "", path)
    import_path = None
    if "import" in document:
        import_path = _convert(_string, document["import"], "import", path)
        if not import_path.strip():
            raise AnswersError(path, "import", "is empty; leave it out instead")
    choices = _table(document, "choices", CHOICE_KEYS, path)
    connection = _table(document, "connection", {**CONNECTION_KEYS, **ROUTING_KEYS}, path)
    tunnels: list[dict[str, object]] = []
    if "tunnels" in document:
        array = document["tunnels"]
        if not isinstance(array, list) or not all(isinstance(t, dict) for t in array):
            raise AnswersError(
                path, "tunnels", "must be an array of tables: write each tunnel as [[tunnels]]"
            )
        for index, table in enumerate(array):
            at = f"tunnels[{index}]"
            _no_unknown(table, _TUNNEL_TABLE_KEYS, at, path)
            tunnels.append({
                key: _convert(_TUNNEL_TABLE_KEYS[key], value, f"{at}.{key}", path)
                for key, value in table.items()
            })
    return Answers(path, import_path, choices, tuple(tunnels), connection)


def _table(
    document: Mapping[str, object], name: str, keys: Mapping[str, Callable[[object], Any]],
    path: str,
) -> dict[str, Any]:
    """A `[name]` table's typed values, refusing unknown keys."""
    if name not in document:
        return {}
    table = document[name]
    if not isinstance(table, dict):
        raise AnswersError(path, name, f"must be a table ([{name}]), not {_kind(table)}")
    _no_unknown(table, keys, name, path)
    return {key: _convert(keys[key], value, f"{name}.{key}", path) for key, value in table.items()}


def _no_unknown(table: Mapping[str, object], known: Any, at: str, path: str) -> None:
    for key in table:
        if key not in known:
            shown = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else fields.show(key)
            where = f"{at}.{shown}" if at else shown
            raise AnswersError(
                path, where, "unknown key; expected one of " + ", ".join(sorted(known))
            )


def _convert(converter: Callable[[object], Any], value: object, key: str, path: str) -> Any:
    try:
        return converter(value)
    except _Bad as exc:
        raise AnswersError(path, key, str(exc)) from None


# --------------------------------------------------------------------------- resolve


def resolve(answers: Answers | None, imported: Imported | None) -> Resolved:
    """Merge answers over the AWS file over the seed's defaults, field by field.

    Args:
        answers: the answers file, or None.
        imported: the AWS file, or None.

    Raises:
        AnswersError: no tunnels at all (neither an AWS file nor tunnel
            answers), more tunnel answers than the AWS file has tunnels, or a
            tunnel without an AWS file that lacks a value only AWS can give.
    """
    path = answers.path if answers else ""
    sources: dict[str, str] = {}
    given = answers.choices if answers else {}
    for key in CHOICE_KEYS:
        sources[f"choices.{key}"] = SOURCE_ANSWERS if key in given else SOURCE_DEFAULT
    choices = replace(Choices(), **given)

    overrides = answers.tunnels if answers else ()
    base = imported.connection.tunnels if imported else ()
    if not overrides and not base:
        raise AnswersError(
            path, "tunnels", "no tunnels: an AWS file (`import` in the answers, or --import) "
            "or full [[tunnels]] answers are needed"
        )
    if base and len(overrides) > len(base):
        raise AnswersError(
            path, f"tunnels[{len(base)}]", f"the answers describe {len(overrides)} tunnels "
            f"but the AWS file has {len(base)}"
        )
    tunnels = tuple(
        _tunnel(
            index,
            overrides[index] if index < len(overrides) else {},
            base[index] if index < len(base) else None,
            path,
            sources,
        )
        for index in range(max(len(base), len(overrides)))
    )
    ids: dict[str, str] = {}
    given_ids = answers.connection if answers else {}
    for name in CONNECTION_KEYS:
        if name in given_ids:
            ids[name], source = given_ids[name], SOURCE_ANSWERS
        elif imported is not None:
            ids[name], source = getattr(imported.connection, name), SOURCE_IMPORT
        else:
            ids[name], source = "", SOURCE_DEFAULT
        sources[f"connection.{name}"] = source
    aws_only: dict[str, Any] = {}
    if imported is not None:
        aws_only = {name: getattr(imported.connection, name)
                    for name in ("routing", "advised_mtu", "advised_mss")}
    setup = Setup(Connection(tunnels, **ids, **aws_only), choices)
    setup = _routing(setup, given_ids, sources, imported is not None, path)
    return Resolved(setup, sources)


def _routing(setup: Setup, given: Mapping[str, Any], sources: dict[str, str],
             imported: bool, path: str) -> Setup:
    """The answers' routing keys over AWS's file, through the questions' own edits.

    Going through `wizard.questions` makes a replayed answers file give the
    setup the same answers typed in the TUI or plain mode give.
    """
    origin = SOURCE_IMPORT if imported else SOURCE_DEFAULT
    sources["connection.routing"] = SOURCE_ANSWERS if "routing" in given else origin
    if "routing" in given:
        value = given["routing"]
        if value not in ROUTINGS:
            raise AnswersError(path, "connection.routing", f"must be one of {_one_of(ROUTINGS)}")
        setup = QUESTIONS["connection.routing"].apply(setup, value)
    changes = {_BGP_FIELDS[k]: given[k] for k in _BGP_FIELDS if k in given}
    if changes:
        setup = set_bgp(setup, **changes)
    if setup.dynamic:  # the BGP values are a BGP connection's only
        for key in _BGP_FIELDS:
            sources[f"connection.{key}"] = SOURCE_ANSWERS if key in given else origin
    return setup


def _tunnel(
    index: int,
    given: Mapping[str, object],
    base: Tunnel | None,
    path: str,
    sources: dict[str, str],
) -> Tunnel:
    at = f"tunnels[{index}]"
    seed = {"name": f"Tunnel{index + 1}", "mark": 100 * (index + 1)}
    values: dict[str, Any] = {}
    for key in TUNNEL_KEYS:
        if key in given:
            values[key], source = given[key], SOURCE_ANSWERS
        elif base is not None:
            values[key], source = getattr(base, key), SOURCE_IMPORT
        elif key in seed:
            values[key], source = seed[key], SOURCE_DEFAULT
        else:
            hint = (
                " (answers are saved without PSKs unless secrets are included)"
                if key == "psk" else ""
            )
            raise AnswersError(
                path, f"{at}.{key}", "no value: there is no AWS file to take it from, so an "
                f"AWS file or full tunnel answers are needed{hint}"
            )
        sources[f"{at}.{key}"] = source
    crypto_base = base.crypto if base is not None else Crypto()
    crypto: dict[str, Any] = {}
    for key in CRYPTO_KEYS:
        if key in given:
            crypto[key], source = given[key], SOURCE_ANSWERS
        else:
            crypto[key] = getattr(crypto_base, key)
            source = SOURCE_IMPORT if base is not None else SOURCE_DEFAULT
        sources[f"{at}.crypto.{key}"] = source
    return Tunnel(crypto=Crypto(**crypto), bgp=base.bgp if base is not None else None, **values)


# --------------------------------------------------------------------------- dump


def _one_of(values: tuple[str, ...]) -> str:
    return " | ".join(f'"{v}"' for v in values)


#: End-of-line comments in a saved file, for whoever edits it by hand.
_HINTS = {
    "mode": _one_of(MODES),
    "persistence": _one_of(PERSISTENCE),
    "backend": _one_of(BACKENDS),
    "bgp_mode": _one_of(BGP_MODES),
    "routing": _one_of(ROUTINGS),
    "ike_lifetime": "seconds",
    "esp_lifetime": "seconds",
    "dpd_delay": "seconds",
    "dpd_timeout": "seconds",
}


def dump_answers(
    setup: Setup,
    *,
    include_secrets: bool = False,
    import_path: str | None = None,
    imported: Imported | None = None,
) -> str:
    """The setup as an answers file, written by hand (the values are simple).

    Args:
        setup: what to save.
        include_secrets: write the PSKs. Off by default: an answers file gets
            copied around, and the AWS file already holds the keys.
        import_path: written as `import`, so a replay reads the AWS file again.
        imported: that AWS file, read. When given, a tunnel field equal to the
            file's value is left out, so a replay against a newer download takes
            the new value instead of pinning the old one; only the operator's
            own changes stay in the answers.
    """
    out = ["# vpn-wizard answers; replay with --answers (the schema: docs/answers.md)."]
    if not include_secrets and import_path is not None:
        out.append("# Pre-shared keys are not saved here: they come from the AWS file.")
    elif not include_secrets:  # no AWS file named: say what a replay needs, not where it is
        out.append("# Pre-shared keys are not saved here and no AWS file is named: replay with "
                   "--import of the AWS file, or save the answers again with the keys.")
    if import_path is not None:
        out.append(f"import = {_toml(import_path)}")
    out += ["", "[choices]"]
    for key in CHOICE_KEYS:
        value = getattr(setup.choices, key)
        if value is None:
            out.append(f"# {key} is not set (the customer outside address is on this box)")
            continue
        out.append(_line(key, value))
    ids = []
    for key in CONNECTION_KEYS:
        value = getattr(setup.connection, key)
        if value and (imported is None or getattr(imported.connection, key) != value):
            ids.append(_line(key, value))
    ids.extend(_routing_lines(setup, imported))
    if ids:
        out += ["", "[connection]", *ids]
    base = imported.connection.tunnels if imported else ()
    if len(base) != len(setup.tunnels):
        base = ()
    for index, tunnel in enumerate(setup.tunnels):
        out += ["", "[[tunnels]]"]
        before = base[index] if base else None
        # Asked for, the keys are written even where they equal the AWS file's:
        # the operator wants an answers file that stands without the AWS file's keys.
        if before is not None and not include_secrets and _same_as_import(tunnel, before, False):
            out.append("# every value as in the AWS file")
            continue
        for key in (*TUNNEL_KEYS, *CRYPTO_KEYS):
            owner: object = tunnel if key in TUNNEL_KEYS else tunnel.crypto
            value = getattr(owner, key)
            if before is not None and not (key == "psk" and include_secrets):
                old_owner = before if key in TUNNEL_KEYS else before.crypto
                if getattr(old_owner, key) == value:
                    continue
            if key == "psk":
                if not include_secrets:
                    continue
                value = tunnel.psk.reveal()
            out.append(_line(key, value))
    return "\n".join(out) + "\n"


def _routing_lines(setup: Setup, imported: Imported | None) -> list[str]:
    """The routing keys where the setup differs from AWS's file (or all, without one)."""
    lines = []
    before = imported.connection if imported is not None else None
    if before is None or before.routing != setup.connection.routing:
        lines.append(_line("routing", setup.connection.routing))
    if not setup.dynamic or not setup.tunnels or setup.tunnels[0].bgp is None:
        return lines
    bgp = setup.tunnels[0].bgp
    old = before.tunnels[0].bgp if before is not None and before.tunnels else None
    for key, name in _BGP_FIELDS.items():
        value = getattr(bgp, name)
        if value is not None and (old is None or getattr(old, name) != value):
            lines.append(_line(key, value))
    return lines


def _same_as_import(tunnel: Tunnel, before: Tunnel, include_secrets: bool) -> bool:
    if include_secrets:
        return tunnel == before
    return replace(tunnel, psk=before.psk) == before


def _line(key: str, value: object) -> str:
    line = f"{key} = {_toml(value)}"
    return f"{line}  # {_HINTS[key]}" if key in _HINTS else line


def _toml(value: object) -> str:
    """One TOML value: booleans, integers, strings and arrays of strings are all we write."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, (str, IPv4Address, IPv4Interface, IPv4Network)):
        return _toml_string(str(value))
    raise TypeError(f"cannot write {type(value).__name__} to an answers file")


def _toml_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def save_answers(
    path: str | Path,
    setup: Setup,
    include_secrets: bool = False,
    *,
    import_path: str | None = None,
    imported: Imported | None = None,
) -> None:
    """Write the answers file atomically with mode 0600, secrets or not.

    The text goes to a temporary file beside the target (created 0600, so no
    reader ever sees it wider), is synced, then renamed over the target: a
    crash leaves the old file or the new one, never half of either.

    Raises:
        AnswersError: the file cannot be written (naming it and why).
    """
    text = dump_answers(
        setup, include_secrets=include_secrets, import_path=import_path, imported=imported
    )
    target = Path(path)
    directory = target.parent
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise AnswersError(str(path), "", f"cannot write: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(temp)
        raise AnswersError(str(path), "", f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    with suppress(OSError):  # make the rename itself durable; not every filesystem allows it
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
