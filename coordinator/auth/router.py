"""/v1/auth: nonce, sign-in, refresh, sign-out; /v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials

from app.sync.wire import NonceOut, SessionOut, SignInIn
from coordinator.auth.service import issue_nonce, sign_in
from coordinator.deps import CtxDep, PrincipalDep, _bearer, limit_by_address
from coordinator.security import open_session, revoke

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/nonce", response_model=NonceOut, dependencies=[Depends(limit_by_address)])
def nonce(ctx: CtxDep) -> NonceOut:
    """A single-use nonce for an EIP-4361 message; it expires after a few minutes."""
    return issue_nonce(ctx)


@router.post("/sign-in", response_model=SessionOut, dependencies=[Depends(limit_by_address)],
             responses={401: {"description": "bad signature, nonce, domain, chain or time"},
                        422: {"description": "malformed message"}})
def sign_in_route(body: SignInIn, ctx: CtxDep) -> SessionOut:
    return sign_in(ctx, body)


@router.post("/refresh", response_model=SessionOut)
def refresh(principal: PrincipalDep, ctx: CtxDep,
            credentials: HTTPAuthorizationCredentials = Depends(_bearer)) -> SessionOut:
    """A new token for a valid session; the old one is revoked."""
    now = ctx.now()
    with ctx.db.write() as conn:
        revoke(conn, credentials.credentials, now)
        token, expires = open_session(conn, principal.account_id, now, ctx.config.session_ttl_s)
    return SessionOut(token=token, expires_at=expires, address=principal.address, roles=sorted(principal.roles))


@router.post("/sign-out", status_code=204)
def sign_out(_principal: PrincipalDep, ctx: CtxDep,
             credentials: HTTPAuthorizationCredentials = Depends(_bearer)) -> None:
    with ctx.db.write() as conn:
        revoke(conn, credentials.credentials, ctx.now())
