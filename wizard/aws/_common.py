"""What the three importers share: the result type, value parsers and the secret guard.

Each format module turns text into a `Connection`; the small parsers here
make sure they word their refusals alike ("line 57: 'right=' is not an IPv4
address: '52.50.67'") and that no pre-shared key ever leaves in an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from wizard import crypto, fields
from wizard.aws.errors import AwsFileError
from wizard.model import Connection, parse_address, parse_interface
from wizard.secret import redact

#: The seed's marks for Tunnel1 and Tunnel2, used when a format carries none.
DEFAULT_MARKS = (100, 200)
#: The seed's conn/VTI names, used when a format carries none.
DEFAULT_NAMES = ("Tunnel1", "Tunnel2")

#: Everything that looks like a PSK in any of the three formats, so an error
#: message can be scrubbed even when the key sits where no key belongs.
_PSK_LIKE = (
    re.compile(r':\s*PSK\s+"([^"\n]*)'),
    re.compile(r"Pre-Shared Key[ \t]*:[ \t:]*([^\n]*)", re.IGNORECASE),
    re.compile(r"<pre_shared_key>([^<]*)", re.IGNORECASE),
)
_SHOW_LIMIT = 40
#: The PSK-like values of the document being read, for `show` (set by `secrets_kept`).
_secrets: ContextVar[frozenset[str]] = ContextVar("aws_file_secrets", default=frozenset())


@dataclass(frozen=True)
class Imported:
    """An AWS configuration file, read.

    Attributes:
        connection: the two tunnels and the ids AWS gave.
        format: "strongswan", "generic" or "xml": which reader read it.
        notes: where the reader had to fill a gap or pick an order, in the
            operator's words, so the preview can say so instead of hiding it.
        origins: where each tunnel is in the file ("ipsec_tunnel[2]"), in the
            model's order, when the reader chose that order itself (XML): the
            import table shows it beside each tunnel, not only in a note.
    """

    connection: Connection
    format: str
    notes: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()


def show(value: str) -> str:
    """Quote a value for an error message, cut short so a garbage line cannot flood it.

    Keys are masked before the value is cut: a cut key would no longer match
    itself when `secrets_kept` scrubs the finished message.
    """
    value = redact(value, _secrets.get())
    if len(value) > _SHOW_LIMIT:
        value = value[: _SHOW_LIMIT - 3] + "..."
    return repr(value)


def _psk_like(text: str) -> frozenset[str]:
    found = {m.group(1).strip() for pattern in _PSK_LIKE for m in pattern.finditer(text)}
    return frozenset(c for c in found if len(c) >= 4)


@contextmanager
def secrets_kept(text: str) -> Iterator[None]:
    """Mask every PSK-like value of `text` in any `AwsFileError` raised inside.

    The readers never put a key into a message on purpose; this catches the
    accident of a damaged file where a key lands in a field that is quoted back.
    """
    secrets = _psk_like(text)
    token = _secrets.set(secrets)
    try:
        yield
    except AwsFileError as exc:
        if not secrets:
            raise
        raise AwsFileError(
            exc.path, redact(exc.where, secrets), redact(exc.message, secrets)
        ) from None
    finally:
        _secrets.reset(token)


def check_text(text: str, path: str) -> None:
    """Refuse what no format can be: empty text, binary data, broken Unicode.

    Each reader calls this first, so the XML parser (which must encode the
    text) never meets a lone surrogate, and an empty file is called empty
    rather than "truncated".
    """
    if not text.strip():
        raise AwsFileError(path, "", "the file is empty")
    if "\x00" in text:
        raise AwsFileError(path, "", "the file is binary (it contains NUL bytes), not text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AwsFileError(
            path, "", f"the text holds a character that is not valid Unicode at offset {exc.start}"
        ) from None


def text_lines(text: str) -> tuple[list[str], int | None]:
    """A text document's lines, and the number of its last line if that has no line end.

    A value on an unterminated last line may have been cut short by a
    truncated download ("169.254.11.1/3" for ".../30") and still parse, so the
    readers refuse to take a value from it (see `cut_short`).
    """
    lines = [line.rstrip("\r") for line in text.split("\n")]
    return lines, None if text.endswith("\n") else len(lines)


def cut_short(path: str, line: int) -> AwsFileError:
    """The refusal for a value on an unterminated last line."""
    return AwsFileError(
        path, f"line {line}", "the file ends in the middle of this line, so its value may be "
        "cut short (a truncated download?); if the file is complete, end it with a newline"
    )


def ipv4(value: str, what: str, path: str, where: str) -> IPv4Address:
    """Parse a dotted IPv4 address or refuse it, naming the field."""
    try:
        return parse_address(value)
    except ValueError:
        raise AwsFileError(path, where, f"{what} is not an IPv4 address: {show(value)}") from None


def ipv4_interface(value: str, what: str, path: str, where: str) -> IPv4Interface:
    """Parse "169.254.23.6/30" or refuse it, naming the field."""
    try:
        return parse_interface(value)
    except ValueError:
        raise AwsFileError(
            path, where, f"{what} is not an IPv4 address with a prefix such as "
            f"169.254.23.6/30: {show(value)}"
        ) from None


#: How each AWS id is called in the three formats, for refusals.
_ID_LABELS = {
    "vpn_connection_id": "the VPN connection ID",
    "vpn_gateway_id": "the virtual private gateway ID",
    "customer_gateway_id": "the customer gateway ID",
}


def aws_id(name: str, value: str, path: str, where: str) -> str:
    """An AWS id (`vpn-...`, `vgw-...`, `cgw-...`) checked against its grammar, or refused."""
    reason = fields.check_aws_id(name, value)
    if reason:
        raise AwsFileError(path, where, f"{_ID_LABELS[name]} {reason}")
    return value


def grammar(check: str | None, what: str, path: str, where: str) -> None:
    """Refuse a value whose `wizard.fields` check gave a reason, naming the field."""
    if check:
        raise AwsFileError(path, where, f"{what}: {check}")


def whole_number(value: str, what: str, path: str, where: str) -> int:
    """Parse a non-negative decimal integer (no sign, no fraction) or refuse it."""
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,10}", text):
        raise AwsFileError(path, where, f"{what} is not a whole number: {show(value)}")
    return int(text)


def dh_group(value: str, what: str, path: str, where: str) -> int | None:
    """Read a DH group as AWS writes it: "Group 2", "group14", "Diffie-Hellman Group 2", "2".

    Returns None for "none"/"disabled" (phase 2 without PFS).
    """
    text = value.strip().lower()
    if text in ("none", "disabled", "no", "off"):
        return None
    match = re.fullmatch(r"(?:diffie-hellman\s*)?(?:group\s*)?([0-9]{1,3})", text)
    if not match:
        raise AwsFileError(path, where, f"{what} is not a Diffie-Hellman group: {show(value)}")
    return int(match.group(1))


def proposal(
    encryption: tuple[str, str],
    integrity: tuple[str, str],
    group: tuple[int | None, str],
    *,
    phase: int,
    path: str,
) -> str:
    """Translate AWS's algorithm names into a strongSwan proposal, or refuse the unknown.

    Each part is (value, where it is in the file), so a refusal points at the
    line or element that holds the unknown name rather than at its neighbour.
    """
    for (value, where), check in (
        (encryption, crypto.aws_encryption_token),
        (integrity, crypto.aws_integrity_token),
    ):
        try:
            check(value)
        except crypto.ProposalError as exc:
            raise AwsFileError(path, where, str(exc)) from None
    try:
        return crypto.proposal_from_aws(encryption[0], integrity[0], group[0], phase=phase)
    except crypto.ProposalError as exc:  # the names passed above: it is the DH group
        raise AwsFileError(path, group[1], str(exc)) from None


def dpd_timeout(interval: int, retries: int) -> tuple[int, str | None]:
    """AWS's DPD retries as strongSwan's timeout: interval x retries, at least AWS's minimum.

    Returns the timeout and, when the minimum raised it, a note saying so.
    """
    product = interval * retries
    if product >= crypto.DPD_TIMEOUT_MIN:
        return product, None
    return crypto.DPD_TIMEOUT_MIN, (
        f"DPD interval {interval} s x {retries} retries = {product} s is below AWS's "
        f"{crypto.DPD_TIMEOUT_MIN} s minimum; using a {crypto.DPD_TIMEOUT_MIN} s timeout"
    )


def tunnel_count(count: int, path: str, where: str = "") -> None:
    """Refuse anything but the two tunnels every AWS VPN connection has."""
    if count == 2:
        return
    if count == 0:
        raise AwsFileError(path, where, "no tunnel found: the file may be empty or truncated")
    if count == 1:
        raise AwsFileError(
            path, where, "tunnel 2 is missing: the file describes only one tunnel "
            "(it may be truncated)"
        )
    raise AwsFileError(
        path, where, f"the file describes {count} tunnels; an AWS VPN connection has two"
    )


class LineReader:
    """What the two text formats' readers share: the lines, the notes, and located errors.

    Subclasses implement `read()`; `parse_with` runs one under the checks every
    text import needs (size and encoding, and PSKs kept out of error messages).
    """

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines, self.unterminated = text_lines(text)
        self.notes: list[str] = []

    def fail(self, line: int | None, message: str) -> AwsFileError:
        return AwsFileError(self.path, f"line {line}" if line else "", message)

    def read(self) -> Imported:
        raise NotImplementedError

    @classmethod
    def parse_with(cls, text: str, path: str) -> Imported:
        check_text(text, path)
        with secrets_kept(text):
            return cls(text, path).read()

