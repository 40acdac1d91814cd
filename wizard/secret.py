"""A pre-shared key that refuses to be printed by accident.

PSKs travel from the AWS file into `ipsec.secrets`; everywhere in between
(logs, previews, snapshots, exceptions, reprs in a traceback) they must show as
a mask. Wrapping the value makes the safe thing the default: only `reveal()`
gives the characters back, and `redact()` scrubs any text that might hold one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "********"


@dataclass(frozen=True)
class Secret:
    """A PSK. `str()`, `repr()` and f-strings all show the mask."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The real characters: only for writing the secrets file or an explicit reveal."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, secrets: Iterable[Secret | str]) -> str:
    """Replace every occurrence of each secret in `text` with the mask.

    Longer secrets are replaced first so that a key which contains another
    (the seed's two PSKs differ only by a trailing "2") is masked whole.
    """
    values = sorted(
        {s.reveal() if isinstance(s, Secret) else s for s in secrets} - {""},
        key=len,
        reverse=True,
    )
    for value in values:
        text = text.replace(value, MASK)
    return text
