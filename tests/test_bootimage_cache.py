"""The booted lab's image cache never deletes an image a box still runs on.

Building a persona's image (its package list changed) used to delete the
persona's older images at once: a second checkout on the same machine, still
running boxes on the older image, lost it mid-run (seen in session 4). A box
now holds its image with a shared lock, and the clean-up skips what is held.
Only files in a temporary cache are made; nothing is booted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "lab"))

import bootimage


def test_an_older_image_in_use_is_kept_and_dropped_once_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bootimage, "CACHE", tmp_path)
    persona = bootimage.DEBIAN12
    new, in_use, unused = (tmp_path / f"{persona.name}-{key}.img" for key in ("c", "b", "a"))
    other = tmp_path / "debian13-a.img"
    for path in (new, in_use, unused, other):
        path.write_bytes(b"image")
    with bootimage.held(persona, in_use):
        assert bootimage.drop_older(persona, new) == [unused]
        assert in_use.exists() and new.exists() and other.exists()
    assert bootimage.drop_older(persona, new) == [in_use]
    assert new.exists() and other.exists()


def test_holding_an_image_that_is_gone_says_so(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootimage, "CACHE", tmp_path)
    with pytest.raises(FileNotFoundError), bootimage.held(bootimage.DEBIAN12,
                                                          tmp_path / "gone.img"):
        pass
