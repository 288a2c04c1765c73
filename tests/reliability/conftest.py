"""Fixtures: one live coordinator per session with `FILES` uploaded and leased, and a fault proxy
in front of it per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.coordinator_site import FILES, Site, live_coordinator, publish
from tests.reliability.fault_proxy import FaultProxy


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, list[dict[str, Any]]]]:
    """The coordinator and the contributor's leased tasks, one per file of `FILES`, in order."""
    with live_coordinator(tmp_path_factory.mktemp("coordinator")) as running:
        yield running, publish(running, FILES)


@pytest.fixture
def proxy(site: tuple[Site, list[Any]]) -> Iterator[FaultProxy]:
    with FaultProxy(site[0].port, seed=11) as running:
        yield running
