import os

import pytest

from mlpcore.atomic import replace_file


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
