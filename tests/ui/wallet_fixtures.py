"""Fixtures of the wallet's chain window tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.tasks import TaskRunner


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    """Real executors; the I/O pool has room for a tracked transaction and a page's reads. Torn down
    before the test's widgets (pytest-qt closes them later), waiting for the workers: none of them
    still posts to a window that is going away."""
    runner = TaskRunner(io_workers=2, cpu_workers=1)
    yield runner
    runner.shutdown(wait=True)
