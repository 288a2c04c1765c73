"""FastAPI dependencies: the context, the signed-in principal, role checks, rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.sync.wire import Role
from coordinator.context import Ctx
from coordinator.errors import ApiError
from coordinator.security import Principal, authenticate

_bearer = HTTPBearer(auto_error=False)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on a worker
# thread, a hand-off that costs more than the work of these.
async def get_ctx(request: Request) -> Ctx:
    return request.app.state.ctx


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def client_key(request: Request) -> str:
    return f"ip:{request.client.host if request.client else '?'}"


async def limit_by_address(request: Request, ctx: CtxDep) -> None:
    """Before sign-in there is no account: limit by client address."""
    ctx.limiter.take(client_key(request))


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def signed_in(ctx: Ctx, credentials: HTTPAuthorizationCredentials | None, role: Role | None = None) -> Principal:
    """The principal of the request's bearer token (one read), rate-limited per account, and
    holding `role` when one is named."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "not_signed_in", "sign in first (Authorization: Bearer <token>)",
                       {"WWW-Authenticate": "Bearer"})
    now = ctx.now()  # on every request: the fewest round trips
    principal = ctx.db.read_once(lambda conn: authenticate(conn, credentials.credentials, now))
    if ctx.chain is not None:  # routing by stake and membership level, read per block
        principal = ctx.chain.with_chain_tier(ctx.db, principal)
    ctx.limiter.take(f"account:{principal.account_id}")
    if role is not None:
        _check_role(principal, role)
    return principal


def _check_role(principal: Principal, role: Role) -> None:
    if not principal.has(role):
        raise ApiError(403, "forbidden", f"this needs the {role.value} role")


def current(ctx: CtxDep, credentials: BearerDep) -> Principal:
    return signed_in(ctx, credentials)


PrincipalDep = Annotated[Principal, Depends(current)]


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        _check_role(principal, role)
        return principal
    return check


Contributor = Annotated[Principal, Depends(require(Role.contributor))]
Reviewer = Annotated[Principal, Depends(require(Role.reviewer))]
Requester = Annotated[Principal, Depends(require(Role.requester))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
