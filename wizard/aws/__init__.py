"""Readers of AWS's Site-to-Site VPN configuration documents.

AWS offers the same facts in several shapes; three are read here:

- "strongswan": the "Strongswan" download the seed is (`wizard.aws.strongswan`);
- "generic": the vendor-agnostic "Generic" text (`wizard.aws.generic`);
- "xml": the EC2 API's CustomerGatewayConfiguration (`wizard.aws.xml`).

`load` and `parse` tell them apart by content, not by file name, because a
download is often saved as "vpn-config.txt" whatever it holds. Every refusal
is an `AwsFileError` naming the file, the line or element, and what is wrong.
"""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

from wizard.aws._common import Imported, check_text
from wizard.aws.errors import AwsFileError
from wizard.system.input_file import MAX_INPUT_BYTES, InputFileError, read_input, too_large

__all__ = ["AwsFileError", "Imported", "detect", "load", "parse"]

#: Files larger than this are not AWS configuration documents (the seed is 23 kB).
MAX_BYTES = MAX_INPUT_BYTES

_STRONGSWAN_HINTS = re.compile(r'^conn[ \t]+\S|:\s*PSK\s+"|strongswan', re.I | re.M)
_GENERIC_HINTS = re.compile(
    r"IPsec Tunnel #|Internet Key Exchange Configuration|^[ \t]*-[ \t]*Pre-Shared Key[ \t]*:",
    re.I | re.M,
)
_AWS_HEADER = re.compile(r"Your VPN Connection ID|^Amazon Web Services[ \t]*$", re.I | re.M)
#: Format -> its reader's module, imported when a document in that format is read: the
#: XML reader alone loads Python's XML parsers, which a text download never needs
#: (and the TUI reads the file before its first frame).
_READERS = {"strongswan": "wizard.aws.strongswan", "generic": "wizard.aws.generic",
            "xml": "wizard.aws.xml"}


def detect(text: str) -> str | None:
    """Which format `text` is in: "xml", "strongswan", "generic", or None if none fits.

    XML starts with "<". The strongSwan download is told by its `conn` blocks,
    its `: PSK "` line or its name for itself; it also says "IPSEC Tunnel #1",
    so it is tested before the Generic text, whose markers are its tunnel
    headings and dash settings.
    """
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("<"):
        return "xml"
    if _STRONGSWAN_HINTS.search(body):
        return "strongswan"
    if _GENERIC_HINTS.search(body):
        return "generic"
    return None


def parse(text: str, path: str = "<input>") -> Imported:
    """Read an AWS configuration document already in memory.

    Args:
        text: the document.
        path: how to name it in errors (the file name, or "<input>").

    Raises:
        AwsFileError: the text is none of the three formats, or its format's
            reader refused it.
    """
    if len(text) > MAX_BYTES:
        raise AwsFileError(path, "", too_large(len(text), "the text"))
    check_text(text, path)
    fmt = detect(text)
    if fmt is None and _AWS_HEADER.search(text):
        raise AwsFileError(
            path, "", "no tunnel found: the file has AWS's VPN connection header but no "
            "tunnel configuration (it may be truncated)"
        )
    if fmt is None:
        raise AwsFileError(
            path, "", "this is not an AWS VPN configuration: expected the strongSwan download "
            "('conn Tunnel1' blocks), the Generic text ('IPsec Tunnel #1' sections) or the "
            "XML (<vpn_connection>)"
        )
    imported: Imported = import_module(_READERS[fmt]).parse(text.lstrip("\ufeff"), path)
    return imported


def load(path: str | Path) -> Imported:
    """Read an AWS configuration file from disk, whatever its format.

    The file must be a regular file of at most `MAX_BYTES` (a FIFO, a device
    or a directory is refused without blocking; see `read_input`).

    Raises:
        AwsFileError: the file cannot be read, is not UTF-8 text, or its
            reader refused it. Never an OSError: the operator gets one kind of
            message naming the file.
    """
    name = str(path)
    try:
        data = read_input(path, MAX_BYTES)
    except InputFileError as exc:
        raise AwsFileError(name, "", exc.reason) from None
    if b"\x00" in data:
        raise AwsFileError(name, "", "the file is binary (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AwsFileError(
            name, f"line {line}", f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
    return parse(text, name)
