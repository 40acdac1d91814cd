"""No screen calls `super().on_mount()`: Textual already runs every class's own handler.

Textual dispatches a message to the handler each class in the MRO defines, so
`super().on_mount()` inside a subclass ran `StepScreen.on_mount` twice: the
model refreshed and the focus moved twice on the apply and status screens
(and the start-up bench counted its first screen twice). Same for the other
handlers Textual dispatches by name.
"""

from __future__ import annotations

import re
from pathlib import Path

SCREENS = Path(__file__).resolve().parents[1] / "screens"
SUPER_HANDLER = re.compile(r"super\(\)\.(on_[a-z_]+|_on_[a-z_]+)\(")


def test_no_handler_calls_its_base_class_handler() -> None:
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in sorted(SCREENS.glob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if SUPER_HANDLER.search(line.split("#", 1)[0])]
    assert not found, "\n".join(found)
