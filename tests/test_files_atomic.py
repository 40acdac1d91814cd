"""Atomic file writes: the right mode from the first byte, the old file intact on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wizard.system import crash
from wizard.system import files as files_mod
from wizard.system.files import Files, RecordingFiles, atomic_write, kept_mode
from wizard.system.paths import Root, TargetFileError


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


# --------------------------------------------------------------------------- links and special files


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_bytes(b"someone else's file\n")
    victim.chmod(0o644)
    return victim


def test_a_link_at_the_target_is_neither_read_nor_written_through(tmp_path: Path) -> None:
    root_dir = tmp_path / "root"
    (root_dir / "etc").mkdir(parents=True)
    victim = _victim(tmp_path)
    (root_dir / "etc/ipsec.secrets").symlink_to(victim)
    files = Files(Root(root_dir), [])
    for attempt in (lambda: files.state("/etc/ipsec.secrets"),
                    lambda: files.write("/etc/ipsec.secrets", b'x : PSK "k"\n', 0o600),
                    lambda: files.remove("/etc/ipsec.secrets"),
                    lambda: Root(root_dir).read("/etc/ipsec.secrets")):
        with pytest.raises(TargetFileError) as refused:
            attempt()
        assert refused.value.path == "/etc/ipsec.secrets"
        assert "symbolic link" in str(refused.value) and str(victim) in str(refused.value)
    assert victim.read_bytes() == b"someone else's file\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert (root_dir / "etc/ipsec.secrets").is_symlink()
    assert sorted(p.name for p in (root_dir / "etc").iterdir()) == ["ipsec.secrets"]


def test_a_link_in_place_of_a_parent_directory_is_refused(tmp_path: Path) -> None:
    root_dir = tmp_path / "root"
    root_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root_dir / "etc").symlink_to(elsewhere)
    files = Files(Root(root_dir), [])
    with pytest.raises(TargetFileError) as refused:
        files.write("/etc/ipsec.secrets", b"k\n", 0o600)
    assert refused.value.path == "/etc"
    with pytest.raises(TargetFileError):
        files.missing_dirs("/etc/vpn-wizard/iptables.rules")
    with pytest.raises(TargetFileError):
        Root(root_dir).read("/etc/sysctl.conf")
    assert list(elsewhere.iterdir()) == []


def test_a_link_escaping_the_root_is_a_clear_refusal_not_a_valueerror(tmp_path: Path) -> None:
    root_dir = tmp_path / "root"
    (root_dir / "etc").mkdir(parents=True)
    (root_dir / "etc/sysctl.conf").symlink_to("../../../../../../etc/passwd")
    with pytest.raises(TargetFileError) as refused:
        Root(root_dir).read("/etc/sysctl.conf")
    assert "/etc/sysctl.conf is a symbolic link" in str(refused.value)


@pytest.mark.parametrize("kind", ["fifo", "dir"])
def test_a_fifo_or_directory_at_the_target_is_refused_without_hanging(
    tmp_path: Path, kind: str
) -> None:
    (tmp_path / "etc").mkdir()
    target = tmp_path / "etc/sysctl.conf"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    files = Files(Root(tmp_path), [])
    with pytest.raises(TargetFileError) as refused:
        files.state("/etc/sysctl.conf")
    assert ("FIFO" if kind == "fifo" else "directory") in str(refused.value)
    with pytest.raises(TargetFileError):
        files.write("/etc/sysctl.conf", b"a=1\n", 0o644)
    assert (stat.S_ISFIFO if kind == "fifo" else stat.S_ISDIR)(target.lstat().st_mode)


def test_a_link_planted_between_reading_and_writing_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "root/etc").mkdir(parents=True)
    victim = _victim(tmp_path)
    target = tmp_path / "root/etc/ipsec.secrets"
    target.write_bytes(b"old\n")
    files = Files(Root(tmp_path / "root"), [])
    assert files.state("/etc/ipsec.secrets").data == b"old\n"
    real_open = os.open

    def plant_then_open(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None
                        ) -> int:
        if str(path).endswith(files_mod.TMP_SUFFIX) and not target.is_symlink():
            target.unlink()
            target.symlink_to(victim)  # the attacker wins the race to the name
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", plant_then_open)
    with pytest.raises(TargetFileError):
        files.write("/etc/ipsec.secrets", b'x : PSK "k"\n', 0o600)
    assert victim.read_bytes() == b"someone else's file\n"
    assert sorted(p.name for p in (tmp_path / "root/etc").iterdir()) == ["ipsec.secrets"]


def test_target_paths_are_lexical_and_never_climb() -> None:
    root = Root("/some/root")
    assert root.path("/etc/ipsec.conf") == Path("/some/root/etc/ipsec.conf")
    for bad in ("etc/x", "/etc/../x", "/etc/./x", "/etc//x"):
        with pytest.raises(ValueError):
            root.path(bad)


# --------------------------------------------------------------------------- modes, kills


@pytest.mark.parametrize(
    ("existing", "planned", "kept"),
    [(0o640, 0o644, 0o640), (0o700, 0o755, 0o700), (0o644, 0o600, 0o600),
     (0o640, 0o600, 0o600), (0o400, 0o600, 0o400), (0o755, 0o744, 0o755)],
)
def test_existing_files_keep_their_mode_and_secrets_only_tighten(
    existing: int, planned: int, kept: int
) -> None:
    assert kept_mode(existing, planned) == kept


def test_a_kill_between_write_and_rename_leaves_a_temp_file_remove_tmp_clears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    files = Files(Root(tmp_path), [])
    crash.reset_fs_ops()
    # op 0 creates the temporary file, op 1 writes it, op 2 renames it.
    monkeypatch.setenv(crash.FS_KILL_AT_ENV, "raise:2")
    with pytest.raises(crash.FsCrash, match="rename"):
        files.write("/etc/ipsec.secrets", b'x : PSK "k"\n', 0o600)
    monkeypatch.delenv(crash.FS_KILL_AT_ENV)
    tmp = tmp_path / "etc/.ipsec.secrets.vpn-wizard-tmp"
    assert tmp.read_bytes() == b'x : PSK "k"\n' and stat.S_IMODE(tmp.stat().st_mode) == 0o600
    assert not (tmp_path / "etc/ipsec.secrets").exists()
    files.remove_tmp("/etc/ipsec.secrets")
    assert list((tmp_path / "etc").iterdir()) == []
