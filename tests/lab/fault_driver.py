"""Runs inside UML: `vpn-wizard apply` failing, and killed, at every action; rollback each time.

Starting the interpreter and importing pyroute2 costs about 3 s under UML,
so instead of a fresh `vpn-wizard` per fault point this driver imports the
CLI once and forks a child per run, which executes `wizard.cli.main` with
the operator's arguments exactly as the `vpn-wizard` script would - and, for
the crash runs, really dies of SIGKILL. After each run it takes one snapshot
(the shell text in argv[1]) and compares it with the one before everything.

Prints one JSON line: {"points": N, "failures": [...], "seconds": {...}}.
Usage: python fault_driver.py SNAPSHOT_SCRIPT_FILE POINTS APPLY_ARG...
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


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


def main() -> int:
    snapshot_file, points, apply_args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    import pyroute2  # noqa: F401

    import wizard.cli  # noqa: F401 - the import the children share
    from wizard.commands import apply as _apply  # noqa: F401
    from wizard.system import netlink as _netlink  # noqa: F401

    def snap() -> str:
        return subprocess.run(
            ["/bin/sh", snapshot_file], capture_output=True, text=True, check=False
        ).stdout

    baseline = snap()
    failures: list[str] = []
    seconds = {"fail": 0.0, "kill": 0.0, "rollback": 0.0}
    for index in range(points):
        print(f"point {index}", file=sys.stderr, flush=True)
        started = time.monotonic()
        rc = run_cli(["apply", *apply_args], {"VPN_WIZARD_FAIL_AT": str(index)})
        seconds["fail"] += time.monotonic() - started
        if rc != 1:
            failures.append(f"fail_at {index}: exit {rc}, expected 1")
        if snap() != baseline:
            failures.append(f"fail_at {index}: state differs after the automatic rollback")
            break
        started = time.monotonic()
        rc = run_cli(["apply", *apply_args], {"VPN_WIZARD_KILL_AT": str(index)})
        seconds["kill"] += time.monotonic() - started
        if rc != -signal.SIGKILL:
            failures.append(f"kill_at {index}: exit {rc}, expected SIGKILL")
        started = time.monotonic()
        rc = run_cli(["rollback"], {})
        seconds["rollback"] += time.monotonic() - started
        if rc != 0:
            failures.append(f"kill_at {index}: rollback exit {rc}")
        if snap() != baseline:
            failures.append(f"kill_at {index}: state differs after vpn-wizard rollback")
            break
    print(json.dumps({"points": points, "failures": failures, "seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
