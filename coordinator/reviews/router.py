"""/v1/reviews: the expert review queue, oldest first, and final decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import Connection, exists, select, update

from app.sync.wire import Id, Labels, ReviewDecisionIn, ReviewOut, Wire
from coordinator.deps import CtxDep, Reviewer
from coordinator.errors import ApiError
from coordinator.quality.lifecycle import settle_by_expert
from coordinator.requests.schema import check_labels_in_schema, check_schema
from coordinator.security import Principal
from coordinator.tables import data_requests, items, reviews, submissions

router = APIRouter(prefix="/reviews", tags=["reviews"])
ReviewId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
_NOT_FOUND = {404: {"description": "no such review"}}


class DecisionOut(Wire):
    review_id: Id
    item_id: Id
    decided: bool


def _worked_on(principal: Principal) -> Any:
    """True where the reviewer answered the item themself: nobody judges their own work."""
    return exists().where(submissions.c.item_id == reviews.c.item_id,
                          submissions.c.account_id == principal.account_id)


def _out(conn: Connection, row: Any) -> ReviewOut:
    answers = conn.execute(select(submissions.c.payload).where(
        submissions.c.item_id == row.item_id, submissions.c.flagged.is_(False)).order_by(submissions.c.id)).scalars()
    return ReviewOut(review_id=row.id, item_id=row.item_id, request_id=row.request_id, reason=row.reason,
                     agreement=row.agreement, submissions=[Labels.model_validate(p["labels"]) for p in answers],
                     proposal=None if row.proposal is None else Labels.model_validate(row.proposal))


def _query(principal: Principal) -> Any:
    return (select(reviews, items.c.request_id).join(items, items.c.id == reviews.c.item_id)
            .where(reviews.c.decided_at.is_(None), ~_worked_on(principal)))


@router.get("", response_model=list[ReviewOut])
def open_reviews(principal: Reviewer, ctx: CtxDep,
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[ReviewOut]:
    """Items waiting for an expert, oldest first (not those you answered yourself)."""
    with ctx.db.read() as conn:
        rows = conn.execute(_query(principal).order_by(reviews.c.created_at, reviews.c.id).limit(limit)).all()
        return [_out(conn, r) for r in rows]


@router.get("/{review_id}", response_model=ReviewOut, responses=_NOT_FOUND)
def get_review(review_id: ReviewId, principal: Reviewer, ctx: CtxDep) -> ReviewOut:
    with ctx.db.read() as conn:
        row = conn.execute(_query(principal).where(reviews.c.id == review_id)).first()
        if row is None:
            raise ApiError(404, "not_found", f"no open review {review_id} for you")
        return _out(conn, row)


@router.post("/{review_id}/decision", response_model=DecisionOut,
             responses={**_NOT_FOUND, 409: {"description": "already decided"}, 422: {"description": "labels outside the schema"}})
def decide_review(review_id: ReviewId, body: ReviewDecisionIn, principal: Reviewer, ctx: CtxDep) -> DecisionOut:
    """Final: the item takes these labels; answers are scored, reputations and credits follow."""
    with ctx.db.write() as conn:
        row = conn.execute(select(reviews, data_requests.c.spec).join(items, items.c.id == reviews.c.item_id)
                           .join(data_requests, data_requests.c.id == items.c.request_id)
                           .where(reviews.c.id == review_id, ~_worked_on(principal))).first()
        if row is None:
            raise ApiError(404, "not_found", f"no review {review_id} for you")
        check_labels_in_schema(body.labels, check_schema(row.spec["label_schema"]), "labels")
        taken = conn.execute(update(reviews).where(reviews.c.id == review_id, reviews.c.decided_at.is_(None))
                             .values(decided_at=ctx.now(), reviewer_id=principal.account_id,
                                     decision=body.labels.model_dump(mode="json"), note=body.note))
        if taken.rowcount != 1:
            raise ApiError(409, "already_decided", "an expert already decided this item; the decision is final")
        settle_by_expert(conn, ctx, row, body.labels.model_dump(mode="json"))
    return DecisionOut(review_id=review_id, item_id=row.item_id, decided=True)
