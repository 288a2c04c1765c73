"""Annotation: one labelled shape on one asset, as an immutable value.

Immutable so that a command can keep the before and after values of a field without copying,
and so that equality means "same state" (what the undo tests rely on). Shapes are opaque
here: this module needs only their `kind`, `to_dict()` and `shapes.shape_from_dict`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, Protocol, get_args

from app.annotators.shapes import shape_from_dict
from app.core.errors import ValidationError

AttrValue = bool | int | float | str
Source = Literal["human", "model", "consensus"]
SOURCES: tuple[str, ...] = get_args(Source)


class ShapeLike(Protocol):
    """What this module needs of a shape (see `app.annotators.shapes`)."""

    kind: str

    def to_dict(self) -> dict[str, Any]: ...


class Attributes(Mapping[str, AttrValue]):
    """A read-only, hashable mapping of attribute name to a scalar value."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, AttrValue] | Iterable[tuple[str, AttrValue]] = ()):
        try:
            items = dict(data)
        except (TypeError, ValueError):
            raise ValidationError("expected a mapping of name to value",
                                  where="attributes") from None
        for key, value in items.items():
            _check_attribute(key, value)
        self._data: dict[str, AttrValue] = dict(sorted(items.items()))

    def __getitem__(self, key: str) -> AttrValue:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"Attributes({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Attributes, (self._data,))

    def to_dict(self) -> dict[str, AttrValue]:
        """A mutable copy."""
        return dict(self._data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Annotation:
    """One annotation. Create with `Annotation.new`, change with `replace`.

    `version` is 1 until the store saves an edit; the store, not the editor, bumps it and
    stamps `updated_at`, so an undo restores exactly the values the user saw before.
    """

    id: str
    asset_id: int
    label: str
    shape: ShapeLike
    author: str
    created_at: datetime
    updated_at: datetime
    attributes: Mapping[str, AttrValue] = dataclasses.field(default_factory=Attributes)
    source: Source = "human"
    confidence: float | None = None
    version: int = 1
    z_order: int = 0
    hidden: bool = False
    locked: bool = False
    track_id: str | None = None
    frame: int | None = None  # video frame index (decode order); None for still images

    def __post_init__(self) -> None:
        _check_identity(self)
        _check_flags(self)
        _check_confidence(self.confidence)
        for name in ("created_at", "updated_at"):
            object.__setattr__(self, name, _utc(getattr(self, name), name))
        if not isinstance(self.attributes, Attributes):
            object.__setattr__(self, "attributes", Attributes(self.attributes))

    @classmethod
    def new(
        cls, *, asset_id: int, label: str, shape: ShapeLike, author: str,
        attributes: Mapping[str, AttrValue] | None = None, source: Source = "human",
        confidence: float | None = None, z_order: int = 0, hidden: bool = False,
        locked: bool = False, track_id: str | None = None, frame: int | None = None,
        now: datetime | None = None,
    ) -> Annotation:
        """A fresh annotation with a random id, version 1 and both timestamps `now`."""
        stamp = now or datetime.now(timezone.utc)
        return cls(
            id=uuid.uuid4().hex, asset_id=asset_id, label=label, shape=shape, author=author,
            created_at=stamp, updated_at=stamp, attributes=attributes or {}, source=source,
            confidence=confidence, z_order=z_order, hidden=hidden, locked=locked,
            track_id=track_id, frame=frame,
        )

    def replace(self, **changes: Any) -> Annotation:
        """A copy with the given fields changed, validated like a new one."""
        unknown = sorted(set(changes) - FIELD_NAMES)
        if unknown:
            raise ValidationError("not an annotation field", where=unknown[0])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: timestamps as ISO 8601 UTC, the shape as `shape.to_dict()`."""
        data = {name: getattr(self, name) for name in FIELD_NAMES}
        data["shape"] = self.shape.to_dict()
        data["attributes"] = dict(self.attributes)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Annotation:
        """Inverse of `to_dict`; raises ValidationError naming the bad or missing field."""
        if not isinstance(data, Mapping):
            raise ValidationError("expected a mapping", where="annotation")
        unknown = sorted(set(data) - FIELD_NAMES)
        if unknown:
            raise ValidationError("unknown annotation field", where=unknown[0])
        for name in REQUIRED_FIELDS:
            if name not in data:
                raise ValidationError("required field is missing", where=name)
        fields = dict(data)
        fields["shape"] = _parse_shape(data["shape"])
        for name in ("created_at", "updated_at"):
            fields[name] = _parse_datetime(data[name], name)
        return cls(**fields)

    def size_bytes(self) -> int:
        """Rough memory held by this annotation, for the undo budget."""
        return 400 + approx_size(self.shape) + approx_size(dict(self.attributes))


FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Annotation))
REQUIRED_FIELDS = ("id", "asset_id", "label", "shape", "author", "created_at", "updated_at")


def approx_size(value: Any) -> int:
    """Estimated bytes held by a value: numpy arrays by `nbytes`, shapes by their dict."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes + 112
    if hasattr(value, "to_dict") and not isinstance(value, Mapping):
        return approx_size(value.to_dict())
    if isinstance(value, Mapping):
        return 64 + sum(approx_size(k) + approx_size(v) + 16 for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 56 + sum(approx_size(item) + 8 for item in value)
    return sys.getsizeof(value)


def _check_identity(ann: Annotation) -> None:
    for name in ("id", "label"):
        value = getattr(ann, name)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("must be a non-empty string", where=name)
    if not isinstance(ann.author, str):
        raise ValidationError("must be a string", where="author")
    if not _is_int(ann.asset_id) or ann.asset_id < 0:
        raise ValidationError("must be a non-negative integer", where="asset_id")
    if not isinstance(getattr(ann.shape, "kind", None), str) or not callable(
        getattr(ann.shape, "to_dict", None)
    ):
        raise ValidationError("not a shape (needs `kind` and `to_dict`)", where="shape")
    if ann.source not in SOURCES:
        raise ValidationError(f"must be one of {', '.join(SOURCES)}", where="source")


def _check_flags(ann: Annotation) -> None:
    if not _is_int(ann.version) or ann.version < 1:
        raise ValidationError("must be an integer >= 1", where="version")
    if not _is_int(ann.z_order):
        raise ValidationError("must be an integer", where="z_order")
    for name in ("hidden", "locked"):
        if not isinstance(getattr(ann, name), bool):
            raise ValidationError("must be true or false", where=name)
    if ann.track_id is not None and (not isinstance(ann.track_id, str) or not ann.track_id):
        raise ValidationError("must be a non-empty string or null", where="track_id")
    if ann.frame is not None and (not _is_int(ann.frame) or ann.frame < 0):
        raise ValidationError("must be a non-negative integer or null", where="frame")


def _check_confidence(confidence: object) -> None:
    if confidence is None:
        return
    if (isinstance(confidence, bool) or not isinstance(confidence, (int, float))
            or not 0.0 <= confidence <= 1.0):  # NaN fails this comparison too
        raise ValidationError("must be a number from 0 to 1, or null", where="confidence")


def _check_attribute(key: object, value: object) -> None:
    if not isinstance(key, str) or not key:
        raise ValidationError("attribute names must be non-empty strings", where="attributes")
    if not isinstance(value, (bool, int, float, str)):
        raise ValidationError(
            f"must be a bool, number or string, not {type(value).__name__}",
            where=f"attributes.{key}",
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("must be a finite number", where=f"attributes.{key}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _utc(value: object, name: str) -> datetime:
    # Naive datetimes are ambiguous (local? UTC?), so they are refused rather than guessed.
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError("must be a timezone-aware datetime", where=name)
    return value.astimezone(timezone.utc)


def _parse_datetime(value: object, name: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError("not an ISO 8601 date-time", where=name) from None


def _parse_shape(value: object) -> ShapeLike:
    if not isinstance(value, Mapping):
        raise ValidationError("expected a mapping", where="shape")
    try:
        return shape_from_dict(dict(value))
    except ValidationError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"not a valid shape: {exc}", where="shape") from exc
