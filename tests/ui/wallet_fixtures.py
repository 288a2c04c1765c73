"""Fixtures of the wallet's chain window tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.tasks import TaskRunner


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    """Real executors; the I/O pool has room for a tracked transaction and a page's reads."""
    runner = TaskRunner(io_workers=2, cpu_workers=1)
    yield runner
    runner.shutdown(wait=False)
