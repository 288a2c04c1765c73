"""The wire contract between the workstation and the coordinator, defined once (rule 12).

The coordinator imports this module (and what it builds on: `wire_shapes`, `siwe`,
`signing`) and nothing else from `app`. Field bounds are part of the contract: the server
refuses anything outside them with 422 before touching its database.
Amounts of credits travel as decimal strings (6 places), never as binary floats.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.sync.wire_shapes import (  # noqa: F401 - re-exported: one import for clients
    Attributes, Label, Shape, WireAnnotation, WireKeyframe, WireSegment, WireTrack,
)

API_PREFIX = "/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SHA256_HEX = r"^[0-9a-f]{64}$"
MAX_BATCH = 500  # submissions per batch request
MAX_LEASE_BATCH = 100
MAX_ANNOTATIONS = 10_000  # per submission

Credits = Annotated[Decimal, Field(ge=0, max_digits=24, decimal_places=6)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Sha256 = Annotated[str, Field(pattern=SHA256_HEX)]
Hex65 = Annotated[str, Field(min_length=130, max_length=132, pattern=r"^(0x)?[0-9a-fA-F]{130}$")]
Short = Annotated[str, Field(min_length=1, max_length=200)]


class Role(StrEnum):
    contributor = "contributor"
    reviewer = "reviewer"  # expert reviewer: decides items that consensus could not
    requester = "requester"
    admin = "admin"


class Modality(StrEnum):
    image = "image"
    video = "video"
    audio = "audio"


class ItemState(StrEnum):
    open = "open"  # still needs annotators
    review = "review"  # waiting for an expert
    done = "done"  # consensus accepted or an expert decided


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(Wire):
    error: str  # a stable machine code, e.g. "stale_epoch"
    detail: str  # plain words for a human


# --- sign-in (EIP-4361) ---------------------------------------------------------------
class NonceOut(Wire):
    nonce: str
    expires_at: datetime
    domain: str  # what the message's domain must say
    uri: str
    chain_id: int


class SignInIn(Wire):
    message: Annotated[str, Field(min_length=1, max_length=8192)]
    signature: Hex65


class SessionOut(Wire):
    token: str
    expires_at: datetime
    address: str
    roles: list[Role]


# --- requester ------------------------------------------------------------------------
class Requirements(Wire):
    min_tier: Annotated[int, Field(ge=0, le=10)] = 0
    languages: Annotated[list[Annotated[str, Field(min_length=2, max_length=16)]], Field(max_length=32)] = []
    skills: Annotated[list[Short], Field(max_length=32)] = []


class DataRequestIn(Wire):
    name: Short
    modality: Modality
    label_schema: dict[str, Any]
    redundancy: Annotated[int, Field(ge=1, le=15)] = 3  # k annotators per item
    gold_rate: Annotated[float, Field(ge=0, le=0.5)] = 0.05  # share of leased tasks that are honeypots
    reward: Credits  # per accepted item
    requirements: Requirements = Requirements()
    deadline: datetime | None = None
    agreement_threshold: Annotated[float, Field(ge=0, le=1)] = 0.7
    max_extra_annotators: Annotated[int, Field(ge=0, le=10)] = 2
    min_seconds_per_item: Annotated[float, Field(ge=0, le=3600)] = 2.0  # faster is flagged


class DataRequestOut(DataRequestIn):
    id: Id
    status: Literal["open", "closed"]
    created_at: datetime


class AssetIn(Wire):
    sha256: Sha256
    size: Annotated[int, Field(ge=1, le=1 << 34)]
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    media_type: Annotated[str, Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")]
    gold: "Labels | None" = None  # the truth of a honeypot item


class AssetOut(Wire):
    id: Id
    sha256: str
    size: int
    received: int  # bytes stored so far: resume from here
    complete: bool
    upload_url: str
    download_url: str


class ProgressOut(Wire):
    items: int
    gold_items: int
    open: int
    in_review: int
    done: int
    submissions: int
    mean_agreement: float | None
    gold_accuracy: float | None
    flagged_submissions: int
    awaiting_quality: int = 0  # items answered and waiting for the quality step (consensus, gold scoring, pay)


# --- contributor ----------------------------------------------------------------------
class Labels(Wire):
    """What a human produced for one item."""

    annotations: Annotated[list[WireAnnotation], Field(max_length=MAX_ANNOTATIONS)] = []
    tracks: Annotated[list[WireTrack], Field(max_length=1000)] = []
    segments: Annotated[list[WireSegment], Field(max_length=MAX_ANNOTATIONS)] = []


class LeaseIn(Wire):
    # strict: JSON integers only (lax mode took `true` as 1, which the published schema refuses)
    count: Annotated[int, Field(ge=1, le=MAX_LEASE_BATCH, strict=True)] = 10
    duration_s: Annotated[int, Field(ge=60, le=7 * 24 * 3600, strict=True)] = 3600
    request_id: Id | None = None  # only tasks of this data request


class AssetRef(Wire):
    id: Id
    sha256: str
    size: int
    media_type: str
    url: str


class TaskOut(Wire):
    item_id: Id
    request_id: Id
    lease_id: Id
    epoch: int  # fencing token: every heartbeat and the submission must carry it
    expires_at: datetime
    modality: Modality
    asset: AssetRef
    label_schema: dict[str, Any]


class LeaseOut(Wire):
    tasks: list[TaskOut]
    energy: int  # what is left after this lease


class HeartbeatIn(Wire):
    epoch: Annotated[int, Field(strict=True)]
    duration_s: Annotated[int, Field(ge=60, le=7 * 24 * 3600, strict=True)] = 3600


class HeartbeatOut(Wire):
    lease_id: Id
    epoch: int
    expires_at: datetime


class SubmissionPayload(Wire):
    """What is hashed and signed: the bytes are `signing.canonical_json(payload.model_dump(mode="json"))`."""

    item_id: Id
    lease_id: Id
    epoch: int
    labels: Labels
    started_at: datetime
    finished_at: datetime


class SubmissionIn(Wire):
    submission_id: Id  # the client's idempotency key, unique per contributor forever
    payload: SubmissionPayload
    signature: Hex65  # EIP-191 signature of the payload digest by the contributor's wallet


class SubmissionOut(Wire):
    submission_id: str
    item_id: str
    payload_sha256: str
    received_at: datetime
    flagged: bool  # faster than a human could work: held back from consensus and credits


class BatchIn(Wire):
    submissions: Annotated[list[SubmissionIn], Field(min_length=1, max_length=MAX_BATCH)]


class BatchResult(Wire):
    submission_id: str
    status: int  # the HTTP status this submission would have got alone
    result: SubmissionOut | None = None
    error: ErrorOut | None = None


class BatchOut(Wire):
    results: list[BatchResult]


# --- review ---------------------------------------------------------------------------
class ReviewOut(Wire):
    review_id: Id
    item_id: Id
    request_id: Id
    reason: str
    agreement: float | None
    submissions: list[Labels]
    proposal: Labels | None  # what consensus would have chosen


class ReviewDecisionIn(Wire):
    labels: Labels
    note: Annotated[str, Field(max_length=2000)] = ""


# --- credits and progress of a contributor -------------------------------------------
class BalanceOut(Wire):
    account: str
    balance: Credits
    epoch: str  # "YYYY-MM", the open epoch
    earned_this_epoch: Credits


class ProfileOut(Wire):
    address: str
    roles: list[Role]
    tier: int
    xp: int
    level: int
    streak_days: int
    tasks_today: int
    daily_goal: int
    energy: int
    energy_max: int


AssetIn.model_rebuild()


# --- ledger helper (H5): credits history, redemptions, epochs --------------------------
SignedCredits = Annotated[Decimal, Field(max_digits=24, decimal_places=6)]  # a debit is negative


class LedgerEntryOut(Wire):
    id: int  # pass the last one as `before` for the next (older) page
    tx_id: str
    kind: str  # reward | redemption | adjustment
    ref: str | None  # what the entry is for: the submission row of a reward, the epoch of a redemption
    amount: SignedCredits  # credited (+) to or debited (-) from my balance
    epoch: str  # "YYYY-MM"
    created_at: datetime


class LedgerPageOut(Wire):
    entries: list[LedgerEntryOut]  # newest first
    next_before: int | None  # `before` for the next page; None when this was the last


class RedemptionOut(Wire):
    epoch: str  # a closed month, "YYYY-MM"
    amount: Credits  # the voucher's amount
    closed_at: datetime


class EpochOut(Wire):
    epoch: str
    closed: bool
    closed_at: datetime | None
    earned: SignedCredits  # credited to contributors in this month
    redeemable: Credits | None  # the vouchers' total, once closed
    accounts: int  # contributors with a voucher for this month


# --- quality report (lead) -------------------------------------------------------------
class WorkerQualityOut(Wire):
    address: str
    answers: int
    gold_passed: int
    gold_failed: int
    agreed: int  # answers that matched the accepted consensus or the expert's decision
    disagreed: int
    estimated_accuracy: float | None  # Dawid-Skene, for whole-item classification requests


class QualityOut(Wire):
    request_id: str
    method: Literal["dawid_skene", "consensus"]
    items_done: int
    compared: int  # done items Dawid-Skene looked at
    differ_from_consensus: int  # of those, where it would choose another class
    workers: list[WorkerQualityOut]


# --- chain side (issue 8): vouchers, inclusion proofs, published epochs ---------------------
ChainAddress = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
Bytes32Hex = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
Uint256Text = Annotated[str, Field(pattern=r"^[0-9]{1,78}$")]  # token amounts exceed JSON's safe integers


class ChainInfoOut(Wire):
    chain_id: int
    contracts: dict[str, ChainAddress]  # contract name -> address
    voucher_signer: ChainAddress  # the key vouchers are signed with
    deployed_at_block: int = 0  # the contracts' deployment: event searches start there


class VoucherOut(Wire):
    """An EIP-712 RewardPool voucher: claim it with RewardPool.claim((chain_epoch, account, amount,
    deadline), signature) on chain `chain_id` at `pool`."""

    epoch: str  # "YYYY-MM"
    chain_epoch: int  # YYYYMM, the pool's epoch id
    chain_id: int
    pool: ChainAddress
    token: ChainAddress
    account: ChainAddress
    amount: Uint256Text  # in the token's smallest unit
    credits: Credits  # what the ledger redeemed
    deadline: int  # unix time
    signature: Hex65


class InclusionProofOut(Wire):
    """A submission's place in its epoch's anchored Merkle root (OpenZeppelin StandardMerkleTree leaf)."""

    submission_id: str
    epoch: str
    chain_epoch: int
    contributor: ChainAddress
    payload_sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]  # the submission's, as the coordinator stored it
    leaf: Bytes32Hex
    proof: list[Bytes32Hex]
    root: Bytes32Hex
    leaf_count: int
    anchor_tx: Bytes32Hex
    audit_anchor: ChainAddress


class ChainEpochOut(Wire):
    epoch: str
    chain_epoch: int
    pool_open: bool
    opens_at: int | None
    closes_at: int | None
    funded: Uint256Text | None
    root: Bytes32Hex | None  # None: nothing accepted, nothing to anchor
    leaf_count: int
    anchor_tx: Bytes32Hex | None
