"""FastAPI dependencies: the context, the signed-in principal, role checks, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.sync.wire import Role
from coordinator.context import Ctx
from coordinator.errors import ApiError
from coordinator.security import Principal, authenticate

_bearer = HTTPBearer(auto_error=False)


def get_ctx(request: Request) -> Ctx:
    return request.app.state.ctx


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def client_key(request: Request) -> str:
    return f"ip:{request.client.host if request.client else '?'}"


def limit_by_address(request: Request, ctx: CtxDep) -> None:
    """Before sign-in there is no account: limit by client address."""
    ctx.limiter.take(client_key(request))


def current(ctx: CtxDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "not_signed_in", "sign in first (Authorization: Bearer <token>)",
                       {"WWW-Authenticate": "Bearer"})
    with ctx.db.read() as conn:
        principal = authenticate(conn, credentials.credentials, ctx.now())
    if ctx.chain is not None:  # routing by stake and membership level, read per block
        principal = ctx.chain.with_chain_tier(ctx.db, principal)
    ctx.limiter.take(f"account:{principal.account_id}")
    return principal


PrincipalDep = Annotated[Principal, Depends(current)]


def require(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: PrincipalDep) -> Principal:
        if not principal.has(role):
            raise ApiError(403, "forbidden", f"this needs the {role.value} role")
        return principal
    return check


Contributor = Annotated[Principal, Depends(require(Role.contributor))]
Reviewer = Annotated[Principal, Depends(require(Role.reviewer))]
Requester = Annotated[Principal, Depends(require(Role.requester))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
