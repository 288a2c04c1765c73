"""/v1/submissions: signed, idempotent submissions of leased work, one at a time or in batches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from app.sync.wire import IDEMPOTENCY_HEADER, BatchIn, BatchOut, SubmissionIn, SubmissionOut
from coordinator.deps import Contributor, CtxDep
from coordinator.errors import ApiError
from coordinator.submissions import service
from coordinator.tables import submissions
from coordinator.errors import contributor_refusals as errors

router = APIRouter(prefix="/submissions", tags=["submissions"])
REPLAYED_HEADER = "Idempotent-Replayed"
SubmissionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


async def raw_json(request: Request) -> Any:
    """The body as sent, parsed but not re-dumped by pydantic: the signature covers the
    client's own spelling of floats and times. Starlette caches the body, so this is one read."""
    try:
        return await request.json()
    except ValueError:  # FastAPI refuses malformed JSON first; this is a second guard
        raise ApiError(422, "invalid_input", "the body is not valid JSON") from None


RawJson = Annotated[Any, Depends(raw_json)]
_SUBMIT_ERRORS = errors({
    400: "missing_idempotency_key",
    401: "not signed in, or bad_signature: the payload is not signed by the signed-in wallet",
    404: "no such lease of yours",
    409: "idempotency_key_reused, stale_epoch, lease_expired or already_submitted",
    413: "the body is too large",
    422: "invalid input, idempotency_key_mismatch, item_mismatch, unknown_label or shape_not_allowed",
})
_CREATED = {201: {"description": "stored, or the stored answer replayed",
                  "headers": {REPLAYED_HEADER: {"description": "`true` when this answer is a replay",
                                                "schema": {"type": "string"}}}}}


@router.post("", status_code=201, response_model=SubmissionOut, responses=_CREATED | _SUBMIT_ERRORS)
def submit(body: SubmissionIn, raw: RawJson, principal: Contributor, ctx: CtxDep,
           idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER, max_length=64)] = None,
           ) -> JSONResponse:
    """Stores one signed submission of leased work. The `Idempotency-Key` header must equal
    `submission_id`; sending it again replays the first answer (with `Idempotent-Replayed`)."""
    if idempotency_key is None:
        raise ApiError(400, "missing_idempotency_key", f"send the {IDEMPOTENCY_HEADER} header")
    if idempotency_key != body.submission_id:
        raise ApiError(422, "idempotency_key_mismatch", f"the {IDEMPOTENCY_HEADER} header must equal submission_id")
    digest = service.verify_signature(raw["payload"], body.signature, principal.address)
    outcome = service.submit_one(ctx, principal, service.Verified(body, digest, raw["payload"]))
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


@router.post("/batch", response_model=BatchOut,
             responses=errors({413: "the body is too large", 401: "not signed in"}))
def submit_batch(body: BatchIn, raw: RawJson, principal: Contributor, ctx: CtxDep) -> JSONResponse:
    """Up to 500 submissions, each with its own id and signature; each result carries the status
    it would have got alone, and a refused one does not undo the others."""
    checked: list[service.Verified | ApiError] = []
    for sub, sent in zip(body.submissions, raw["submissions"]):
        try:
            digest = service.verify_signature(sent["payload"], sub.signature, principal.address)
            checked.append(service.Verified(sub, digest, sent["payload"]))
        except ApiError as exc:
            checked.append(exc)
    outcomes = service.submit_batch(ctx, principal, checked)
    results = []
    for sub, outcome in zip(body.submissions, outcomes):
        if isinstance(outcome, ApiError):
            results.append({"submission_id": sub.submission_id, "status": outcome.status, "result": None,
                            "error": outcome.body()})
        else:
            results.append({"submission_id": sub.submission_id, "status": outcome.status,
                            "result": outcome.body, "error": None})
    return JSONResponse({"results": results})


@router.get("/{submission_id}", response_model=SubmissionOut, responses=errors({404: "no such submission of yours"}))
def get_submission(submission_id: SubmissionId, principal: Contributor, ctx: CtxDep) -> JSONResponse:
    """The stored answer to one of this account's submissions (e.g. after a lost reply)."""
    with ctx.db.read() as conn:
        body = conn.execute(select(submissions.c.response).where(
            submissions.c.account_id == principal.account_id,
            submissions.c.submission_id == submission_id)).scalar_one_or_none()
    if body is None:
        raise ApiError(404, "not_found", f"no submission {submission_id} of yours")
    return JSONResponse(body)
