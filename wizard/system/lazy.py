"""A package's names imported when first used (PEP 562's module `__getattr__`).

`wizard.system` and `wizard.session` name their adapters and the apply run at
package level, but importing them all made every command, and the TUI's first
frame, pay for the engine (issue 13). Each package lists name -> module, and
this builds the `__getattr__` that imports the module on first use. It lives
in system/ because system/ may import nothing outside itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_names(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` for `package`: `modules[name]` imported when `name` is first asked."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(module), name)

    return __getattr__
