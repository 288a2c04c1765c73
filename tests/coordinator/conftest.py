"""Fixtures: a coordinator app on a fresh database (SQLite, and PostgreSQL where a server can be
started), a fake clock, signed-in wallets with the roles a test needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coordinator.config import CoordinatorConfig
from coordinator.db import CoordinatorDB
from coordinator.main import create_app
from coordinator.tables import metadata
from tests.coordinator import postgres
from tests.coordinator.live import bound_socket, serve_in_thread
from tests.coordinator.wallets import Wallet, sign_in

ADMIN = Wallet.numbered(0)


class FakeClock:
    """The service's clock, moved by the test (leases, nonces, sessions, energy)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _backends() -> list[Any]:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coordinator.sqlite3'}"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def db(db_url: str) -> Iterator[CoordinatorDB]:
    """The bare database with every table and no app: for service-level tests."""
    database = CoordinatorDB(db_url)
    metadata.create_all(database.engine)
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_config(db_url: str, tmp_path: Path, clock: FakeClock) -> Callable[..., CoordinatorConfig]:
    def make(**overrides: Any) -> CoordinatorConfig:
        # no background quality worker: a test judges queued items when it says so (`drain`)
        fields: dict[str, Any] = dict(db_url=db_url, storage_dir=tmp_path / "assets", domain="testserver",
                                      uri="http://testserver", chain_id=31337, clock=clock,
                                      admin_addresses=(ADMIN.address,), quality_worker=False)
        fields.update(overrides)
        return CoordinatorConfig(**fields)
    return make


@pytest.fixture
def client(make_config: Callable[..., CoordinatorConfig]) -> Iterator[TestClient]:
    with TestClient(create_app(make_config())) as test_client:
        yield test_client


def drain(client: Any) -> int:
    """Runs the app's quality worker over everything queued; how many items it judged."""
    return client.app.state.quality.drain()


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return sign_in(client, ADMIN)


@pytest.fixture
def signed_in(client: TestClient, admin: dict[str, str]) -> Callable[..., dict[str, str]]:
    """`signed_in(wallet, roles=[...], tier=..., languages=[...], skills=[...])` -> headers."""
    def make(wallet: Wallet, **account: Any) -> dict[str, str]:
        headers = sign_in(client, wallet)
        if account:
            response = client.patch(f"/v1/accounts/{wallet.address}", json=account, headers=admin)
            assert response.status_code == 200, response.text
        return headers
    return make


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """ALAYA_TEST_POSTGRES_URL's server, else a throwaway cluster for the session; without
    PostgreSQL binaries the postgres-marked tests skip (fail when ALAYA_REQUIRE_POSTGRES=1, as in CI)."""
    try:
        server = postgres.start()
    except postgres.PostgresUnavailable as exc:
        if postgres.REQUIRED:
            pytest.fail(f"{exc} ({postgres.REQUIRE_ENV}=1: these tests must run on PostgreSQL here)")
        pytest.skip(str(exc))
    yield server
    server.close()


@pytest.fixture
def postgres_database_url(postgres_server: postgres.PostgresServer) -> Iterator[str]:
    """A fresh database for one test: the schema at head, no rows; dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def live_server(make_config: Callable[..., CoordinatorConfig]) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1:<free port> serving the app (either backend), with its quality
    worker running in the background as in production; yields its base URL."""
    with closing(bound_socket()) as sock:
        where = "127.0.0.1:%d" % sock.getsockname()[1]
        app = create_app(make_config(domain=where, uri=f"http://{where}", quality_worker=True))
        with serve_in_thread(app, sock) as url:
            yield url
