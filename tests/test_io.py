"""Atomic writes leave the files a plain write would: same content, same permissions."""

import pytest

from facelib.core.io import write_text, write_with


def mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_written_files_get_the_permissions_of_a_plain_write(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = write_text(tmp_path / "out" / "written.txt", "x")
    assert written.read_text() == "x"
    assert mode(written) == mode(plain)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text(tmp_path / "keep.txt", "old")

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_with(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
