"""Time to the first interactive frame: the wizard beside a bare Textual app of one `Static`.

Each run is a fresh interpreter (imports included, as an operator pays them),
started by this script, which notes CLOCK_MONOTONIC just before the spawn. The
child runs its app headless and, once the first screen is mounted, focused
and painted, prints CLOCK_MONOTONIC and exits; the difference is the figure.
The child also reports the part spent inside the app (from `App.run` to that
frame), so import cost and screen cost can be told apart. Both apps run the
same number of times, alternately, on the same machine in the same run.

The wizard is started as `vpn-wizard --dry-run --import examples/...` starts
it: imported through `wizard.cli.import_tui`, real host probes (`ipsec
--version`, netlink) and the bundled example.

Prints figures; asserts nothing (these machines are noisy). Run:
    .venv/bin/python bench/tui_startup.py [runs]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# The children import only what they run: a module this script imports at the top
# would be charged to both apps and flatten the ratio. The parent's own tools are
# imported in main().

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "aws-strongswan-seed.txt"
RUNS = 7


def _child(kind: str) -> None:
    """Run one app headless and print 'frame_monotonic app_start_monotonic'."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    marks: dict[str, float] = {}

    def report(app: App[object]) -> None:
        marks["frame"] = time.monotonic()
        app.exit()

    if kind == "bare":

        class Bare(App[object]):
            def compose(self) -> ComposeResult:
                yield Static("Hello")

            def on_mount(self) -> None:
                self.call_after_refresh(report, self)

        app: App[object] = Bare()
    else:
        import tempfile

        sys.path.insert(0, str(ROOT))
        from wizard.cli import import_tui

        import_tui()  # as `vpn-wizard` imports the TUI (the cycle collector paused)
        from screens.app import WizardApp
        from screens.base import StepScreen
        from wizard.system.host import probe
        from wizard.system.netlink import read_interfaces
        from wizard.system.paths import Root

        class Timed(WizardApp):
            def on_mount(self) -> None:
                # Textual calls WizardApp.on_mount itself (handlers run for every class of
                # the MRO): calling super() here would mount the first screen twice.
                self._waiting = self.set_interval(0.002, self._check)

            def _check(self) -> None:
                screen = self.screen
                if isinstance(screen, StepScreen) and screen.is_mounted and self.focused:
                    self._waiting.stop()
                    screen.call_after_refresh(report, self)

        root = tempfile.mkdtemp(prefix="vpn-wizard-bench-")
        os.chdir(ROOT)
        app = Timed(root=Root(root), dry_run=True, import_path=str(EXAMPLE.relative_to(ROOT)),
                    host=lambda: probe(Root(root)), interfaces=read_interfaces)
    marks["start"] = time.monotonic()
    app.run(headless=True, size=(100, 32))
    print(f"{marks['frame']:.6f} {marks['start']:.6f}")


def _measure(kind: str) -> tuple[float, float]:
    """(process start to first frame, App.run to first frame), in seconds."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_THEME"}
    spawned = time.monotonic()
    out = subprocess.run([sys.executable, __file__, "--child", kind], capture_output=True,
                         text=True, check=True, env=env, cwd=ROOT).stdout.split()
    frame, start = float(out[-2]), float(out[-1])
    return frame - spawned, frame - start


def _line(name: str, values: list[float]) -> str:
    import statistics

    ms = [v * 1000 for v in values]
    return (f"  {name:<34} median {statistics.median(ms):7.1f} ms   "
            f"min {min(ms):7.1f}   max {max(ms):7.1f}")


def main() -> None:
    import statistics

    from precompile import compile_project  # bench/ is sys.path[0]

    compile_project()
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    results: dict[str, list[tuple[float, float]]] = {"bare": [], "wizard": []}
    for _ in range(runs):
        for kind in results:  # alternate, so load spikes hit both alike
            results[kind].append(_measure(kind))
    print(f"Time to first interactive frame, {runs} runs each, headless 100x32, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs "
          f"(load average {os.getloadavg()[0]:.2f})")
    for kind, label in (("bare", "bare Textual app (one Static)"),
                        ("wizard", "vpn-wizard welcome (dry run)")):
        print(_line(f"{label}: process", [t for t, _ in results[kind]]))
        print(_line(f"{label}: in app", [a for _, a in results[kind]]))
    bare = statistics.median(t for t, _ in results["bare"])
    wizard = statistics.median(t for t, _ in results["wizard"])
    print(f"  wizard / bare (process, medians): {wizard / bare:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main()
