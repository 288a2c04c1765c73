"""/v1/leases: lease a routed batch of tasks, list mine, heartbeat, give one back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from app.sync.wire import HeartbeatIn, HeartbeatOut, LeaseIn, LeaseOut, Role, TaskOut
from coordinator.deps import BearerDep, Contributor, CtxDep, signed_in
from coordinator.errors import contributor_refusals
from coordinator.tasks import service

router = APIRouter(prefix="/leases", tags=["leases"])
LeaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.post("", response_model=LeaseOut,
             responses=contributor_refusals({429: "rate limited, or out of energy (Retry-After)"}))
def lease_tasks(body: LeaseIn, credentials: BearerDep, ctx: CtxDep) -> JSONResponse:
    """A batch of tasks routed to this account (tier, languages, skills, reputation), each with
    its own lease; an empty list when nothing matches. Each task costs one point of energy."""
    # signed in here, not by the Contributor dependency: the hot path then hands off to a
    # worker thread once, not twice (a plain-def dependency gets a hand-off of its own)
    principal = signed_in(ctx, credentials, Role.contributor)
    # built from our own rows: serialized once, not dumped and validated again by FastAPI
    return JSONResponse(service.lease(ctx, principal, body).model_dump(mode="json"))


@router.get("", response_model=list[TaskOut], responses=contributor_refusals())
def my_leases(principal: Contributor, ctx: CtxDep) -> list[TaskOut]:
    """This account's live leases, soonest expiry first."""
    return service.active_leases(ctx, principal)


@router.post("/{lease_id}/heartbeat", response_model=HeartbeatOut,
             responses=contributor_refusals({404: "no such lease of yours",
                                      409: "stale_epoch, lease_expired, already_submitted or item_closed"}))
def heartbeat(lease_id: LeaseId, body: HeartbeatIn, principal: Contributor, ctx: CtxDep) -> HeartbeatOut:
    """Renews the lease: it now expires `duration_s` after the server's clock."""
    return service.heartbeat(ctx, principal, lease_id, body)


@router.post("/{lease_id}/release", status_code=204, response_class=Response,
             responses=contributor_refusals({404: "no such lease of yours", 409: "already_submitted"}))
def release(lease_id: LeaseId, principal: Contributor, ctx: CtxDep) -> Response:
    """Gives the task back so someone else can do it."""
    service.release(ctx, principal, lease_id)
    return Response(status_code=204)
