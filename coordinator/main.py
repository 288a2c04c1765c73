"""The FastAPI application: `create_app(config)` builds one, with its database migrated."""

from __future__ import annotations

from fastapi import FastAPI

from app.sync.wire import API_PREFIX
from coordinator import errors
from coordinator.accounts.router import router as accounts_router
from coordinator.assets.router import router as assets_router
from coordinator.auth.router import router as auth_router
from coordinator.chain.router import router as chain_router
from coordinator.chain.service import ChainService
from coordinator.config import CoordinatorConfig
from coordinator.context import Ctx
from coordinator.db import CoordinatorDB
from coordinator.ledger.router import router as ledger_router
from coordinator.limits import BodyLimit
from coordinator.openapi_links import document as document_links
from coordinator.quality.worker import QualityWorker
from coordinator.requests.router import router as requests_router
from coordinator.reviews.router import router as reviews_router
from coordinator.submissions.router import router as submissions_router
from coordinator.tasks.router import router as leases_router

UPLOAD_PREFIX = f"{API_PREFIX}/uploads/"
ROUTERS = [auth_router, accounts_router, ledger_router, leases_router, submissions_router, requests_router, assets_router,
           reviews_router, chain_router]


def create_app(config: CoordinatorConfig, *, migrate: bool = True) -> FastAPI:
    db = CoordinatorDB(config.db_url)
    if migrate:
        db.migrate()
    app = FastAPI(title="Alaya coordinator", version="1",
                  description="Sign-in by wallet, data requests, routed leases, idempotent submissions, "
                              "consensus, review and credits for the Alaya data network.")
    app.state.ctx = ctx = Ctx(config, db, ChainService(config.chain) if config.chain else None)
    app.state.quality = quality = QualityWorker(ctx)
    errors.install(app)
    document_links(app)  # after errors.install: it wraps the error declarations
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes, chunk_max=config.upload_chunk_max,
                       upload_prefix=UPLOAD_PREFIX)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    if config.quality_worker:
        app.router.add_event_handler("startup", quality.start)  # its first round drains what a crash left
    app.router.add_event_handler("shutdown", quality.stop)  # before the engine goes
    app.router.add_event_handler("shutdown", db.close)
    return app
