"""strongswan.conf syntax read back: the small reader swanctl's files and charon's need.

A leaf of pure text, importing nothing of the product, so that the renderer
(`wizard.render.swanctl`), the preflight and the simulated daemon
(`wizard.system.simulated`, which "loads" conf.d as swanctl would) share one reader.
"""

from __future__ import annotations

import re
from typing import Any


class ParseError(ValueError):
    """A swanctl/strongswan.conf text this small reader does not understand."""


def parse(text: str) -> dict[str, Any]:
    """Read strongswan.conf-syntax text into nested dicts (sections) of strings (values).

    Enough of the syntax for the files the wizard writes and for ones an
    operator typically has: `key = value` lines (a value runs to the end of
    the line; double quotes group and may escape), `name {` ... `}` sections,
    `#` comments. `include` lines are ignored, since what they name is
    read separately. Sections of the same name merge, as in strongSwan.
    """
    root: dict[str, Any] = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).strip()
        while line:
            if line.startswith("}"):
                if len(stack) == 1:
                    raise ParseError(f"line {number}: '}}' without a section")
                stack.pop()
                line = line[1:].strip()
                continue
            match = re.match(r"([^\s={}]+)\s*(=|\{)\s*(.*)$", line)
            if not match:
                if line.split()[0] == "include":
                    break
                raise ParseError(f"line {number}: cannot read {raw.strip()!r}")
            key, kind, rest = match.groups()
            if kind == "{":
                section = stack[-1].setdefault(key, {})
                if not isinstance(section, dict):
                    raise ParseError(f"line {number}: {key} is both a value and a section")
                stack.append(section)
                line = rest.strip()
                continue
            value, line = _split_value(rest.strip())
            stack[-1][key] = value
    if len(stack) != 1:
        raise ParseError("a section is not closed")
    return root


def _strip_comment(line: str) -> str:
    quoted = False
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:index]
    return line


def _split_value(text: str) -> tuple[str, str]:
    """A value and what follows it on the line: a quoted string, or up to a `}`."""
    if text.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        if match:
            return re.sub(r"\\(.)", r"\1", match.group(1)), text[match.end():].strip()
    value, brace, rest = text.partition("}")
    return value.strip(), (brace + rest).strip()


def defined_connections(text: str) -> list[str]:
    """Names under `connections { }` in one swanctl file (what loading it would add)."""
    section = parse(text).get("connections", {})
    return [name for name, value in section.items() if isinstance(value, dict)]
