"""/v1/requests/{id}/assets, /v1/uploads/{id}, /v1/assets/{id}: declare, upload, download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from app.sync.wire import AssetIn, AssetOut
from coordinator.assets import download, service
from coordinator.assets.storage import Storage
from coordinator.deps import CtxDep, PrincipalDep, Requester
from coordinator.errors import refusals

router = APIRouter(tags=["assets"])
AnId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ContentRange = Annotated[str, Header(alias="Content-Range", pattern=r"^bytes \d{1,20}-\d{1,20}/\d{1,20}$",
                                     description="bytes START-END/TOTAL (END inclusive)")]
_WORDS = {400: "the body is not valid JSON", 401: "not signed in", 403: "the account lacks the requester role",
          404: "no such request or asset (or not yours)", 409: "conflicts with the current state",
          413: "the chunk is over the upload chunk limit", 416: "the range starts past the end",
          422: "invalid input, the field is named", 503: "the asset's file is missing from storage"}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return refusals({code: _WORDS[code] for code in codes})


@router.post("/requests/{request_id}/assets", response_model=AssetOut, status_code=201,
             responses={200: {"model": AssetOut, "description": "already declared: the same asset"},
                        **_errors(400, 401, 403, 404, 409, 422)})
def declare_asset(request_id: AnId, body: AssetIn, principal: Requester, ctx: CtxDep,
                  response: Response) -> AssetOut:
    """Declare a file by SHA-256 and size (with `gold` labels for a honeypot), then upload it
    to `upload_url`. Declaring the same content again returns the same asset."""
    asset, created = service.declare(ctx, principal, request_id, body)
    if not created:
        response.status_code = 200
    return asset


@router.put("/uploads/{asset_id}", response_model=AssetOut,
            responses=_errors(401, 403, 404, 409, 413, 422),
            openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}})
async def put_chunk(asset_id: AnId, content_range: ContentRange, request: Request,
                    principal: Requester, ctx: CtxDep) -> AssetOut:
    """One chunk: the body holds bytes START..END of the file; START must be where the upload
    stands (else 409 with the offset, also in the `Upload-Offset` header). The last chunk is
    checked against the SHA-256 (422 `sha256_mismatch` resets the upload to byte 0)."""
    data = await request.body()  # bounded by the BodyLimit middleware (413)
    return await run_in_threadpool(service.put_chunk, ctx, principal, asset_id, content_range, data)


@router.get("/uploads/{asset_id}", response_model=AssetOut, responses=_errors(401, 403, 404, 422))
def upload_status(asset_id: AnId, principal: Requester, ctx: CtxDep) -> AssetOut:
    """Where an upload stands: resume from `received`."""
    return service.upload_status(ctx, principal, asset_id)


_DOWNLOAD = {200: {"content": {"*/*": _BINARY}, "description": "the whole file, in its declared media type"},
             206: {"content": {"*/*": _BINARY}, "description": "the requested range"},
             304: {"description": "If-None-Match matched the ETag"},
             **_errors(401, 404, 409, 416, 422, 503)}


@router.get("/assets/{asset_id}", response_class=Response, responses=_DOWNLOAD)
def download_asset(asset_id: AnId, request: Request, principal: PrincipalDep, ctx: CtxDep) -> Response:
    """The file, for the request's owner and anyone holding or having held a lease on its item.
    Range (one range), If-Range and If-None-Match are honoured; the ETag is the quoted SHA-256."""
    asset = service.downloadable(ctx, principal, asset_id)
    return download.respond(Storage(ctx.config.storage_dir), asset, request.headers, head=False)


@router.head("/assets/{asset_id}", response_class=Response, responses=_DOWNLOAD)
def asset_head(asset_id: AnId, request: Request, principal: PrincipalDep, ctx: CtxDep) -> Response:
    """The headers a GET would send (size, ETag, SHA-256), without the body."""
    asset = service.downloadable(ctx, principal, asset_id)
    return download.respond(Storage(ctx.config.storage_dir), asset, request.headers, head=True)
