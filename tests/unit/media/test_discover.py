"""File discovery: order, hidden entries, links, filters."""

from __future__ import annotations

import os

import pytest

from app.core.errors import NotFoundError
from app.media.discover import discover_files, natural_key


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def _names(paths, root):
    return [p.relative_to(root).as_posix() for p in paths]


def test_nested_folders_in_natural_order_files_first(tmp_path):
    for name in ("b/2.jpg", "b/10.jpg", "a/x.png", "img10.jpg", "img2.jpg", "a/deep/er/z.wav"):
        _touch(tmp_path / name)
    assert _names(discover_files([tmp_path]), tmp_path) == [
        "img2.jpg", "img10.jpg", "a/x.png", "a/deep/er/z.wav", "b/2.jpg", "b/10.jpg"]


def test_hidden_entries_are_skipped_unless_asked(tmp_path):
    for name in (".DS_Store", ".git/objects/ab", "shown.jpg", "sub/.hidden.jpg", "sub/ok.jpg"):
        _touch(tmp_path / name)
    assert _names(discover_files([tmp_path]), tmp_path) == ["shown.jpg", "sub/ok.jpg"]
    assert len(list(discover_files([tmp_path], include_hidden=True))) == 5
    hidden_root = _touch(tmp_path / ".named.jpg")
    assert list(discover_files([hidden_root])) == [hidden_root]  # named explicitly: used


def test_symlink_loops_and_overlapping_roots_yield_each_file_once(tmp_path):
    _touch(tmp_path / "a/one.jpg")
    os.symlink(tmp_path, tmp_path / "a/loop")  # a -> root -> a -> ...
    os.symlink(tmp_path / "a/one.jpg", tmp_path / "alias.jpg")
    os.symlink(tmp_path / "missing.jpg", tmp_path / "broken.jpg")
    errors = []
    found = list(discover_files([tmp_path, tmp_path / "a"], on_error=lambda p, e: errors.append(p.name)))
    assert len(found) == 1 and found[0].name in ("one.jpg", "alias.jpg")
    assert errors == ["broken.jpg"]


def test_extension_filter_and_missing_root(tmp_path):
    for name in ("a.JPG", "b.png", "c.txt"):
        _touch(tmp_path / name)
    assert _names(discover_files([tmp_path], extensions=["jpg", ".PNG"]), tmp_path) == ["a.JPG", "b.png"]
    with pytest.raises(NotFoundError, match="no such file or folder"):
        list(discover_files([tmp_path / "nope"]))


def test_unreadable_folder_is_reported_and_skipped(tmp_path, monkeypatch):
    _touch(tmp_path / "locked/a.jpg")
    _touch(tmp_path / "open/b.jpg")
    real_scandir = os.scandir

    def scandir(path):  # chmod 0 does not stop root, so refuse the way the OS would
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors = []
    found = list(discover_files([tmp_path], on_error=lambda p, e: errors.append(p.name)))
    assert _names(found, tmp_path) == ["open/b.jpg"] and errors == ["locked"]


def test_natural_key():
    assert sorted(["f10", "F2", "f1", "e"], key=natural_key) == ["e", "f1", "F2", "f10"]
