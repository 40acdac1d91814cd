"""Cold start of `vpn-wizard plan`, and the cost of planning many connections.

Prints figures; asserts nothing (these machines are noisy). Run:
    .venv/bin/python bench/plan_bench.py
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from precompile import compile_project  # noqa: E402  (bench/ is sys.path[0])
from seed_setup import seed_setup  # noqa: E402

from wizard.plan import build_plan  # noqa: E402
from wizard.preview import render_plan  # noqa: E402

EXAMPLE = ROOT / "examples" / "aws-strongswan-seed.txt"
RUNS = 7


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def many_connections(count: int) -> tuple[float, float, int]:
    """Build and render `count` connections (2 tunnels each) into one growing set of files."""
    files: dict[str, str | None] = {}
    base = seed_setup()
    build = render = 0.0
    lines = 0
    for i in range(count):
        tunnels = tuple(
            replace(
                t,
                name=f"Tunnel{2 * i + j + 1}",
                mark=100 * (2 * i + j + 1),
                aws_outside_ip=IPv4Address(f"203.0.113.{2 * i + j + 1}"),
                customer_inside_cidr=IPv4Interface(f"169.254.{10 + i}.{4 * j + 2}/30"),
                aws_inside_cidr=IPv4Interface(f"169.254.{10 + i}.{4 * j + 1}/30"),
            )
            for j, t in enumerate(base.tunnels)
        )
        setup = replace(base, connection=replace(base.connection, tunnels=tunnels))
        t0 = time.perf_counter()
        plan = build_plan(setup, lambda p: files.get(p))
        t1 = time.perf_counter()
        out = io.StringIO()
        console = Console(file=out, width=120, color_system="truecolor")
        for renderable in render_plan(setup, plan):
            console.print(renderable)
        t2 = time.perf_counter()
        for path, change in plan.final_files().items():
            files[path] = change.after
        build += t1 - t0
        render += t2 - t1
        lines += out.getvalue().count("\n")
    return build, render, lines


def main() -> None:
    compile_project()
    py = sys.executable
    exe = str(Path(py).with_name("vpn-wizard"))
    print(f"cold start, median of {RUNS} runs on this machine:")
    # The floor: what printing highlighted files takes anyway (issue 13's baseline).
    baseline_argv = [py, "-c", "import rich.console, rich.syntax"]
    plan_argv = [exe, "plan", "--import", str(EXAMPLE)]
    json_argv = [*plan_argv, "--format", "json"]
    # What `plan` imports before it reads anything (its import cost, apart from rendering).
    import_argv = [py, "-c", "import wizard.cli, wizard.commands.plan"]
    commands = {"base": baseline_argv, "plan": plan_argv, "json": json_argv,
                "imports": import_argv}
    runs: dict[str, list[float]] = {key: [] for key in commands}
    for argv in commands.values():
        wall(argv)  # warm the page cache
    for _ in range(RUNS):  # alternate, so a load spike hits all alike
        for key, argv in commands.items():
            runs[key].append(wall(argv) * 1000)
    baseline, plan_ms, json_ms, import_ms = (statistics.median(runs[k]) for k in commands)
    print(f"  python -c 'import rich.console, rich.syntax'    {baseline:8.1f} ms")
    print(f"  vpn-wizard plan --import {EXAMPLE.name:22} {plan_ms:8.1f} ms")
    print(f"  ... --format json                               {json_ms:8.1f} ms")
    print(f"  python -c 'import wizard.cli, wizard.commands.plan' {import_ms:4.1f} ms")
    print(f"  plan / baseline (medians): {plan_ms / baseline:.2f}x   "
          f"json / baseline: {json_ms / baseline:.2f}x   "
          f"plan's imports / baseline: {import_ms / baseline:.2f}x")
    build, render, lines = many_connections(50)
    print("50 connections (100 tunnels), planned one after another over the same files:")
    print(f"  build_plan total  {build * 1000:8.1f} ms")
    print(f"  rich render total {render * 1000:8.1f} ms  ({lines} lines of preview)")


if __name__ == "__main__":
    main()
