"""How long `vpn-wizard apply` takes to bring both tunnels up, beside the document typed by hand.

Boots the UML lab (tests/lab), starts the vgw responder, then on the cgw, for
each of ROUNDS rounds (argv[1]) on the same clean box with the daemon stopped:

1. `vpn-wizard apply --import ... --answers ... --no-confirm` (manual mode),
   timed from the command to both CHILD_SAs installed; then `uninstall`;
2. the document's steps typed by a script (tests/lab/manual.py) and a bare
   `ipsec start`, timed the same way; then the box is put back as it was
   (the files the steps edit, their sysctls, links and rules).

The first round also times a bare `ipsec start` and an `ipsec restart` on the
configuration the wizard wrote (strongSwan's own floor; the starter's restart
sleeps 2 s). Last, `vpn-wizard rollback` after a `kill -9` at the last action.
The figure issue 13 asks for is the ratio of the two medians.

The project is compiled to bytecode first (bench/precompile.py): an installed
vpn-wizard runs from bytecode, and the lab's shells set PYTHONDONTWRITEBYTECODE,
so a source tree would otherwise be compiled inside UML on every run.

Needs root and user-mode-linux (see tests/lab/uml.py). Run:
    .venv/bin/python bench/apply_lab.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent / "tests" / "lab"
sys.path.insert(0, str(LAB))

import wizard_lab as wl  # noqa: E402
from manual import all_up, type_manual_steps, wait_tunnels_up  # noqa: E402
from peer import seed_tunnels, start_peer  # noqa: E402
from precompile import compile_project  # noqa: E402  (bench/ is sys.path[0])
from uml import CGW_LAN_IF, CGW_WAN_IF, Lab, lab_unavailable  # noqa: E402

ROUNDS = 3
FLOORS = (("python -c pass inside UML", "pass"),
          ("python -c 'import pyroute2' inside UML", "import pyroute2"),
          ("python -c 'import wizard.commands.apply' inside UML",
           "import wizard.cli, wizard.commands.apply"))
"""What every run of the wizard pays before it does anything: the interpreter, the
netlink library, its own modules. The typed steps pay none of it."""
SAVED = ("/etc/ipsec.conf", "/etc/ipsec.secrets", "/etc/sysctl.conf",
         "/etc/strongswan.d/charon.conf", "/etc/network/interfaces", "/etc/rc.local",
         "/etc/iptables.conf")
"""What the typed steps change on disk: put back after each typed round."""
SYSCTLS = ("net.ipv4.ip_forward",
           *(f"net.ipv4.conf.{dev}.{key}" for dev in (CGW_WAN_IF, CGW_LAN_IF)
             for key in ("disable_xfrm", "disable_policy")))


def timed(label: str, seconds: float) -> None:
    print(f"{label:<66} {seconds:6.2f} s", flush=True)


def remember_clean(lab: Lab) -> str:
    """Save the clean box's files and sysctls; return the shell line that puts them back."""
    present = [p for p in SAVED if lab.run(f"test -e {p}").ok]
    absent = [p for p in SAVED if p not in present]
    lab.run(f"tar -cpf /root/clean.tar {' '.join(present)} 2>/dev/null", check=True)
    values = {key: lab.run(f"sysctl -n {key}", check=True).out.strip() for key in SYSCTLS}
    return "\n".join([
        "ipsec stop >/dev/null 2>&1 || true",
        "ip link del Tunnel1 2>/dev/null || true",
        "ip link del Tunnel2 2>/dev/null || true",
        "iptables -t mangle -F",
        *(f"rm -f {p}" for p in absent),
        "tar -xpf /root/clean.tar -C /",
        *(f"sysctl -qw {key}={value}" for key, value in values.items()),
    ])


def until_installed(lab: Lab, names: list[str], started: float) -> float:
    status = wait_tunnels_up(lab, names)
    if not all_up(status, names):
        raise SystemExit(f"the tunnels did not come up:\n{status}")
    return time.monotonic() - started


def main() -> int:
    why = lab_unavailable()
    if why:
        print(f"skipped: {why}")
        return 0
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    compile_project()
    tunnels = seed_tunnels()
    names = [t.name for t in tunnels]
    with Lab() as lab:
        assert lab.boot_seconds is not None
        timed("UML boot", lab.boot_seconds)
        start_peer(lab, tunnels)
        wl.prepare(lab, tunnels, "manual")
        reset_typed = remember_clean(lab)

        wizard_runs: list[float] = []
        typed_runs: list[float] = []
        floors: dict[str, list[float]] = {label: [] for label, _ in FLOORS}
        for round_ in range(1, rounds + 1):
            for label, code in FLOORS:
                started = time.monotonic()
                lab.run(f"{wl.PYTHON} -c '{code}'", check=True, timeout=120)
                floors[label].append(time.monotonic() - started)
            # The wizard on the clean box, the daemon stopped.
            started = time.monotonic()
            lab.run(wl.apply_cmd("--no-confirm"), check=True, timeout=180)
            command = time.monotonic() - started
            wizard_runs.append(until_installed(lab, names, started))
            timed(f"round {round_}: vpn-wizard apply (command returned)", command)
            timed(f"round {round_}: vpn-wizard apply -> both CHILD_SAs installed",
                  wizard_runs[-1])
            if round_ == 1:
                bare_figures(lab, names)
            lab.run(wl.wizard("uninstall", "--yes", "--import", wl.AWS_FILE,
                              "--answers", wl.ANSWERS), check=True, timeout=180)
            lab.run("ipsec stop", timeout=60)
            lab.wait_until("! ipsec status >/dev/null 2>&1", timeout=30)

            # The document's steps typed by a script on the same clean box.
            started = time.monotonic()
            type_manual_steps(lab, tunnels, restart=False)
            lab.run("ipsec start", check=True, timeout=60)
            typed_runs.append(until_installed(lab, names, started))
            timed(f"round {round_}: document's steps typed + ipsec start -> both installed",
                  typed_runs[-1])
            lab.run(reset_typed, check=True, timeout=60)
            lab.wait_until("! ipsec status >/dev/null 2>&1", timeout=30)

        crashed = lab.run(wl.apply_cmd("--no-confirm", env="VPN_WIZARD_KILL_AT=heartbeat"),
                          timeout=180)
        if crashed.rc != 137:
            print(f"expected the apply to die of SIGKILL, got {crashed.rc}:\n{crashed.out}")
            return 1
        started = time.monotonic()
        lab.run(wl.wizard("rollback"), check=True, timeout=180)
        timed("vpn-wizard rollback after kill -9 (whole plan)", time.monotonic() - started)

    for label, runs in floors.items():
        timed(f"median of {rounds}: {label}", statistics.median(runs))
    wizard_median = statistics.median(wizard_runs)
    typed_median = statistics.median(typed_runs)
    timed(f"median of {rounds}: vpn-wizard apply -> both installed", wizard_median)
    timed(f"median of {rounds}: typed steps + ipsec start -> both installed", typed_median)
    print("per round, apply / typed: "
          + ", ".join(f"{w / t:.2f}x" for w, t in zip(wizard_runs, typed_runs, strict=True)))
    print(f"apply -> up / typed -> up (medians): {wizard_median / typed_median:.2f}x",
          flush=True)
    return 0


def bare_figures(lab: Lab, names: list[str]) -> None:
    """strongSwan's own floor on the configuration the wizard wrote: start, and restart."""
    lab.run("ipsec stop", check=True, timeout=60)
    lab.wait_until("! ipsec status >/dev/null 2>&1", timeout=30)
    for verb, label in (("start", "bare 'ipsec start'"), ("restart", "'ipsec restart'")):
        started = time.monotonic()
        lab.run(f"ipsec {verb}", check=True, timeout=60)
        up, status = wl.wait_established(lab, names)
        if not up:
            raise SystemExit(status)
        timed(f"{label}, same config -> both ESTABLISHED", time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
