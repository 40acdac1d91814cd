"""A refresh dumps links, addresses and routes only after the kernel announced a change (issue 13).

Between two announcements on the link, IPv4 address and IPv4 route groups
only the counters move, so `NetlinkReader` keeps its last dumps and reads
the counters from `/proc/net/dev`. These prove: one dump on a quiet box,
counters fresh at every refresh, a dump again after a ring, an overflow, a
new set of names or a link gone from `/proc/net/dev`, and a dump at every
refresh when no bell can be opened. `/proc/net/dev` was recorded in the UML
lab with both tunnels up (tests/data/status/proc_net_dev.txt).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from status_fixtures import DATA

from wizard.system import netlink_status

PROC = (DATA / "proc_net_dev.txt").read_text()


def test_counters_are_read_from_proc_net_dev() -> None:
    counters = netlink_status.counters_from_proc(PROC)
    assert set(counters) == {"lo", "ip_vti0", "eth0", "lan0", "Tunnel1", "Tunnel2"}
    assert counters["Tunnel1"] == (55944, 666, 0, 55944, 666, 0)
    assert counters["eth0"] == (248660, 1582, 0, 249040, 1584, 0)


def test_odd_lines_in_proc_net_dev_are_skipped() -> None:
    text = PROC + "garbage without a colon\n  short: 1 2 3\n  bad: x 1 2 3 4 5 6 7 8 9 10 11\n"
    assert set(netlink_status.counters_from_proc(text)) == set(
        netlink_status.counters_from_proc(PROC))


class Bell:
    """A change bell the test rings by hand."""

    def __init__(self) -> None:
        self.pending = False
        self.closed = False

    def rang(self) -> bool:
        heard, self.pending = self.pending, False
        return heard

    def close(self) -> None:
        self.closed = True


class Kernel:
    """One VTI, its counters in a `/proc/net/dev` text, dumps counted; pyroute2-shaped dicts."""

    def __init__(self) -> None:
        self.mtu = 1419
        self.rx = 100
        self.dumps = 0
        self.listed = True

    def opener(self) -> Kernel.Socket:
        return Kernel.Socket(self)

    def proc(self) -> str:
        line = f"Tunnel1: {self.rx} 2 0 0 0 0 0 0 {self.rx + 1} 3 0 0 0 0 0 0\n"
        return "header\nheader\n" + (line if self.listed else "")

    class Socket:
        def __init__(self, kernel: Kernel) -> None:
            self.kernel = kernel

        def get_links(self) -> list[dict[str, Any]]:
            self.kernel.dumps += 1
            return [{"index": 5, "IFLA_IFNAME": "Tunnel1", "flags": 1, "IFLA_MTU": self.kernel.mtu,
                     "IFLA_STATS64": {"rx_bytes": self.kernel.rx, "rx_packets": 2,
                                      "tx_bytes": self.kernel.rx + 1, "tx_packets": 3}}]

        def get_addr(self, family: int) -> list[dict[str, Any]]:
            return [{"index": 5, "prefixlen": 30, "IFA_LOCAL": "169.254.23.6",
                     "IFA_ADDRESS": "169.254.23.5"}]

        def get_routes(self, family: int, table: int) -> list[dict[str, Any]]:
            return [{"RTA_DST": "203.0.113.0", "dst_len": 24, "RTA_OIF": 5,
                     "RTA_PRIORITY": 100, "table": 254}]

        def close(self) -> None:
            pass


def _reader(kernel: Kernel, bell: Bell) -> netlink_status.NetlinkReader:
    return netlink_status.NetlinkReader(opener=kernel.opener, bell=lambda: bell,
                                        counters=kernel.proc)


def test_a_quiet_box_is_dumped_once_and_its_counters_read_every_time() -> None:
    kernel, bell = Kernel(), Bell()
    reader = _reader(kernel, bell)
    for rx in (100, 150, 900):
        kernel.rx = rx
        links, routes = reader.read(["Tunnel1"])
        link = links["Tunnel1"]
        assert (link.rx_bytes, link.tx_bytes, link.rx_packets, link.tx_packets) == (
            rx, rx + 1, 2, 3)
        assert link.mtu == 1419 and link.addresses == (("169.254.23.6/30", "169.254.23.5/30"),)
        assert [(r.dst, r.dev, r.metric) for r in routes] == [("203.0.113.0/24", "Tunnel1", 100)]
    assert kernel.dumps == 1 and reader.dumps == 1
    reader.close()
    assert bell.closed


def test_a_ring_dumps_again_at_the_next_refresh() -> None:
    kernel, bell = Kernel(), Bell()
    reader = _reader(kernel, bell)
    reader.read(["Tunnel1"])
    kernel.mtu, bell.pending = 1400, True  # `ip link set Tunnel1 mtu 1400`, announced
    assert reader.read(["Tunnel1"])[0]["Tunnel1"].mtu == 1400
    assert reader.read(["Tunnel1"])[0]["Tunnel1"].mtu == 1400
    assert kernel.dumps == 2
    reader.close()


def test_other_names_or_a_link_gone_from_proc_dump_again() -> None:
    kernel, bell = Kernel(), Bell()
    reader = _reader(kernel, bell)
    reader.read(["Tunnel1"])
    reader.read(["Tunnel1", "Tunnel2"])
    assert kernel.dumps == 2
    kernel.listed = False
    reader.read(["Tunnel1", "Tunnel2"])
    assert kernel.dumps == 3
    reader.close()


def test_without_a_bell_every_refresh_dumps() -> None:
    kernel = Kernel()

    def refused() -> Bell:
        raise PermissionError(1, "Operation not permitted")

    reader = netlink_status.NetlinkReader(opener=kernel.opener, bell=refused,
                                          counters=kernel.proc)
    for _ in range(3):
        assert reader.read(["Tunnel1"])[0]["Tunnel1"].rx_bytes == 100
    assert kernel.dumps == 3
    reader.close()


def test_an_unreadable_proc_net_dev_dumps() -> None:
    kernel, bell = Kernel(), Bell()

    def unreadable() -> str:
        raise FileNotFoundError(2, "No such file", "/proc/net/dev")

    reader = netlink_status.NetlinkReader(opener=kernel.opener, bell=lambda: bell,
                                          counters=unreadable)
    reader.read(["Tunnel1"])
    reader.read(["Tunnel1"])
    assert kernel.dumps == 2
    reader.close()


class FakeSocket:
    """What `ChangeBell` reads: queued announcements, then EAGAIN; an overflow as ENOBUFS."""

    def __init__(self, *queued: bytes | OSError) -> None:
        self.queued = list(queued)

    def recv(self, size: int) -> bytes:
        if not self.queued:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        item = self.queued.pop(0)
        if isinstance(item, OSError):
            raise item
        return item

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("queued", "rang"), [
    ((), False),
    ((b"\x10\x00\x00\x00",), True),
    ((b"a", b"b", b"c"), True),
    ((OSError(105, "No buffer space available"),), True),
])
def test_the_bell_rings_for_any_announcement_or_overflow(
    queued: tuple[bytes | OSError, ...], rang: bool
) -> None:
    bell = netlink_status.ChangeBell.__new__(netlink_status.ChangeBell)
    bell._sock = FakeSocket(*queued)  # type: ignore[assignment]
    assert bell.rang() is rang
    assert bell.rang() is False  # drained


def test_a_broken_bell_is_not_read_forever() -> None:
    bell = netlink_status.ChangeBell.__new__(netlink_status.ChangeBell)
    bell._sock = FakeSocket(OSError(9, "Bad file descriptor"))  # type: ignore[assignment]
    with pytest.raises(OSError):
        bell.rang()


def test_a_broken_bell_means_a_dump_and_a_new_bell() -> None:
    kernel = Kernel()
    made: list[Any] = []

    class Broken(Bell):
        def rang(self) -> bool:
            raise OSError(9, "Bad file descriptor")

    def factory() -> Bell:
        made.append(Broken() if not made else Bell())
        return made[-1]

    reader = netlink_status.NetlinkReader(opener=kernel.opener, bell=factory,
                                          counters=kernel.proc)
    reader.read(["Tunnel1"])  # the bell breaks: a dump, not kept, and the bell closed
    assert kernel.dumps == 1 and made[0].closed
    reader.read(["Tunnel1"])  # a new bell, opened before this dump, which is kept
    reader.read(["Tunnel1"])
    reader.read(["Tunnel1"])
    assert len(made) == 2 and kernel.dumps == 2
    reader.close()


def test_the_bell_hears_this_kernel() -> None:
    """A real bell, on a kernel change no one else makes: a loopback address it adds and removes.

    Skipped without the privilege; the change happens in a network namespace
    of this test's own, so the host's links are never touched.
    """
    import os
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare (a network namespace of its own)")
    script = (
        "import subprocess, sys\n"
        f"sys.path.insert(0, {str(DATA.parents[2])!r})\n"
        "from wizard.system.netlink_status import ChangeBell\n"
        "bell = ChangeBell()\n"
        "quiet = bell.rang()\n"
        "subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)\n"
        "print(quiet, bell.rang(), bell.rang())\n"
    )
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "False"]


def test_reads_from_several_threads_share_one_dump() -> None:
    kernel, bell = Kernel(), Bell()
    reader = _reader(kernel, bell)
    threads = [threading.Thread(target=reader.read, args=(["Tunnel1"],)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert kernel.dumps == 1
    reader.close()
