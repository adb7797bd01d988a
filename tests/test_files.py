"""write_atomic: the old file or the new one, never a part, and no temporary left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harvester import files
from harvester.files import write_atomic


def test_text_is_written_as_utf8_and_parents_are_made(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.json"
    write_atomic(target, "é\n")
    assert target.read_bytes() == "é\n".encode()
    assert os.listdir(target.parent) == ["out.json"]


def test_bytes_replace_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old and longer")
    write_atomic(target, b"\x00new")
    assert target.read_bytes() == b"\x00new"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_mode_is_the_files_permissions_less_the_umask(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "shared", "x")
        write_atomic(tmp_path / "private", "x", mode=0o600)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str,
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")

    def boom(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, failing, boom)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.html"]


def test_text_that_cannot_be_encoded_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        write_atomic(tmp_path / "out.txt", "lone \udc80 surrogate")
    assert os.listdir(tmp_path) == []
