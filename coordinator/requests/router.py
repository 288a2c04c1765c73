"""/v1/requests: a requester's data requests, their progress, quality and the export of their labels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.sync.wire import DataRequestIn, DataRequestOut, ProgressOut, QualityOut
from coordinator.deps import CtxDep, Requester
from coordinator.errors import refusals
from coordinator.quality.report import quality_report
from coordinator.requests import export, service

router = APIRouter(prefix="/requests", tags=["requests"])
RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "the body is not valid JSON", 401: "not signed in", 403: "the account lacks the requester role",
             404: "no such data request (or not yours)", 422: "invalid input, the field is named",
             409: "conflicts with the current state"}
    return refusals({code: words[code] for code in codes})


class NativeItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    media: str
    sha256: str
    annotations: list[dict[str, Any]]
    tracks: list[dict[str, Any]]
    segments: list[dict[str, Any]]


class NativeExport(BaseModel):
    """Alaya native JSON, as `app.formats.native` reads it (`alaya import native`)."""

    model_config = ConfigDict(extra="allow")
    format: str
    version: int
    labels: list[str]
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    items: list[NativeItem]
    meta: dict[str, Any]


@router.post("", response_model=DataRequestOut, status_code=201, responses=_errors(400, 401, 403, 422))
def create_request(body: DataRequestIn, principal: Requester, ctx: CtxDep) -> DataRequestOut:
    """A new data request; the reward is per accepted item, in credits."""
    return service.create(ctx, principal, body)


@router.get("", response_model=list[DataRequestOut], responses=_errors(401, 403, 422))
def list_requests(principal: Requester, ctx: CtxDep,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[DataRequestOut]:
    """Your requests, newest first (an administrator sees all)."""
    return service.listing(ctx, principal, limit, offset)


@router.get("/{request_id}", response_model=DataRequestOut, responses=_errors(401, 403, 404, 422))
def get_request(request_id: RequestId, principal: Requester, ctx: CtxDep) -> DataRequestOut:
    return service.get(ctx, principal, request_id)


@router.post("/{request_id}/close", response_model=DataRequestOut, responses=_errors(401, 403, 404, 422))
def close_request(request_id: RequestId, principal: Requester, ctx: CtxDep) -> DataRequestOut:
    """No new leases; items already leased may still be submitted. Closing twice is harmless."""
    return service.close(ctx, principal, request_id)


@router.get("/{request_id}/progress", response_model=ProgressOut, responses=_errors(401, 403, 404, 422))
def request_progress(request_id: RequestId, principal: Requester, ctx: CtxDep) -> ProgressOut:
    return service.progress(ctx, principal, request_id)


@router.get("/{request_id}/quality", response_model=QualityOut, responses=_errors(401, 403, 404, 422))
def request_quality(request_id: RequestId, principal: Requester, ctx: CtxDep) -> QualityOut:
    """Each contributor's gold and consensus results; for classification, Dawid-Skene's
    estimate of their accuracy and the done items where it would choose another class."""
    with ctx.db.read() as conn:
        service.load_owned(conn, principal, request_id)
        return quality_report(conn, request_id)


@router.get("/{request_id}/export", response_model=NativeExport, responses=_errors(401, 403, 404, 422))
def export_request(request_id: RequestId, principal: Requester, ctx: CtxDep) -> StreamingResponse:
    """The consensus labels of the done items, in Alaya native JSON, streamed."""
    with ctx.db.read() as conn:
        request = service.load_owned(conn, principal, request_id)
    return StreamingResponse(export.document(ctx, request), media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="{request.id}.alaya.json"'})
