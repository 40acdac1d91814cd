"""Masking by what a file is: the one place every view of a plan gets its text from.

The wizard's own PSKs are `Secret`s and mask themselves; but a preview also
shows files as they are on the box (diff context, `before`, the whole file in
JSON), and those hold keys the wizard never saw: the operator's own
`ipsec.secrets` lines for other peers, XAUTH and EAP passwords, RSA key
passphrases, swanctl `secret =` values, a `wpa-psk` in
`/etc/network/interfaces`. Masking them by value is impossible (the wizard
does not know them), so they are masked by *kind of file*: each secret-bearing
kind has a rule that knows where its keys sit, and the rule is applied to the
whole text before any view sees it.

`Redactor` is what the views use (wizard.preview, wizard.plan_json, the TUI
review, the dry-run log, the apply screens): it masks every file by its kind,
then sweeps every text for the values it knows (the plan's PSKs and every key
the file rules found, so an operator's key quoted in another file or a
message is masked too). With `show=True` (`--show-secrets`) it returns
everything as it is.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from wizard.secret import MASK, Secret, redact


class FileChange(Protocol):
    """What masking needs of a file change (`wizard.plan_types.FileChange`), named here
    structurally so the plan's types can use the redactor without an import cycle."""

    @property
    def path(self) -> str: ...
    @property
    def before(self) -> str | None: ...
    @property
    def after(self) -> str: ...
    @property
    def mode(self) -> int: ...


class _Step(Protocol):
    @property
    def files(self) -> Sequence[FileChange]: ...


class Plan(Protocol):
    """What `Redactor.for_plan` needs of a plan (`wizard.plan_types.Plan`): its steps and PSKs."""

    def __iter__(self) -> Iterator[_Step]: ...
    @property
    def secrets(self) -> Sequence[Secret | str]: ...

# ipsec.secrets(5): "[selectors] : TYPE value". The types whose whole value is
# a secret, and those whose first argument is a file and the rest a passphrase.
_WHOLE_VALUE_TYPES = {"PSK", "XAUTH", "EAP", "NTLM", "PIN"}
_FILE_THEN_SECRET_TYPES = {"RSA", "ECDSA", "BLISS", "PKCS8", "PKCS12", "P12", "PRIVATE"}

# A ':' that separates selectors from the type: at the line start or after a
# blank, and followed by a blank (an IPv6 selector's colons are not).
_SECRETS_ENTRY = re.compile(r"^(?P<head>(?:.*?\s)?):(?P<gap>\s+|$)(?P<rest>.*)$")
_ONE_TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|\S+')
_COMMENT = re.compile(r"^(?P<lead>\s*#+\s?)(?P<body>.*)$")

# swanctl.conf(5): `secret = ...` (ike, eap, xauth, ntlm, private, rsa,
# ecdsa, pkcs8, pkcs12 sections) and `pin = ...` (token sections).
_SWANCTL_SECRET = re.compile(
    r"^(?P<head>\s*#*\s*(?:secret|pin)\s*=\s*)(?P<value>\S.*?)(?P<tail>\s*)$", re.IGNORECASE
)

# Any other secret-bearing file: `name = value`, `name: value` or `name value`
# where the name says it is a secret (netplan `password:`, interfaces(5)
# `wpa-psk`, WireGuard `PrivateKey =`/`PresharedKey =`).
_GENERIC_SECRET = re.compile(
    r"^(?P<head>\s*#*\s*-?\s*[\"']?(?P<name>[A-Za-z0-9_.-]*"
    r"(?:psk|passw(?:or)?d|passphrase|secret|private[-_]?key|pre[-_]?shared[-_]?key|"
    r"auth[-_]key|ipsec[-_]key)[A-Za-z0-9_.-]*)[\"']?\s*(?:[=:]\s*|\s+))"
    r"(?P<value>\S.*?)(?P<tail>\s*)$",
    re.IGNORECASE,
)

IPSEC_SECRETS_KINDS = ("/etc/ipsec.secrets", "/etc/ipsec.d/*.secrets", "/etc/ipsec.secrets.d/*",
                       "/etc/strongswan/ipsec.secrets", "/etc/strongswan/ipsec.d/*.secrets")
# fnmatch's "*" also matches "/": these cover every file below the directory.
SWANCTL_KINDS = ("/etc/swanctl/*", "/etc/strongswan/swanctl/*")
GENERIC_SECRET_KINDS = ("/etc/network/interfaces", "/etc/network/interfaces.d/*",
                        "/etc/strongswan.conf", "/etc/strongswan.d/*",
                        "/etc/strongswan/strongswan.conf", "/etc/strongswan/strongswan.d/*",
                        "/etc/netplan/*", "/etc/wpa_supplicant/*",
                        "/etc/systemd/network/*", "/etc/wireguard/*",
                        "/etc/NetworkManager/system-connections/*")


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def file_kind(path: str, mode: int | None = None) -> str | None:
    """What kind of secret-bearing file `path` is: "ipsec.secrets", "swanctl", "generic", or None.

    A file the plan writes with mode 0600 (or any mode without group and
    other access) is secret-bearing whatever its name: the plan marks a
    file as holding keys by making it private.
    """
    if _matches(path, IPSEC_SECRETS_KINDS) or path.endswith(".secrets"):
        return "ipsec.secrets"
    if _matches(path, SWANCTL_KINDS):
        return "swanctl"
    if _matches(path, GENERIC_SECRET_KINDS):
        return "generic"
    if mode is not None and mode & 0o077 == 0:
        return "generic"
    return None


def _mask_value(value: str) -> str:
    """The mask in place of `value`, keeping its quotes so the line still reads right."""
    stripped = value.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        return f"{stripped[0]}{MASK}{stripped[0]}"
    return MASK


_QUOTED = re.compile(r"""^(["'])(.*?)\1""")


def _key_of(value: str) -> str:
    """The key in a value as written: the quoted string, or the first token unquoted."""
    value = value.strip()
    quoted = _QUOTED.match(value)
    if quoted:
        return quoted.group(2)
    return value.split(None, 1)[0] if value else ""


def _ipsec_secrets_line(line: str, found: set[str], *, commented: bool = False) -> str:
    """One line of ipsec.secrets with its key masked.

    In a comment, a line is taken for a (commented-out) key when it has a
    known type keyword or a single token after the colon; prose such as
    "# see : ipsec.secrets(5) for the format" is not.
    """
    comment = _COMMENT.match(line)
    if comment:  # a commented-out key is still a key
        masked = _ipsec_secrets_line(comment.group("body"), found, commented=True)
        return line if masked == comment.group("body") else comment.group("lead") + masked
    if not line.strip() or line.lstrip().startswith("include "):
        return line
    entry = _SECRETS_ENTRY.match(line)
    if entry is None:
        if line[:1].isspace() and not commented:  # a continuation: part of the secret above
            found.add(line.strip())
            return line[: len(line) - len(line.lstrip())] + MASK
        return line
    head, gap, rest = entry.group("head"), entry.group("gap"), entry.group("rest")
    words = rest.split(None, 1)
    if not words:
        return line
    kind = words[0].upper()
    if kind in _WHOLE_VALUE_TYPES:
        value = words[1] if len(words) > 1 else ""
        if not value.strip():
            return line
        found.add(_key_of(value))
        return f"{head}:{gap}{words[0]} {_mask_value(value)}"
    if kind in _FILE_THEN_SECRET_TYPES:
        args = words[1].split(None, 1) if len(words) > 1 else []
        if len(args) < 2:
            return line
        found.add(_key_of(args[1]))
        return f"{head}:{gap}{words[0]} {args[0]} {_mask_value(args[1])}"
    if commented and not _ONE_TOKEN.fullmatch(rest.strip()):
        return line  # prose in a comment, not a commented-out key
    # No type keyword (or one this rule does not know): everything after the
    # colon may be a key, so none of it is shown.
    found.add(_key_of(rest))
    return f"{head}:{gap}{_mask_value(rest)}"


def _pattern_line(pattern: re.Pattern[str], line: str, found: set[str]) -> str:
    match = pattern.match(line)
    if match is None:
        return line
    value = match.group("value")
    found.add(_key_of(value))
    return f"{match.group('head')}{_mask_value(value)}{match.group('tail')}"


def mask_file(path: str, content: str, mode: int | None = None,
              found: set[str] | None = None) -> str:
    """`content` with every key masked, by the rules for the kind of file `path` is.

    Args:
        path: the file's absolute path on the target.
        content: its text.
        mode: the mode it has or gets, when known (0600 marks a secret file).
        found: when given, every key value masked is added to it.
    """
    kind = file_kind(path, mode)
    if kind is None:
        return content
    sink: set[str] = set() if found is None else found
    out = []
    for line in content.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        if kind == "ipsec.secrets":
            body = _ipsec_secrets_line(body, sink)
        elif kind == "swanctl":
            body = _pattern_line(_SWANCTL_SECRET, body, sink)
        else:
            body = _pattern_line(_GENERIC_SECRET, body, sink)
        out.append(body + end)
    return "".join(out)


# A value this short is masked inside its own file, but not swept from every
# other text: masking each "a" everywhere would make the preview unreadable.
MIN_SWEEP = 4


@dataclass
class Redactor:
    """Everything a view shows of a plan goes through one of these.

    Attributes:
        secrets: values masked wherever they appear (the plan's PSKs, and
            every key the file rules found in the plan's files).
        show: the operator asked to see the keys (`--show-secrets`): nothing
            is masked.
    """

    secrets: tuple[Secret | str, ...] = ()
    show: bool = False
    _modes: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def for_plan(cls, plan: Plan | None, *, show: bool = False) -> Redactor:
        """The redactor for `plan`: its PSKs plus every key found in its files, before and after."""
        if plan is None:
            return cls(show=show)
        found: set[str] = set()
        modes: dict[str, int] = {}
        for step in plan:
            for change in step.files:
                modes.setdefault(change.path, change.mode)
                for content in (change.before, change.after):
                    if content is not None:
                        mask_file(change.path, content, change.mode, found)
        swept = tuple(sorted(v for v in found if len(v) >= MIN_SWEEP))
        return cls(tuple(plan.secrets) + swept, show, modes)

    def text(self, value: str) -> str:
        """Any text (a command line, a message, a log line) with the known keys masked."""
        return value if self.show else redact(value, self.secrets)

    def file(self, path: str, content: str, mode: int | None = None) -> str:
        """A file's text, masked by its kind and swept for the known keys."""
        if self.show:
            return content
        return self.text(mask_file(path, content, self._modes.get(path, mode)))

    def diff(self, change: FileChange) -> str:
        """The unified diff of a file change, both sides masked as `file` masks them."""
        before = self.file(change.path, change.before or "", change.mode)
        after = self.file(change.path, change.after, change.mode)
        label = change.path if change.before is not None else "/dev/null"
        return "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                            after.splitlines(keepends=True),
                                            label, change.path))
