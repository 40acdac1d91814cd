"""Atomic file writes: the right mode from the first byte, the old file intact on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wizard.system import files as files_mod
from wizard.system.files import Files, RecordingFiles, atomic_write
from wizard.system.paths import Root


def test_new_file_is_born_with_its_final_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, bytes]] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        st = os.stat(src)
        seen.append((stat.S_IMODE(st.st_mode), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    old = os.umask(0o000)  # a permissive umask must not widen the secrets file
    try:
        atomic_write(tmp_path / "ipsec.secrets", b"x : PSK \"k\"\n", 0o600)
    finally:
        os.umask(old)
    assert seen == [(0o600, b"x : PSK \"k\"\n")]
    assert stat.S_IMODE((tmp_path / "ipsec.secrets").stat().st_mode) == 0o600


def test_restrictive_umask_does_not_narrow_a_shared_file(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        atomic_write(tmp_path / "sysctl.conf", b"a=1\n", 0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "sysctl.conf").stat().st_mode) == 0o644


def test_failure_mid_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ipsec.conf"
    target.write_bytes(b"old\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic_write(target, b"new\n", 0o644)
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ipsec.conf"]


def test_directory_is_fsynced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    real_replace, real_fsync_dir = os.replace, files_mod.fsync_dir
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b)))
    monkeypatch.setattr(files_mod, "fsync_dir",
                        lambda p: (order.append(f"fsync {p}"), real_fsync_dir(p)))
    atomic_write(tmp_path / "f", b"1", 0o644)
    assert order == ["replace", f"fsync {tmp_path}"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_owner_is_kept_when_rewriting(tmp_path: Path) -> None:
    target = tmp_path / "rc.local"
    target.write_bytes(b"#!/bin/sh\n")
    os.chown(target, 4242, 4343)
    files = Files(Root(tmp_path), [])
    state = files.state("/rc.local")
    files.write("/rc.local", b"#!/bin/sh\nexit 0\n", 0o755, state.uid, state.gid)
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)
    assert stat.S_IMODE(st.st_mode) == 0o755


def test_write_creates_missing_dirs_and_reports_them(tmp_path: Path) -> None:
    files = Files(Root(tmp_path), [])
    assert files.missing_dirs("/etc/vpn-wizard/iptables.rules") == ["/etc", "/etc/vpn-wizard"]
    files.write("/etc/vpn-wizard/iptables.rules", b"*mangle\n", 0o644)
    assert (tmp_path / "etc/vpn-wizard/iptables.rules").read_bytes() == b"*mangle\n"
    files.remove("/etc/vpn-wizard/iptables.rules")
    files.remove_empty_dirs(["/etc", "/etc/vpn-wizard"])
    assert list(tmp_path.iterdir()) == []


def test_recording_files_write_nothing(tmp_path: Path) -> None:
    (tmp_path / "keep").write_bytes(b"k")
    log: list[str] = []
    files = RecordingFiles(Root(tmp_path), log)
    files.write("/etc/ipsec.secrets", b"secret", 0o600)
    files.remove("/keep")
    files.remove_empty_dirs(["/etc"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
    assert log == ["write /etc/ipsec.secrets (0600)", "rm /keep", "rmdir /etc"]
