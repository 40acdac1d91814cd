"""Runs inside UML: print everything a rollback must restore on the cgw, as text to compare.

Stdlib only (it runs under the host's interpreter, seen through the lab's
overlay). The scope comes from the plans themselves (`wizard_lab.footprint`,
written to a JSON file in the lab): the files they write, the directories on
the way to them and the sysctls they set. What is printed, with no comment,
counter or timestamp in it:

* each file the plans write: absent, or type, mode, owner, size and sha256;
* a listing of each of those directories (name, type, mode, owner, size,
  symlink target), so a stray temporary or a directory left behind shows;
* ``iptables-save`` (tables that hold no rule left out), and the links,
  addresses, routes (every table) and xfrm states and policies from one
  ``ip -d -batch``;
* the plans' sysctls, and whether strongSwan's starter and charon run
  (their pid files: absent, stale, or naming a live process).

``full`` adds the name, type and mode of every entry under /etc and
/usr/local and the sha256 of every regular file in the listed directories:
about 0.5 s more under UML, so the fault driver takes it only before its
first run and after its last (a stray file stays, so it still shows).

Imported by fault_driver.py (no process start per snapshot); run as
``python labstate.py SCOPE.json [full]`` by the tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys

PID_FILES = ("/run/starter.charon.pid", "/run/charon.pid")
TREES = ("/etc", "/usr/local")
_COUNTERS = re.compile(r" \[\d+:\d+\]$")
_IP_BATCH = "link show\naddr show\nroute show table all\nxfrm state\nxfrm policy\n"


def _describe(path: str, *, digest: bool) -> str:
    """One line for a path: what lstat says, and the content's sha256 for a file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"{path} absent"
    line = f"{path} {stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid}"
    if stat.S_ISLNK(st.st_mode):
        return f"{line} -> {os.readlink(path)}"
    if stat.S_ISREG(st.st_mode):
        line += f" {st.st_size}"
        if digest:
            with open(path, "rb") as f:
                line += " " + hashlib.sha256(f.read()).hexdigest()
    return line


def _listing(directory: str, *, digest: bool) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return [f"{directory}/ absent"]
    return [_describe(os.path.join(directory, n), digest=digest) for n in names]


def tree_lines(top: str) -> list[str]:
    """The name, type and mode of every entry under `top`, not crossing into other mounts."""
    device = os.lstat(top).st_dev
    lines = []
    for current, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(current, name)
            st = os.lstat(path)
            lines.append(f"{path} {stat.filemode(st.st_mode)}")
        dirs[:] = [d for d in dirs if os.lstat(os.path.join(current, d)).st_dev == device]
    return sorted(lines)


def _tree(top: str) -> str:
    return hashlib.sha256("\n".join(tree_lines(top)).encode()).hexdigest()


def _rules(dump: str) -> list[str]:
    """iptables-save without comments, counters, or tables that hold no rule."""
    out: list[str] = []
    table: list[str] = []
    keep = False
    for raw in dump.splitlines():
        line = _COUNTERS.sub("", raw)
        if line.startswith("#"):
            continue
        if line.startswith("*"):
            table, keep = [line], False
        elif line == "COMMIT":
            if keep:
                out += [*table, line]
        else:
            table.append(line)
            # A chain with its default policy only is what an empty table holds.
            keep = keep or re.fullmatch(r":[A-Z]+ ACCEPT", line) is None
    return out


def _command(argv: list[str], stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    return proc.stdout + (
        f"[{argv[0]} exit {proc.returncode}: {proc.stderr.strip()}]\n" if proc.returncode else ""
    )


def _daemon(pid_file: str) -> str:
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip() or "0")
    except FileNotFoundError:
        return f"{pid_file} absent"
    except ValueError:
        return f"{pid_file} stale"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"{pid_file} stale"
    return f"{pid_file} running"


def snapshot(scope: dict[str, list[str]], *, full: bool = False) -> str:
    """The text to compare; `scope` has "files", "dirs" and "sysctls" (wizard_lab.Footprint)."""
    out = ["== files", *(_describe(p, digest=True) for p in scope["files"])]
    out.append("== dirs")
    for directory in scope["dirs"]:
        out += _listing(directory, digest=full)
    if full:
        out += [f"tree {top} {_tree(top)}" for top in TREES]
    out.append("== iptables-save")
    out += _rules(_command(["iptables-save"]))
    out.append("== ip")
    out.append(_command(["ip", "-d", "-batch", "-"], _IP_BATCH))
    out.append("== sysctl")
    for key in scope["sysctls"]:
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path) as f:
                out.append(f"{key} = {f.read().strip()}")
        except FileNotFoundError:
            out.append(f"{key} absent")
    out.append("== strongswan")
    out += [_daemon(p) for p in PID_FILES]
    return "\n".join(out) + "\n"


def load_scope(path: str) -> dict[str, list[str]]:
    with open(path) as f:
        scope: dict[str, list[str]] = json.load(f)
    return scope


def main() -> int:
    scope = load_scope(sys.argv[1])
    full = sys.argv[2:] == ["full"]
    sys.stdout.write(snapshot(scope, full=full))
    return 0


if __name__ == "__main__":
    sys.exit(main())
