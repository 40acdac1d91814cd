"""How long `vpn-wizard apply` takes to bring both tunnels up, beside a bare `ipsec start`.

Boots the UML lab (tests/lab), starts the vgw responder, then on the cgw:

1. `vpn-wizard apply --import ... --answers ... --no-confirm` (manual mode),
   timed from the command to both IKE SAs ESTABLISHED with CHILD_SAs installed;
2. `ipsec stop`, then a bare `ipsec start` on the very configuration the wizard
   wrote (VTIs, rules and routes still in place), timed the same way - the
   floor set by strongSwan itself; then `ipsec restart`, which is what the
   wizard runs (the starter script sleeps 2 s between its stop and start);
3. `vpn-wizard rollback` after a `kill -9` at the last action, timed alone;
4. on the box the rollback put back (the daemon stopped), the document's steps
   typed by a script (tests/lab/manual.py) and a bare `ipsec start`, timed
   to both CHILD_SAs installed: what the wizard is compared with (issue 13).

Needs root and user-mode-linux (see tests/lab/uml.py). Run:
    .venv/bin/python bench/apply_lab.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent / "tests" / "lab"
sys.path.insert(0, str(LAB))

import wizard_lab as wl  # noqa: E402
from manual import all_up, type_manual_steps, wait_tunnels_up  # noqa: E402
from peer import seed_tunnels, start_peer  # noqa: E402
from uml import Lab, lab_unavailable  # noqa: E402


def timed(label: str, seconds: float) -> None:
    print(f"{label:<58} {seconds:6.2f} s", flush=True)


def main() -> int:
    why = lab_unavailable()
    if why:
        print(f"skipped: {why}")
        return 0
    tunnels = seed_tunnels()
    names = [t.name for t in tunnels]
    with Lab() as lab:
        assert lab.boot_seconds is not None
        timed("UML boot", lab.boot_seconds)
        start_peer(lab, tunnels)
        wl.prepare(lab, tunnels, "manual")

        started = time.monotonic()
        lab.run(f"{wl.PYTHON} -c 'import wizard.cli, pyroute2'", check=True, timeout=120)
        timed("interpreter start + imports inside UML (part of every run)",
              time.monotonic() - started)

        started = time.monotonic()
        lab.run(wl.apply_cmd("--no-confirm"), check=True, timeout=180)
        command = time.monotonic() - started
        status = wait_tunnels_up(lab, names)
        if not all_up(status, names):
            print(status)
            return 1
        wizard_up = time.monotonic() - started
        timed("vpn-wizard apply (command returned)", command)
        timed("vpn-wizard apply -> both CHILD_SAs installed", wizard_up)

        lab.run("ipsec stop", check=True, timeout=60)
        lab.wait_until("! ipsec status >/dev/null 2>&1", timeout=30)
        started = time.monotonic()
        lab.run("ipsec start", check=True, timeout=60)
        up, status = wl.wait_established(lab, names)
        if not up:
            print(status)
            return 1
        timed("bare 'ipsec start', same config -> both ESTABLISHED", time.monotonic() - started)
        started = time.monotonic()
        lab.run("ipsec restart", check=True, timeout=60)
        up, status = wl.wait_established(lab, names)
        if not up:
            print(status)
            return 1
        timed("'ipsec restart', same config -> both ESTABLISHED", time.monotonic() - started)

        # Undo the apply for the rollback figure: uninstall, then crash a fresh apply.
        lab.run(wl.wizard("uninstall", "--yes", "--import", wl.AWS_FILE, "--answers", wl.ANSWERS),
                check=True, timeout=180)
        lab.run("ipsec stop", timeout=60)
        crashed = lab.run(wl.apply_cmd("--no-confirm", env="VPN_WIZARD_KILL_AT=heartbeat"),
                          timeout=180)
        if crashed.rc != 137:
            print(f"expected the apply to die of SIGKILL, got {crashed.rc}:\n{crashed.out}")
            return 1
        started = time.monotonic()
        lab.run(wl.wizard("rollback"), check=True, timeout=180)
        timed("vpn-wizard rollback after kill -9 (whole plan)", time.monotonic() - started)

        lab.run("ipsec stop", timeout=60)
        started = time.monotonic()
        type_manual_steps(lab, tunnels, restart=False)
        lab.run("ipsec start", check=True, timeout=60)
        status = wait_tunnels_up(lab, names)
        if not all_up(status, names):
            print(status)
            return 1
        typed = time.monotonic() - started
        timed("document's steps typed by a script + ipsec start -> both installed", typed)
        print(f"apply -> up / typed -> up: {wizard_up / typed:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
