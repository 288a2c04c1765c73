"""Writing files so that a crash leaves the old file or the new one, never half of it.

`atomic_file` writes beside the target (same folder, so the rename cannot cross file
systems), flushes and fsyncs, renames over the target, and fsyncs the folder so the rename
itself survives a power cut. `mkstemp` creates files readable by the owner only: right for
settings (they can hold proxy credentials: `private=True`), wrong for an exported dataset a
team shares, which gets the usual 0644.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_file(path: Path, *, binary: bool = False, private: bool = False,
                durable: bool = True) -> Iterator[IO[Any]]:
    """A handle to write the new content of `path` (UTF-8 text with "\\n" lines, or bytes).

    `durable=False` skips the fsyncs: still all-or-nothing on a crash of the process, but a
    power cut may lose the file. For re-runnable bulk output (an export of 10,000 label files,
    where fsyncs would dominate the time)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if not private:
            os.fchmod(fd, 0o644)
        mode = "wb" if binary else "w"
        encoding = None if binary else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, newline=None if binary else "\n") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_folder(path.parent)


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    with atomic_file(path, private=private) as handle:
        handle.write(text)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
