"""Nonces are single use with a short life; a verified message opens a short-lived session."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from app.sync import siwe
from app.sync.wire import NonceOut, Role, SessionOut, SignInIn
from coordinator.context import Ctx
from coordinator.errors import ApiError
from coordinator.security import open_session
from coordinator.tables import accounts, nonces

# which refusal gets which status: a malformed message is bad input, the rest are failed proofs
_REFUSALS: dict[type[Exception], tuple[int, str]] = {
    siwe.InvalidMessage: (422, "invalid_message"),
    siwe.InvalidSignature: (401, "invalid_signature"),
    siwe.DomainMismatch: (401, "wrong_domain"),
    siwe.UriMismatch: (401, "wrong_uri"),
    siwe.ChainMismatch: (401, "wrong_chain"),
    siwe.NonceMismatch: (401, "invalid_nonce"),
    siwe.ExpiredMessage: (401, "expired_message"),
    siwe.NotYetValid: (401, "not_yet_valid"),
}


def issue_nonce(ctx: Ctx) -> NonceOut:
    now, cfg = ctx.now(), ctx.config
    nonce = siwe.new_nonce()
    expires = now + timedelta(seconds=cfg.nonce_ttl_s)
    with ctx.db.write() as conn:
        conn.execute(delete(nonces).where(nonces.c.expires_at < now - timedelta(days=1)))
        conn.execute(insert(nonces).values(nonce=nonce, expires_at=expires))
    return NonceOut(nonce=nonce, expires_at=expires, domain=cfg.domain, uri=cfg.uri, chain_id=cfg.chain_id)


def sign_in(ctx: Ctx, body: SignInIn) -> SessionOut:
    cfg, now = ctx.config, ctx.now()
    try:
        message = siwe.parse(body.message)
        siwe.verify(body.message, body.signature, domain=cfg.domain, nonce=message.nonce, now=now,
                    chain_id=cfg.chain_id, uri=cfg.uri, clock_skew_s=cfg.clock_skew_s)
    except siwe.SiweError as exc:
        status, code = next(((s, c) for cls, (s, c) in _REFUSALS.items() if isinstance(exc, cls)),
                            (401, "invalid_message"))
        raise ApiError(status, code, str(exc)) from None
    with ctx.db.write() as conn:
        _consume_nonce(conn, message.nonce, now)
        account_id, roles = _account(conn, message.address, now, admin=message.address in cfg.admin_addresses)
        token, expires = open_session(conn, account_id, now, cfg.session_ttl_s)
    return SessionOut(token=token, expires_at=expires, address=message.address, roles=roles)


def _consume_nonce(conn: Connection, nonce: str, now: datetime) -> None:
    used = conn.execute(update(nonces).where(nonces.c.nonce == nonce, nonces.c.used_at.is_(None),
                                             nonces.c.expires_at > now).values(used_at=now))
    if used.rowcount != 1:
        raise ApiError(401, "invalid_nonce", "the nonce is unknown, expired or already used; ask for a new one")


def _account(conn: Connection, address: str, now: datetime, *, admin: bool) -> tuple[int, list[Role]]:
    row = conn.execute(select(accounts.c.id, accounts.c.roles, accounts.c.locked)
                       .where(accounts.c.address == address)).first()
    if row is None:
        roles = [Role.contributor.value] + ([Role.admin.value] if admin else [])
        account_id = conn.execute(insert(accounts).values(
            address=address, roles=roles, tier=0, languages=[], skills=[], locked=False, created_at=now,
        )).inserted_primary_key[0]
        return account_id, [Role(r) for r in roles]
    if row.locked:
        raise ApiError(403, "account_locked", "this account is locked")
    roles = list(row.roles)
    if admin and Role.admin.value not in roles:
        roles.append(Role.admin.value)
        conn.execute(update(accounts).where(accounts.c.id == row.id).values(roles=roles))
    return row.id, [Role(r) for r in roles]
