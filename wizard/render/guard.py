"""The second wall against injected lines: nothing rendered may hold a control character.

`wizard.fields` keeps hostile strings out of the model at every input path.
This guard does not trust that: `build_plan` passes every plan through
`checked` before anyone sees it: every string of the setup the plan was
rendered from (a line break inside a value cannot be told from a line of its
own once rendered), and whatever reaches a file or a command line - the text
of each managed block, each whole file the wizard owns, each argument of each
command - is refused if it holds a control or invisible character (a line
break, a carriage return, NUL, ESC, U+2028, U+0085...) or, for values and
lines, an unbalanced double quote. One call point covers every renderer,
present and future.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator

from wizard.model import Setup
from wizard.plan_types import Plan
from wizard.secret import Secret

_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


class UnsafeRender(ValueError):
    """A rendered artifact that would carry an injected line; names the file or step and line."""


def _bad_character(line: str, allow_tab: bool) -> str | None:
    for char in line:
        if char == "\t" and allow_tab:
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return ascii(char)
    return None


def _unbalanced_quote(line: str) -> bool:
    """True when the line's unescaped double quotes do not pair up."""
    count = 0
    escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            count += 1
    return count % 2 == 1


def check_text(text: str, where: str) -> None:
    """Refuse a rendered text with a control character or an unbalanced quote on any line.

    Lines are split on "\\n" only: a "\\r", U+2028 or U+0085 inside a line is
    itself a refused character, since some reader would split there.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        bad = _bad_character(line, allow_tab=True)
        if bad is not None:
            raise UnsafeRender(
                f"{where}, line {number}: the rendered text holds the control or invisible "
                f"character {bad}; refusing to write it (a value from an input was not checked)"
            )
        if _unbalanced_quote(line):
            raise UnsafeRender(
                f"{where}, line {number}: the rendered line has an unbalanced double quote; "
                "refusing to write it (a value from an input was not checked)"
            )


def check_argument(argument: str, where: str) -> None:
    """Refuse one command argument holding a control character or a quote (none needs one)."""
    bad = _bad_character(argument, allow_tab=False)
    if bad is not None or '"' in argument or "'" in argument:
        raise UnsafeRender(
            f"{where}: the command argument {argument!a} holds a control character or a "
            "quote; refusing to run it (a value from an input was not checked)"
        )


def _strings(value: object, at: str) -> Iterator[tuple[str, str, bool]]:
    """Every string a setup holds, with its field path and whether it is a secret."""
    if isinstance(value, str):
        yield at, value, False
    elif isinstance(value, Secret):
        yield at, value.reveal(), True
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{at}[{index}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name), f"{at}.{f.name}" if at else f.name)


def check_setup(setup: Setup) -> None:
    """Refuse a setup any of whose strings holds a control character or a double quote.

    Checked on the values rather than only on the rendered text, because a
    line break inside a value is indistinguishable from a line of its own
    once it is rendered. A key is never quoted back, only its field named.
    """
    for at, text, secret in _strings(setup, ""):
        bad = _bad_character(text, allow_tab=False)
        if bad is None and '"' not in text:
            continue
        what = "" if secret else f" {text[:40]!a}"
        raise UnsafeRender(
            f"{at}: the value{what} holds a control character or a double quote; refusing "
            "to render it (a value from an input was not checked)"
        )


def checked(plan: Plan, setup: Setup | None = None) -> Plan:
    """The plan, once the setup's values and every file text and command argument it carries
    passed the guard.

    Raises:
        UnsafeRender: naming the field, or the file (or step) and line, at fault.
    """
    if setup is not None:
        check_setup(setup)
    for step in plan:
        for change in step.files:
            if change.block is not None:
                check_argument(change.block.block_id, f"{change.path} (block name)")
                check_text(change.block.body, change.path)
            else:
                check_text(change.after, change.path)
        for op in step.commands:
            for argument in op.argv:
                check_argument(argument, f"step {step.id}")
    return plan
