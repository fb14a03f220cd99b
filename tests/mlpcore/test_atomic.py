import os

import pytest

from mlpcore.atomic import check_writable, replace_file


def test_replace_file_writes_text_and_bytes_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "a.txt"
    replace_file(p, "old")
    replace_file(p, b"new")
    assert p.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    replace_file(p, "old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        replace_file(p, "new")
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_check_writable_leaves_a_writable_folder_as_it_was_and_raises_what_a_write_would(tmp_path, monkeypatch):
    (tmp_path / "kept").write_text("mine")
    check_writable(tmp_path)
    assert os.listdir(tmp_path) == ["kept"]
    with pytest.raises(FileNotFoundError):
        check_writable(tmp_path / "missing")
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(30, "Read-only file system", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OSError, match="Read-only file system"):
        check_writable(tmp_path)
    assert os.listdir(tmp_path) == ["kept"]
