"""Helpers for the apply tests: a target root with an operator's own files, and snapshots.

The root holds what a real box would: a sysctl.conf, an ipsec.conf with an
operator's conn and `uniqueids=yes`, an ipsec.secrets with their key, a
charon.conf - so every test also proves the operator's lines survive. The
kernel side is the simulated one `System.real` uses under a non-/ root.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from seed_setup import SEED_PSKS

from wizard.system.paths import Root
from wizard.system.simulated import SimState

REPO = Path(__file__).resolve().parent.parent

OPERATOR_FILES: dict[str, tuple[str, int]] = {
    "etc/sysctl.conf": ("# operator's sysctl.conf\nnet.ipv4.ip_forward = 0\nvm.swappiness=10\n",
                        0o644),
    "etc/ipsec.conf": (
        "# operator's ipsec.conf\nconfig setup\n\tuniqueids=yes\n\tcharondebug=\"ike 1\"\n\n"
        "conn office\n\tright=192.0.2.77\n\tmark=5\n\tauto=add\n",
        0o644,
    ),
    "etc/ipsec.secrets": ('192.0.2.1 192.0.2.77 : PSK "operatorsOwnKey1"\n', 0o600),
    "etc/strongswan.d/charon.conf": ("charon {\n    # install_routes = yes\n    threads = 16\n}\n",
                                     0o644),
}

#: What the journal and the simulated kernel keep: compared separately, never as files.
BOOKKEEPING = ("var/lib/vpn-wizard", "run/vpn-wizard-sim")


def seeded_root(base: Path) -> Root:
    """A root with the operator's files (and no wizard trace yet)."""
    for rel, (text, mode) in OPERATOR_FILES.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    return Root(base)


def tree(base: Path, *, all_files: bool = False) -> dict[str, Any]:
    """Every file (bytes, mode) and directory under `base`; bookkeeping left out unless asked."""
    out: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        rel_dir = os.path.relpath(dirpath, base)
        if not all_files and any(
            rel_dir == b or rel_dir.startswith(b + "/") for b in BOOKKEEPING
        ):
            continue
        for name in dirnames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if all_files or not any(rel == b or rel.startswith(b + "/") for b in BOOKKEEPING):
                out[rel + "/"] = "dir"
        for name in filenames:
            path = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            out[rel] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    # Parents of bookkeeping dirs ("var/", "var/lib/", "run/") appear once anything is journaled.
    if not all_files:
        for b in BOOKKEEPING:
            parts = b.split("/")
            for i in range(1, len(parts)):
                out.pop("/".join(parts[:i]) + "/", None)
    return out


def kernel(root: Root) -> dict[str, Any]:
    """The simulated kernel's state (links, routes, rules, sysctls, daemons)."""
    return SimState(root, writable=False).load()


def set_kernel(root: Root, **changes: Any) -> None:
    """Start the simulated kernel from the default state with some parts replaced."""
    state = SimState(root)
    current = state.load()
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key].update(value)
        else:
            current[key] = value
    state.save(current)


def answers_text(mode: str = "manual", **choices: Any) -> str:
    """An answers file for the seed's tunnels (with keys), in the lab's address ranges."""
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in choices.items())
    return (
        "[choices]\n"
        f'mode = "{mode}"\n'
        'physical_interface = "eth0"\n'
        'vpc_cidrs = ["203.0.113.0/24"]\n'
        f"{extra}\n"
        "[[tunnels]]\n"
        'name = "Tunnel1"\nmark = 100\n'
        'customer_outside_ip = "198.51.100.10"\naws_outside_ip = "198.51.100.1"\n'
        'customer_inside_cidr = "169.254.23.6/30"\naws_inside_cidr = "169.254.23.5/30"\n'
        f'psk = "{SEED_PSKS[0]}"\n\n'
        "[[tunnels]]\n"
        'name = "Tunnel2"\nmark = 200\n'
        'customer_outside_ip = "198.51.100.10"\naws_outside_ip = "198.51.100.2"\n'
        'customer_inside_cidr = "169.254.22.74/30"\naws_inside_cidr = "169.254.22.73/30"\n'
        f'psk = "{SEED_PSKS[1]}"\n'
    )


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60.0,
        stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    """Run `vpn-wizard ARGS` in a fresh interpreter, as an operator would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args], capture_output=True, text=True,
        timeout=timeout, env=full_env, stdin=stdin, cwd=REPO, check=False,
    )
