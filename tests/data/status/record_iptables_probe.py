"""Record the kernel's answers in iptables_probe.json (tests/test_status_mangle_watch.py).

Run as root in a network namespace of its own, so the tables it writes are
its own and vanish with it:

    unshare -n .venv/bin/python tests/data/status/record_iptables_probe.py \
        > tests/data/status/iptables_probe.json

legacy: the mangle table (`IPT_SO_GET_INFO` after its name, and
`IPT_SO_GET_ENTRIES`) with two rules; again after pings through one of them
(its counters moved); after `-R` to another mark (same size); after `-D`.
nft: the answers to `NFT_MSG_GETGEN` before and after a rule, and the
kernel's error answer to an unknown nftables message.
"""

from __future__ import annotations

import ctypes
import json
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from wizard.system import iptables_status as s


def raw_legacy() -> dict[str, str]:
    table = s.LegacyTable()
    table.token()  # opens the socket
    info = s._GetInfo(name=b"mangle")
    table._getsockopt(s.IPT_SO_GET_INFO, info, ctypes.sizeof(info))
    buf = ctypes.create_string_buffer(ctypes.sizeof(s._GetEntries) + info.size)
    head = s._GetEntries.from_buffer(buf)
    head.name, head.size = b"mangle", info.size
    table._getsockopt(s.IPT_SO_GET_ENTRIES, buf, len(buf))
    start = ctypes.sizeof(s._GetEntries)
    table.close()
    return {"info": bytes(info)[s._GetInfo.valid_hooks.offset:].hex(),
            "entries": buf.raw[start:start + info.size].hex()}


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def main() -> None:
    legacy = ("iptables-legacy", "-t", "mangle")
    out: dict[str, dict[str, object]] = {"legacy": {}, "nft": {}}
    run("ip", "link", "set", "lo", "up")
    run(*legacy, "-A", "INPUT", "-s", "198.51.100.1", "-d", "198.51.100.10", "-p", "esp",
        "-j", "MARK", "--set-xmark", "100")
    run(*legacy, "-A", "OUTPUT", "-p", "icmp", "-j", "MARK", "--set-xmark", "7")
    out["legacy"]["rules"] = raw_legacy()
    run("ping", "-c", "3", "-i", "0.2", "127.0.0.1")
    out["legacy"]["rules_counted"] = raw_legacy()
    run(*legacy, "-R", "INPUT", "1", "-s", "198.51.100.1", "-d", "198.51.100.10", "-p", "esp",
        "-j", "MARK", "--set-xmark", "200")
    out["legacy"]["mark_changed"] = raw_legacy()
    run(*legacy, "-D", "INPUT", "1")
    out["legacy"]["rule_deleted"] = raw_legacy()

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, s.NETLINK_NETFILTER)
    sock.send(s.getgen_request(1))
    out["nft"]["reply_seq1"] = sock.recv(8192).hex()
    run("iptables-nft", "-t", "mangle", "-A", "INPUT", "-p", "esp", "-j", "MARK",
        "--set-xmark", "100")
    sock.send(s.getgen_request(2))
    out["nft"]["reply_seq2_after_a_rule"] = sock.recv(8192).hex()
    unknown = bytearray(s.getgen_request(3))
    unknown[4:6] = ((s.NFNL_SUBSYS_NFTABLES << 8) | 99).to_bytes(2, sys.byteorder)
    sock.send(bytes(unknown))
    out["nft"]["error_reply_seq3"] = sock.recv(8192).hex()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
