"""Session tokens: random, shown to the client once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, insert, select, update

from app.sync.wire import Role
from coordinator.db import aware
from coordinator.errors import ApiError
from coordinator.tables import accounts, sessions


@dataclass(frozen=True)
class Principal:
    account_id: int
    address: str
    roles: frozenset[Role]
    tier: int
    languages: tuple[str, ...]
    skills: tuple[str, ...]

    def has(self, role: Role) -> bool:
        return role in self.roles or Role.admin in self.roles


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(conn: Connection, account_id: int, now: datetime, ttl_s: int) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=ttl_s)
    conn.execute(insert(sessions).values(token_sha256=token_digest(token), account_id=account_id,
                                         created_at=now, expires_at=expires))
    return token, expires


def revoke(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.token_sha256 == token_digest(token),
                                        sessions.c.revoked_at.is_(None)).values(revoked_at=now))


_SESSION = (select(accounts, sessions.c.expires_at, sessions.c.revoked_at)
            .join(sessions, sessions.c.account_id == accounts.c.id)
            .where(sessions.c.token_sha256 == bindparam("digest")))  # built once: it runs on every request


def authenticate(conn: Connection, token: str, now: datetime) -> Principal:
    row = conn.execute(_SESSION, {"digest": token_digest(token)}).mappings().first()
    if row is None or row["revoked_at"] is not None:
        raise ApiError(401, "not_signed_in", "sign in first: the session token is unknown or revoked",
                       {"WWW-Authenticate": "Bearer"})
    if aware(row["expires_at"]) <= now:
        raise ApiError(401, "session_expired", "the session expired; sign in again", {"WWW-Authenticate": "Bearer"})
    if row["locked"]:
        raise ApiError(403, "account_locked", "this account is locked")
    return Principal(row["id"], row["address"], frozenset(Role(r) for r in row["roles"]), row["tier"],
                     tuple(row["languages"]), tuple(row["skills"]))

