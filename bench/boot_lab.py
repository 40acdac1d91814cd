"""The booted lab's figures: apply -> both tunnels up, and boot -> both tunnels up, per persona.

For each persona (Debian 12: starter + ifupdown + rc.local, the document's
layout; Debian 13: charon-systemd + swanctl + netplan), a box with systemd as
PID 1 installs the release artefact as README "Install on a box" says,
applies non-interactively, and is powered off and booted again `boots` times.
"Up" is judged at the AWS side: its responder has both CHILD_SAs installed.
Prints figures; asserts nothing. Needs root, user-mode-linux, mmdebstrap and
uml-utilities, like tests/lab/test_boot_lab.py. Run:
    .venv/bin/python bench/boot_lab.py [boots]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

import bootimage  # noqa: E402
from bootlab import booted_lab  # noqa: E402
from peer import seed_tunnels  # noqa: E402
from test_boot_lab import (  # noqa: E402
    ANSWERS,
    AWS_FILE,
    COMMAND,
    _skip_reason,
    install_and_stage,
    wait_booted,
)

PERSONAS = ((bootimage.DEBIAN12, "seed"), (bootimage.DEBIAN13, "netplan"))


def measure(persona: bootimage.Persona, persistence: str, boots: int) -> dict[str, list[float]]:
    """One box of this persona: apply once, then power off and boot `boots` times."""
    figures: dict[str, list[float]] = {}

    def add(label: str, seconds: float) -> None:
        figures.setdefault(label, []).append(seconds)
        print(f"  {persona.name} {persistence}: {label}: {seconds:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="vpn-wizard-bench-", dir="/var/tmp") as tmp:
        started = time.monotonic()
        _image, built = bootimage.image(persona, log=Path(tmp) / "image.log")
        add("image " + ("built" if built else "from cache"), time.monotonic() - started)
        with booted_lab(persona, Path(tmp), seed_tunnels()) as lab:
            box = lab.boot()
            wait_booted(box)
            add("boot -> systemd done (first boot)", time.monotonic() - lab.boot_started)
            install_and_stage(lab, persistence)
            applied = time.monotonic()
            box.run(f"sudo {COMMAND} apply --import {AWS_FILE} --answers {ANSWERS} --no-confirm",
                    timeout=300, check=True)
            up, status, when = lab.wait_children(timeout=180)
            if not up:
                raise RuntimeError(f"tunnels not up after apply:\n{status}")
            add("apply -> both CHILD_SAs up", when - applied)
            for _ in range(boots):
                lab.poweroff()
                lab.boot()
                up, status, when = lab.wait_children(timeout=180)
                if not up:
                    raise RuntimeError(f"tunnels not back after boot:\n{status}")
                add("boot -> both CHILD_SAs up", when - lab.boot_started)
    return figures


def main() -> int:
    boots = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    why = _skip_reason()
    if why:
        print(f"cannot run the booted lab here: {why}")
        return 1
    results = {}
    for persona, persistence in PERSONAS:
        print(f"{persona.name} ({persona.suite}), {persona.backend} + {persistence}:", flush=True)
        results[(persona.name, persistence)] = measure(persona, persistence, boots)
    print("\nsummary (median seconds; 'up' = both CHILD_SAs installed at the AWS side):")
    for (name, persistence), figures in results.items():
        for label, values in figures.items():
            print(f"  {name:9} {persistence:8} {label:36} {statistics.median(values):6.1f}"
                  f"  (n={len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
