"""Shared fixtures. Qt tests run offscreen; nothing touches the real home folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# CI explores the same examples every run (a red build must be reproducible); local runs
# keep hypothesis's random exploration, which is how new counter-examples are found.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep platform dirs, policy lookups and ALAYA_* variables away from the real machine."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "etc-xdg"))
    for key in list(os.environ):
        if key.startswith("ALAYA_"):
            monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def _recursion_limit_restored() -> Iterator[None]:
    """A test (or a library it drives) that raises the recursion limit and leaves it raised
    would let later deep recursion in C code overflow the stack and kill the whole run."""
    limit = sys.getrecursionlimit()
    yield
    sys.setrecursionlimit(limit)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator["Workspace"]:  # noqa: F821
    from app.store.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    yield ws
    ws.close()
