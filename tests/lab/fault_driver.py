"""Runs inside UML: `vpn-wizard apply` failing, and killed, at chosen actions; rollback each time.

Starting the interpreter and importing pyroute2 costs 2-3 s under UML,
so instead of a fresh `vpn-wizard` per fault point this driver imports the
CLI once and forks a child per run, which executes `wizard.cli.main` with
the operator's arguments exactly as the `vpn-wizard` script would - and, for
the crash runs, really dies of SIGKILL. The `vpn-wizard rollback` after each
crash goes through a forked child too, except at the `--real` points, where
both the crashing apply and the rollback are the real `vpn-wizard` binary in
a process of its own.

After each run the driver checks the exit status, the state the newest
journal ended in (rolled-back after a failure and after a rollback,
unfinished after a crash, so the rollback really had something to do) and
that the journal stopped at the action aimed at (`reached`), moves
a settled journal aside (`archive`), and takes a snapshot (labstate.py, in
this process: no process start but the `iptables-save` and `ip` it runs) to
compare with the one taken before everything. Per run the snapshot looks where the plans write; the first and
the last one also cover every name under /etc and /usr/local (`full`), so a
stray file left anywhere by any run still shows.

Prints one JSON line:
{"fail": [...], "kill": [...], "real": [...], "failures": [...], "seconds": {phase: s},
 "runs": {"fail_at N" | "kill_at N" | "rollback N": s}}.
Usage: python fault_driver.py SCOPE.json --fail 0,1,.. --kill 0,1,.. [--real N,..]
       --binary VPN_WIZARD -- APPLY_ARG...
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import labstate

ARCHIVE = "/lab/journals"
"""Where settled transactions go after their run was checked (see `archive`)."""


def run_cli(argv: list[str], env: dict[str, str]) -> int:
    """Fork, run `vpn-wizard ARGV` in the child, return its wait status as rc / -signal."""
    pid = os.fork()
    if pid == 0:
        os.environ.update(env)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        from wizard.cli import main

        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def run_binary(binary: str, argv: list[str], env: dict[str, str]) -> int:
    """Run the real `vpn-wizard` in a process of its own; rc, or -signal."""
    proc = subprocess.run(
        [binary, *argv],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode


def _points(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scope")
    parser.add_argument("--fail", type=_points, default=[])
    parser.add_argument("--kill", type=_points, default=[])
    parser.add_argument("--real", type=_points, default=[])
    parser.add_argument("--binary", required=True)
    split = sys.argv.index("--")
    opts = parser.parse_args(sys.argv[1:split])
    apply_args = sys.argv[split + 1 :]

    started = time.monotonic()
    import pyroute2  # noqa: F401

    import wizard.cli  # noqa: F401 - the import the children share
    from wizard.commands import apply as _apply  # noqa: F401
    from wizard.engine.journal import transactions
    from wizard.system import netlink as _netlink  # noqa: F401
    from wizard.system.paths import Root

    seconds = {
        "imports": time.monotonic() - started,
        "snapshot": 0.0,
        "fail": 0.0,
        "kill": 0.0,
        "rollback": 0.0,
        "real binary": 0.0,
    }
    root = Root("/")

    runs: dict[str, float] = {}

    def timed(phase: str, label: str, func: Callable[[], int]) -> int:
        started = time.monotonic()
        try:
            return func()
        finally:
            took = time.monotonic() - started
            seconds[phase] += took
            runs[label] = round(took, 2)

    scope = labstate.load_scope(opts.scope)

    def snap(full: bool = False) -> str:
        started = time.monotonic()
        try:
            return labstate.snapshot(scope, full=full)
        finally:
            seconds["snapshot"] += time.monotonic() - started

    def newest_state() -> str:
        journals = transactions(root)
        return journals[-1].state if journals else "no journal"

    def reached(index: int, kind: str) -> None:
        """Check the newest journal stopped at action `index`: the fault hit where aimed."""
        journals = transactions(root)
        records = journals[-1].records() if journals else []
        last = max(
            (r["index"] for r in records if "index" in r and r.get("type") != "undone"),
            default=None,
        )
        failed = [r["index"] for r in records if r.get("outcome") == "failed"]
        if last != index or failed != ([index] if kind == "fail_at" else []):
            failures.append(
                f"{kind} {index}: the journal's last action is {last}, failed ones {failed}"
            )

    def archive() -> None:
        """Move settled transactions out of the wizard's sight, into ARCHIVE.

        Every apply and rollback reads every journal (is one unfinished?), so
        a hundred of them left in place would slow each later run by a few
        tenths of a second; and each run starts, as on a fresh box, with none.
        """
        os.makedirs(ARCHIVE, exist_ok=True)
        for journal in transactions(root):
            shutil.move(str(journal.dir), os.path.join(ARCHIVE, journal.id))

    failures: list[str] = []

    def expect(what: str, rc: int, want_rc: int, want_state: str) -> bool:
        state = newest_state()
        if rc != want_rc or state != want_state:
            failures.append(
                f"{what}: exit {rc}, journal {state}; expected exit {want_rc}, journal {want_state}"
            )
        return rc == want_rc

    def same(what: str, now: str) -> bool:
        if now == baseline:
            return True
        diff = difflib.unified_diff(baseline.splitlines(), now.splitlines(), lineterm="", n=0)
        failures.append(f"{what}: state differs:\n" + "\n".join(list(diff)[:40]))
        return False

    baseline_full = snap(full=True)
    baseline_names = [line for top in labstate.TREES for line in labstate.tree_lines(top)]
    baseline = snap()
    fail_env = {"VPN_WIZARD_FAIL_AT": ""}
    kill_env = {"VPN_WIZARD_KILL_AT": ""}
    for index in sorted(set(opts.fail) | set(opts.kill)):
        print(f"point {index}", file=sys.stderr, flush=True)
        if index in opts.fail:
            fail_env["VPN_WIZARD_FAIL_AT"] = str(index)
            rc = timed(
                "fail", f"fail_at {index}", lambda: run_cli(["apply", *apply_args], fail_env)
            )
            expect(f"fail_at {index}", rc, 1, "rolled-back")
            reached(index, "fail_at")
            archive()
            if not same(f"fail_at {index} (after the automatic rollback)", snap()):
                break
        if index in opts.kill:
            kill_env["VPN_WIZARD_KILL_AT"] = str(index)
            if index in opts.real:
                rc = timed(
                    "real binary",
                    f"kill_at {index}",
                    lambda: run_binary(opts.binary, ["apply", *apply_args], kill_env),
                )
            else:
                rc = timed(
                    "kill", f"kill_at {index}", lambda: run_cli(["apply", *apply_args], kill_env)
                )
            if not expect(f"kill_at {index}", rc, -signal.SIGKILL, "applying"):
                break
            reached(index, "kill_at")
            if index in opts.real:
                rc = timed(
                    "real binary",
                    f"rollback {index}",
                    lambda: run_binary(opts.binary, ["rollback"], {}),
                )
            else:
                rc = timed("rollback", f"rollback {index}", lambda: run_cli(["rollback"], {}))
            expect(f"kill_at {index}: vpn-wizard rollback", rc, 0, "rolled-back")
            archive()
            if not same(f"kill_at {index} (after vpn-wizard rollback)", snap()):
                break
    else:
        now = snap(full=True)
        if now != baseline_full:
            names = [line for top in labstate.TREES for line in labstate.tree_lines(top)]
            diff = difflib.unified_diff(baseline_names, names, lineterm="", n=0)
            failures.append(
                "after all runs, the full snapshot differs; names under /etc and /usr/local:\n"
                + "\n".join(list(diff)[:40])
            )
    seconds["total"] = time.monotonic() - started
    print(
        json.dumps(
            {
                "fail": opts.fail,
                "kill": opts.kill,
                "real": opts.real,
                "failures": failures,
                "seconds": {k: round(v, 2) for k, v in seconds.items()},
                "runs": runs,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
