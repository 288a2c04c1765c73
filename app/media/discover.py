"""Find the files to import under a set of files and folders.

Order is stable and human: within a folder, files first, then subfolders, each sorted
naturally ("img2" before "img10"). Symbolic links are followed, but a folder or file
already seen (same device and inode) is not visited again, which ends link loops and
drops duplicates from overlapping roots. Hidden entries (a leading dot, or the hidden
attribute on Windows) are skipped below the roots; a root named explicitly is used.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from app.core.errors import NotFoundError

OnError = Callable[[Path, OSError], None]
_DIGITS = re.compile(r"(\d+)")
_HIDDEN_ATTRIBUTE = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0)


def discover_files(roots: Iterable[Path | str], *, include_hidden: bool = False,
                   extensions: Iterable[str] | None = None,
                   on_error: OnError | None = None) -> Iterator[Path]:
    """Yield every regular file under `roots`, once each, in a stable order.

    `extensions` (".jpg", "png", any case) keeps only files with those suffixes.
    A root that does not exist raises NotFoundError before anything is yielded; a folder
    that cannot be listed below a root goes to `on_error` and the walk continues.
    """
    roots = [Path(r) for r in roots]
    for root in roots:
        if not root.exists():
            raise NotFoundError(f"no such file or folder: {root}")
    wanted = _normalise(extensions)
    seen: set[tuple[int, int]] = set()
    report = on_error or (lambda _path, _exc: None)
    for root in roots:
        yield from _walk(root, include_hidden, wanted, seen, report)


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: frame2 < frame10."""
    return tuple(int(part) if part.isdigit() else part.casefold()
                 for part in _DIGITS.split(name))


def _normalise(extensions: Iterable[str] | None) -> frozenset[str] | None:
    if extensions is None:
        return None
    return frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)


def _walk(root: Path, include_hidden: bool, wanted: frozenset[str] | None,
          seen: set[tuple[int, int]], report: OnError) -> Iterator[Path]:
    try:
        st = root.stat()
    except OSError as exc:
        report(root, exc)
        return
    if stat.S_ISREG(st.st_mode):
        if _first_visit(st, seen) and _wanted(root, wanted):
            yield root
        return
    if not stat.S_ISDIR(st.st_mode) or not _first_visit(st, seen):
        return
    try:
        with os.scandir(root) as it:
            entries = [e for e in it if include_hidden or not _hidden(e)]
    except OSError as exc:
        report(root, exc)
        return
    files, folders = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()  # follows links; a broken link is neither
        except OSError as exc:
            report(Path(entry.path), exc)
            continue
        (folders if is_dir else files).append(entry)
    for entry in sorted(files, key=lambda e: natural_key(e.name)):
        yield from _walk(Path(entry.path), include_hidden, wanted, seen, report)
    for entry in sorted(folders, key=lambda e: natural_key(e.name)):
        yield from _walk(Path(entry.path), include_hidden, wanted, seen, report)


def _first_visit(st: os.stat_result, seen: set[tuple[int, int]]) -> bool:
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _wanted(path: Path, wanted: frozenset[str] | None) -> bool:
    return wanted is None or path.suffix.lower() in wanted


def _hidden(entry: os.DirEntry) -> bool:
    if entry.name.startswith("."):
        return True
    if not _HIDDEN_ATTRIBUTE:
        return False
    try:
        return bool(entry.stat(follow_symlinks=False).st_file_attributes & _HIDDEN_ATTRIBUTE)
    except (OSError, AttributeError):
        return False
