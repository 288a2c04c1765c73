"""Row <-> record conversion shared by the repositories."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, TypeVar

R = TypeVar("R")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_record(row: Any, cls: type[R]) -> R:
    """Copy the columns named like the record's fields (rows stay inside the session)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: getattr(row, name) for name in names})
