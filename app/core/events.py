"""A tiny typed event emitter, without Qt.

Events are past-tense facts (`annotation_added`, `history_changed`): the emitter says what
happened, and each listener decides what to do about it. The Qt layer bridges these into
signals where it needs them; the core never waits for a GUI.

References are strong by default. Most listeners are lambdas or closures, and a weak
reference to those dies at once, silently dropping the subscription: a bug far harder to find
than a leak. A listener whose owner must not be kept alive by the emitter (a view that may
close before its document) subscribes with `weak=True` and holds a weak reference to a bound
method, dropped when its object is collected; or it keeps the returned unsubscribe handle.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from app.core.errors import ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T")
Listener = Callable[[T], object]
Unsubscribe = Callable[[], None]


class Event(Generic[T]):
    """One named event carrying a payload of type T to every listener."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Each entry returns the live listener or None once a weak target is gone.
        self._entries: list[tuple[Callable[[], Listener[T] | None], Any]] = []

    def subscribe(self, listener: Listener[T], *, weak: bool = False) -> Unsubscribe:
        """Call `listener(payload)` on every emit; returns a handle that unsubscribes."""
        if not callable(listener):
            raise ValidationError("listener is not callable", where=self.name)
        deref = _weak_deref(listener) if weak else (lambda: listener)
        self._entries.append((deref, _identity(listener)))
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Listener[T]) -> bool:
        """Remove the listener; returns False when it was not subscribed."""
        key = _identity(listener)
        for index, (deref, identity) in enumerate(self._entries):
            if identity == key and deref() is not None:
                del self._entries[index]
                return True
        return False

    def emit(self, payload: T) -> None:
        """Deliver payload to each listener; one that raises is logged and skipped."""
        # Iterate over a copy: a listener may (un)subscribe while we deliver.
        for deref, _ in list(self._entries):
            listener = deref()
            if listener is None:
                continue
            try:
                listener(payload)
            except Exception:
                log.exception("listener %r of %r failed", listener, self.name)
        self._entries = [entry for entry in self._entries if entry[0]() is not None]

    @property
    def listener_count(self) -> int:
        return sum(1 for deref, _ in self._entries if deref() is not None)


class Emitter:
    """A fixed set of named events; unknown names raise, so a typo fails loudly."""

    def __init__(self, names: Iterable[str]) -> None:
        self._events: dict[str, Event[Any]] = {name: Event(name) for name in names}

    def __getitem__(self, name: str) -> Event[Any]:
        try:
            return self._events[name]
        except KeyError:
            known = ", ".join(sorted(self._events))
            raise ValidationError(f"unknown event (known: {known})", where=name) from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._events)

    def subscribe(self, name: str, listener: Listener[Any], *, weak: bool = False) -> Unsubscribe:
        return self[name].subscribe(listener, weak=weak)

    def unsubscribe(self, name: str, listener: Listener[Any]) -> bool:
        return self[name].unsubscribe(listener)

    def emit(self, name: str, payload: Any = None) -> None:
        self[name].emit(payload)


def _identity(listener: Callable[..., object]) -> Any:
    # Bound methods are created afresh on each attribute access, so `obj.method` is never
    # the same object twice: compare them by (object id, function) instead.
    self_obj = getattr(listener, "__self__", None)
    func = getattr(listener, "__func__", None)
    if self_obj is not None and func is not None:
        return ("method", id(self_obj), func)
    return ("callable", id(listener))


def _weak_deref(listener: Callable[..., object]) -> Callable[[], Any]:
    if getattr(listener, "__self__", None) is not None and hasattr(listener, "__func__"):
        return weakref.WeakMethod(listener)  # type: ignore[arg-type]
    return weakref.ref(listener)
