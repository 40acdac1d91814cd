"""How long a real apply waits for "keep", apart: `vpn-wizard --help` needs no engine."""

from __future__ import annotations

#: Seconds a real apply waits for the operator's "keep" before everything is rolled back.
CONFIRM_SECONDS = 120
