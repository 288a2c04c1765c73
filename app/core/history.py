"""Undo/redo over any target object, bounded by memory rather than by step count.

A command is a verb with `do(target)` and `undo(target)` that stores a diff, never a snapshot.
`History` runs it, keeps it as one step, and merges consecutive mergeable commands (a drag of
200 mouse moves is one step). `group()` makes everything inside one step, and rolls it back if
the block raises. When the steps' estimated sizes exceed the budget the oldest steps go; the
newest always stays. This module knows nothing of annotations: it lives in core so that any
editable thing (settings, a track, a transcript) can reuse it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import Any, Generic, TypeVar

from app.core.errors import ConflictError
from app.core.events import Emitter

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024
HISTORY_CHANGED = "history_changed"


class Command(ABC, Generic[T]):
    """Base of undoable edits. Subclasses implement `do` and `undo` and set `description`."""

    description: str = "Edit"

    @abstractmethod
    def do(self, target: T) -> Any:
        ...

    @abstractmethod
    def undo(self, target: T) -> Any:
        ...

    def size_bytes(self) -> int:
        """Estimated memory the command holds; the history budget adds these up."""
        return 256

    def merge_with(self, other: Command[T]) -> bool:
        """Absorb `other`, which has just been done after self; True if absorbed."""
        return False

    @property
    def obsolete(self) -> bool:
        """True when the command (after merging) changes nothing and need not be kept."""
        return False


class CompositeCommand(Command[T]):
    """Several commands done in order and undone in reverse, as one step."""

    def __init__(self, description: str, commands: Sequence[Command[T]]) -> None:
        self.description = description
        self.commands = list(commands)

    def do(self, target: T) -> Any:
        return _combine([command.do(target) for command in self.commands])

    def undo(self, target: T) -> Any:
        return _combine([command.undo(target) for command in reversed(self.commands)])

    def size_bytes(self) -> int:
        return 64 + sum(command.size_bytes() for command in self.commands)

    @property
    def obsolete(self) -> bool:
        return all(command.obsolete for command in self.commands)


@dataclass(frozen=True, slots=True)
class HistoryState:
    """The payload of `history_changed`: what an Edit menu or history panel shows."""

    can_undo: bool
    can_redo: bool
    undo_text: str | None
    redo_text: str | None
    is_dirty: bool
    size_bytes: int


@dataclass(slots=True)
class _Step:
    id: int  # identifies the state this step leads to; the clean marker refers to it
    command: Command[Any]
    size: int


class History(Generic[T]):
    """Undo and redo stacks of commands applied to one target."""

    def __init__(self, target: T, *, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes <= 0:
            raise ValueError("budget_bytes must be positive")
        self.target = target
        self.budget_bytes = budget_bytes
        self.events = Emitter([HISTORY_CHANGED])
        self._undo: deque[_Step] = deque()
        self._redo: list[_Step] = []
        self._groups: list[list[Command[T]]] = []
        self._next_id = 1
        self._base_id = 0  # the state below the oldest undo step
        self._saved_id: int | None = 0
        self._total = 0
        self._busy = False  # guards against listeners pushing while we replay

    # -- queries -------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self._groups

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not self._groups

    def undo_labels(self) -> list[str]:
        """Descriptions of the undo steps, most recent first."""
        return [step.command.description for step in reversed(self._undo)]

    def redo_labels(self) -> list[str]:
        """Descriptions of the redo steps, next to redo first."""
        return [step.command.description for step in reversed(self._redo)]

    @property
    def undo_text(self) -> str | None:
        return self._undo[-1].command.description if self._undo else None

    @property
    def redo_text(self) -> str | None:
        return self._redo[-1].command.description if self._redo else None

    @property
    def size_bytes(self) -> int:
        return self._total

    @property
    def is_dirty(self) -> bool:
        return self._state_id() != self._saved_id

    def state(self) -> HistoryState:
        return HistoryState(
            self.can_undo, self.can_redo, self.undo_text, self.redo_text,
            self.is_dirty, self._total,
        )

    # -- editing -------------------------------------------------------------------------

    def push(self, command: Command[T]) -> Any:
        """Do the command and record it (merged into the previous step when it allows)."""
        self._check_idle("push", allow_in_group=True)
        self._busy = True
        try:
            result = command.do(self.target)
        finally:
            self._busy = False
        if self._groups:
            _append_merging(self._groups[-1], command)
        else:
            self._record(command)
        return result

    def undo(self) -> Any:
        """Undo the newest step; returns what its command's undo returned."""
        self._check_idle("undo")
        if not self._undo:
            raise ConflictError("nothing to undo")
        step = self._undo[-1]
        result = self._replay(step.command.undo)
        self._redo.append(self._undo.pop())
        self._emit()
        return result

    def redo(self) -> Any:
        """Redo the most recently undone step."""
        self._check_idle("redo")
        if not self._redo:
            raise ConflictError("nothing to redo")
        step = self._redo[-1]
        result = self._replay(step.command.do)
        self._undo.append(self._redo.pop())
        self._emit()
        return result

    @contextmanager
    def group(self, description: str) -> Iterator[None]:
        """Make every command pushed inside the block one undo step.

        Groups nest (an inner group becomes part of the outer step). If the block raises,
        the commands it did are undone in reverse order and the exception propagates.
        While the outermost group is open undo and redo are disabled, and listeners hear so.
        """
        self._check_idle("group", allow_in_group=True)
        outermost = not self._groups
        self._groups.append([])
        if outermost:
            self._emit()
        try:
            yield
        except BaseException:
            self._rollback(self._groups.pop())
            if outermost:
                self._emit()
            raise
        commands = self._groups.pop()
        if commands and not outermost:
            self._groups[-1].append(CompositeCommand(description, commands))
        elif commands:
            self._record(CompositeCommand(description, commands))
        if outermost and not commands:
            self._emit()  # nothing recorded: announce that undo is available again

    def mark_saved(self) -> None:
        """Remember the current state as the saved one."""
        was_dirty = self.is_dirty
        self._saved_id = self._state_id()
        if was_dirty:
            self._emit()

    def clear(self) -> None:
        """Forget every step; the dirty flag stays as it was."""
        self._check_idle("clear")
        self._base_id = self._state_id()
        self._undo.clear()
        self._redo.clear()
        self._total = 0
        self._emit()

    # -- internals -----------------------------------------------------------------------

    def _record(self, command: Command[T]) -> None:
        top = self._undo[-1] if self._undo else None
        # Never merge into the saved step: the saved state must stay reachable by undo.
        if (top is not None and not self._redo and top.id != self._saved_id
                and top.command.merge_with(command)):
            self._total -= top.size
            if top.command.obsolete:
                self._undo.pop()
            else:
                top.size = top.command.size_bytes()
                self._total += top.size
        elif command.obsolete:
            return
        else:
            self._drop_redo()
            step = _Step(self._next_id, command, command.size_bytes())
            self._next_id += 1
            self._undo.append(step)
            self._total += step.size
        self._enforce_budget()
        self._emit()

    def _drop_redo(self) -> None:
        self._total -= sum(step.size for step in self._redo)
        self._redo.clear()

    def _enforce_budget(self) -> None:
        while self._total > self.budget_bytes and len(self._undo) > 1:
            oldest = self._undo.popleft()
            self._base_id = oldest.id
            self._total -= oldest.size
            log.debug("history budget: dropped %r", oldest.command.description)

    def _rollback(self, commands: list[Command[T]]) -> None:
        self._busy = True
        try:
            for command in reversed(commands):
                try:
                    command.undo(self.target)
                except Exception:  # keep undoing the rest; the block's own error propagates
                    log.exception("rollback of %r failed", command.description)
        finally:
            self._busy = False

    def _replay(self, action: Any) -> Any:
        self._busy = True
        try:
            return action(self.target)
        finally:
            self._busy = False

    def _check_idle(self, what: str, *, allow_in_group: bool = False) -> None:
        if self._busy:
            raise ConflictError(f"cannot {what} while a command is running")
        if self._groups and not allow_in_group:
            raise ConflictError(f"cannot {what} while a group is open")

    def _state_id(self) -> int:
        return self._undo[-1].id if self._undo else self._base_id

    def _emit(self) -> None:
        self.events.emit(HISTORY_CHANGED, self.state())


def _append_merging(commands: list[Command[Any]], command: Command[Any]) -> None:
    """Inside a group: merge into the group's last command when it allows, else append."""
    if commands and commands[-1].merge_with(command):
        if commands[-1].obsolete:
            commands.pop()
    elif not command.obsolete:
        commands.append(command)


def _combine(results: list[Any]) -> Any:
    # Results that compose sequentially (a ChangeSet has `then`) fold into one; others
    # come back as the list, in the order they were produced.
    if results and all(hasattr(result, "then") for result in results):
        return reduce(lambda first, later: first.then(later), results)
    return results
