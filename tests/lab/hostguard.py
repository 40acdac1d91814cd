"""Evidence that a lab session left the host as it found it.

UML's root is the host's own filesystem, so a mistake in init.sh would let a
test rewrite the developer's /etc/ipsec.conf or add a VTI to the CI runner.
These read-only probes are taken before and after a session and compared.
Nothing here writes, loads a module or creates a netfilter table: the
iptables listing commands are avoided on purpose (the nft flavour may create
the table it lists).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WATCHED_FILES = (
    "/etc/ipsec.conf",
    "/etc/ipsec.secrets",
    "/etc/sysctl.conf",
    "/etc/strongswan.conf",
    "/etc/strongswan.d/charon.conf",
    "/etc/network/interfaces",
    "/etc/iptables.conf",
    "/etc/rc.local",
    "/etc/hostname",
    "/etc/alternatives/iptables",
    "/etc/alternatives/ip6tables",
    "/var/lib/dpkg/alternatives/iptables",
)
"""Host files the AWS document (and so the product and the lab) writes."""

PAIR_NETNS_PREFIX = "vpnw-frr-pair-"
"""tests/frr_pair.py's own namespaces (it removes them and checks), which may come and go
while a lab in the other xdist worker is being checked: not the lab's doing."""

_SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
_TUNNEL_LINK = re.compile(r"Tunnel.*")
_MANGLE_MARKS = re.compile(r"TCPMSS|MARK|maxseg size set|mark set")


def _file_state(path: str) -> str:
    """A file's content hash, a symlink's target, or "absent"."""
    p = Path(path)
    if p.is_symlink():
        return "-> " + os.readlink(p)
    try:
        return hashlib.sha256(p.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"
    except OSError as err:
        return f"unreadable: {err.strerror}"


def repo_files(root: Path = REPO) -> list[str]:
    """The repo's file list, less the caches tools write while tests run."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        rel = Path(dirpath).relative_to(root)
        found += [str(rel / f) for f in filenames]
    return sorted(found)


def mangle_rules() -> str:
    """The host's mangle table as text, read without creating anything.

    Legacy tables are listed only if the kernel already has them (listing
    loads no module then); nft's ruleset is read with `nft list ruleset`.
    """
    parts = []
    names = Path("/proc/net/ip_tables_names")
    if names.exists() and "mangle" in names.read_text().split():
        save = shutil.which("iptables-legacy-save")
        if save:
            out = subprocess.run([save, "-t", "mangle"], capture_output=True, text=True)
            parts.append(out.stdout)
    nft = shutil.which("nft")
    # Asking a kernel with loadable modules for its ruleset would load
    # nf_tables if it was not there: ask only when that cannot happen.
    loaded = Path("/sys/module/nf_tables").exists() or not Path("/proc/modules").exists()
    if nft and loaded:
        out = subprocess.run([nft, "list", "ruleset"], capture_output=True, text=True)
        parts.append(out.stdout)
    return "\n".join(parts)


def fingerprint(include_repo: bool = True) -> dict[str, object]:
    """Everything a lab session must not change on the host."""
    state: dict[str, object] = {path: _file_state(path) for path in WATCHED_FILES}
    state["links"] = sorted(os.listdir("/sys/class/net"))
    netns = Path("/run/netns")
    state["netns"] = sorted(n for n in os.listdir(netns) if not n.startswith(PAIR_NETNS_PREFIX)
                            ) if netns.is_dir() else []
    state["mangle"] = hashlib.sha256(mangle_rules().encode()).hexdigest()
    if include_repo:
        state["repo"] = repo_files()
    return state


def network_problems() -> list[str]:
    """What on the host looks like a tunnel the lab (or a test) made."""
    problems = [
        f"host has link {name}"
        for name in os.listdir("/sys/class/net")
        if _TUNNEL_LINK.fullmatch(name)
    ]
    problems += [
        f"host mangle table has: {line.strip()}"
        for line in mangle_rules().splitlines()
        if _MANGLE_MARKS.search(line)
    ]
    return problems
