"""ChangeSet: which annotations one mutation added, changed and removed.

Every document mutation, command and store write returns one, so each view refreshes only
what moved instead of rebuilding everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_ADDED, _CHANGED, _REMOVED = "added", "changed", "removed"


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Ids of annotations added, changed and removed; the three sets are disjoint."""

    added: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        added: Iterable[str] = (),
        changed: Iterable[str] = (),
        removed: Iterable[str] = (),
    ) -> ChangeSet:
        return cls(frozenset(added), frozenset(changed), frozenset(removed))

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def ids(self) -> frozenset[str]:
        return self.added | self.changed | self.removed

    def then(self, later: ChangeSet) -> ChangeSet:
        """The net change of applying self and then `later`.

        Added then removed is nothing (the id never existed on either side); removed then
        added is a change (it existed before and exists after).
        """
        status = {i: _ADDED for i in self.added}
        status.update({i: _CHANGED for i in self.changed})
        status.update({i: _REMOVED for i in self.removed})
        for ident, second in _statuses(later):
            first = status.get(ident)
            net = _compose(first, second)
            if net is None:
                status.pop(ident, None)
            else:
                status[ident] = net
        return ChangeSet.of(
            (i for i, s in status.items() if s == _ADDED),
            (i for i, s in status.items() if s == _CHANGED),
            (i for i, s in status.items() if s == _REMOVED),
        )


def _statuses(changes: ChangeSet) -> Iterable[tuple[str, str]]:
    yield from ((i, _ADDED) for i in changes.added)
    yield from ((i, _CHANGED) for i in changes.changed)
    yield from ((i, _REMOVED) for i in changes.removed)


def _compose(first: str | None, second: str) -> str | None:
    if first is None:
        return second
    if first == _ADDED:
        return None if second == _REMOVED else _ADDED
    if first == _REMOVED:
        return _CHANGED  # only an add can follow a removal
    return _REMOVED if second == _REMOVED else _CHANGED


EMPTY = ChangeSet()
