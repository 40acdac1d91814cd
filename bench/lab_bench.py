"""What the real-kernel lab costs: boot, a request, the responder, tunnels up.

Prints figures; asserts nothing (these machines are noisy). Needs root and
user-mode-linux, like the lab tests. Run:
    .venv/bin/python bench/lab_bench.py [boots]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from manual import all_up, type_manual_steps, wait_tunnels_up  # noqa: E402
from peer import seed_tunnels, start_peer  # noqa: E402
from uml import Lab, lab_unavailable  # noqa: E402

REQUESTS = 20


def one_boot() -> dict[str, float]:
    """Boot a lab, type the seed's manual steps, and time every phase."""
    tunnels = seed_tunnels()
    figures: dict[str, float] = {}
    with Lab() as lab:
        figures["boot to control channel"] = lab.boot_seconds or 0.0
        took = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            lab.run("true", check=True)
            took.append(time.perf_counter() - start)
        figures["one request (median)"] = statistics.median(took)
        start = time.perf_counter()
        start_peer(lab, tunnels)
        figures["vgw responder up"] = time.perf_counter() - start
        start = time.perf_counter()
        type_manual_steps(lab, tunnels, restart=False)
        figures["manual steps typed, both tunnels"] = time.perf_counter() - start
        start = time.perf_counter()
        lab.run("ipsec restart", check=True)
        status = wait_tunnels_up(lab, [t.name for t in tunnels])
        figures["ipsec restart to both tunnels up"] = time.perf_counter() - start
        if not all_up(status, [t.name for t in tunnels]):
            print(f"tunnels did not come up:\n{status}")
    return figures


def main() -> int:
    why = lab_unavailable()
    if why:
        print(f"lab unavailable: {why}")
        return 1
    boots = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    runs = [one_boot() for _ in range(boots)]
    print(f"{'seconds over ' + str(boots) + ' boots':36} {'median':>8} {'min':>8} {'max':>8}")
    for label in runs[0]:
        values = [r[label] for r in runs]
        print(f"{label:36} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
