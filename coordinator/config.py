"""The coordinator's settings: one typed object, built from the command line or by tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from coordinator.chain.config import ChainConfig


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class RateLimit(BaseModel):
    """A token bucket: `burst` requests at once, refilled at `per_second`."""

    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class CoordinatorConfig(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    db_url: str  # sqlite:///path or postgresql+psycopg://...
    storage_dir: Path  # uploaded assets, by SHA-256
    # EIP-4361: what a sign-in message must say
    domain: str = "127.0.0.1"
    uri: str = "http://127.0.0.1"
    chain_id: int = 31337
    nonce_ttl_s: int = 300
    session_ttl_s: int = 3600
    clock_skew_s: int = 300
    admin_addresses: tuple[str, ...] = ()  # these accounts get the admin role at sign-in
    # limits
    max_body_bytes: int = 32 << 20
    upload_chunk_max: int = 16 << 20
    rate_limit: RateLimit = RateLimit(per_second=200, burst=400)  # per account, all routes
    # routing and quality
    reputation_prior: tuple[float, float] = (4.0, 1.0)  # Beta(alpha, beta) of a newcomer
    reputation_decay: float = 0.98  # per update, toward the prior: old evidence fades
    min_reputation: float = 0.3  # lower bound below which an account gets honeypots only (probation)
    # evidence with no update for this long is forgotten (the prior again): nobody is shut out for good
    reputation_forget_s: float = 30 * 24 * 3600.0
    honeypot_lockout: tuple[int, int] = (3, 5)  # locked out of a request after 3 failures in 5
    gold_pass_score: float = 0.7
    # the quality worker (coordinator/quality/worker.py): a background thread of the server;
    # off, items wait in the queue until something calls its drain() (tests do)
    quality_worker: bool = True
    quality_poll_s: float = Field(default=1.0, gt=0)  # also woken at once by ingest
    quality_batch: int = Field(default=50, ge=1)  # items per transaction
    # game layer
    energy_max: int = 500
    energy_regen_s: float = 36.0  # one point per 36 s: the full bar in about 5 h
    daily_goal: int = 50
    tier_multipliers: tuple[float, ...] = (1.0, 1.1, 1.25, 1.5)  # index: tier (last one beyond)
    clock: Callable[[], datetime] = utc_now
    # chain side (coordinator/chain): None = no chain, tiers set by an administrator
    chain: ChainConfig | None = None
