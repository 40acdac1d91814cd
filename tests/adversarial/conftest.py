"""The standing adversarial suite: hostile input, odd boxes, kills at every step.

Hypothesis runs with fixed seeds (derandomize) so CI is reproducible; set
VPN_WIZARD_FUZZ=N to try N times more examples locally. The case counts are
printed at the end of every run that collected this folder (tests/conftest.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))


_SCALE = max(1, int(os.environ.get("VPN_WIZARD_FUZZ", "1")))

settings.register_profile(
    "adversarial",
    derandomize=True,
    max_examples=200 * _SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.load_profile("adversarial")

