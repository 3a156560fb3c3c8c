"""Which files PATHS name, and the flat names they get on the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidrop.client.errors import LocalFileError
from omnidrop.client.files import LocalFile, expand_paths, read_range, server_names


def test_directories_globs_and_files_expand_once_in_order(tmp_path):
    (tmp_path / "d" / "floor1").mkdir(parents=True)
    for rel in ("d/b.jpg", "d/floor1/a.jpg", "d/.hidden", "x.e57", "y.e57"):
        (tmp_path / rel).write_bytes(b"1")
    found = expand_paths([str(tmp_path / "d"), str(tmp_path / "*.e57"), str(tmp_path / "x.e57")])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["d/b.jpg", "d/floor1/a.jpg", "x.e57", "y.e57"]
    names = server_names(found, [str(tmp_path / "d")])
    assert sorted(names.values()) == ["b.jpg", "floor1_a.jpg", "x.e57", "y.e57"]


def test_clashing_names_get_a_suffix(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [tmp_path / "a" / "p.jpg", tmp_path / "b" / "p.jpg"]
    for p in paths:
        p.write_bytes(b"1")
    assert list(server_names(paths, []).values()) == ["p.jpg", "p-2.jpg"]


def test_missing_paths_and_empty_globs_are_refused(tmp_path):
    with pytest.raises(LocalFileError, match="no such file"):
        expand_paths([str(tmp_path / "nope.jpg")])
    with pytest.raises(LocalFileError, match="no file matches"):
        expand_paths([str(tmp_path / "*.nothing")])
    with pytest.raises(LocalFileError, match="not a regular file"):
        LocalFile.at(Path("/dev/null"))


def test_ranges_are_read_in_blocks(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(range(200)))
    seen = []
    blocks = list(read_range(p, 10, 100, seen.append, block=30))
    assert b"".join(blocks) == bytes(range(10, 110)) and seen == [30, 30, 30, 10]
