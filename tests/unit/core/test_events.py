"""The Qt-free emitter: delivery, unsubscription, weak listeners, failing listeners."""

from __future__ import annotations

import gc
import logging

import pytest

from app.core.errors import ValidationError
from app.core.events import Emitter, Event


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []

    def on_event(self, payload: object) -> None:
        self.seen.append(payload)


def test_emit_reaches_every_listener_in_subscription_order() -> None:
    event: Event[int] = Event("thing_happened")
    calls: list[tuple[str, int]] = []
    event.subscribe(lambda p: calls.append(("a", p)))
    event.subscribe(lambda p: calls.append(("b", p)))
    event.emit(7)
    assert calls == [("a", 7), ("b", 7)]


def test_unsubscribe_by_listener_and_by_handle() -> None:
    event: Event[int] = Event("thing_happened")
    seen: list[int] = []

    def listener(p: int) -> None:
        seen.append(p)

    handle = event.subscribe(listener)
    event.subscribe(seen.append)
    assert event.unsubscribe(listener) is True
    assert event.unsubscribe(listener) is False
    event.emit(1)
    handle()  # already gone: harmless
    assert seen == [1]


def test_bound_methods_unsubscribe_although_each_access_makes_a_new_object() -> None:
    event: Event[int] = Event("thing_happened")
    recorder = Recorder()
    event.subscribe(recorder.on_event)
    assert event.unsubscribe(recorder.on_event) is True
    event.emit(1)
    assert recorder.seen == []


def test_a_failing_listener_is_logged_and_the_others_still_run(caplog) -> None:
    event: Event[int] = Event("thing_happened")
    seen: list[int] = []

    def broken(_: int) -> None:
        raise RuntimeError("boom")

    event.subscribe(broken)
    event.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="app.core.events"):
        event.emit(3)
    assert seen == [3]
    assert "thing_happened" in caplog.text and "boom" in caplog.text


def test_weak_listener_goes_away_with_its_object_strong_one_stays() -> None:
    event: Event[int] = Event("thing_happened")
    weak_owner, strong_owner = Recorder(), Recorder()
    event.subscribe(weak_owner.on_event, weak=True)
    event.subscribe(strong_owner.on_event)
    event.emit(1)
    assert weak_owner.seen == [1]
    del weak_owner
    gc.collect()
    event.emit(2)
    assert strong_owner.seen == [1, 2]
    assert event.listener_count == 1


def test_strong_lambda_survives_without_any_other_reference() -> None:
    event: Event[int] = Event("thing_happened")
    box: list[int] = []
    event.subscribe(lambda p: box.append(p))
    gc.collect()
    event.emit(5)
    assert box == [5]


def test_listener_added_during_emit_hears_only_later_events() -> None:
    event: Event[int] = Event("thing_happened")
    late: list[int] = []

    def first(_: int) -> None:
        event.subscribe(late.append)

    event.subscribe(first)
    event.emit(1)
    assert late == []
    event.unsubscribe(first)
    event.emit(2)
    assert late == [2]


def test_emitter_routes_by_name_and_rejects_unknown_names() -> None:
    emitter = Emitter(["annotation_added", "annotation_removed"])
    added: list[object] = []
    emitter.subscribe("annotation_added", added.append)
    emitter.emit("annotation_added", "a1")
    emitter.emit("annotation_removed", "a2")
    assert added == ["a1"]
    assert emitter.names == ("annotation_added", "annotation_removed")
    with pytest.raises(ValidationError, match=r"^annotation_add: unknown event"):
        emitter.emit("annotation_add", None)


def test_non_callable_listener_is_refused() -> None:
    with pytest.raises(ValidationError, match="not callable"):
        Event("thing_happened").subscribe(42)  # type: ignore[arg-type]
