"""History over a plain dict target: steps, groups, merging, memory budget, clean marker."""

from __future__ import annotations

import pytest

from app.core.errors import ConflictError
from app.core.history import Command, History, HistoryState

Target = dict[str, int]


class SetValue(Command[Target]):
    """target[key] = value, storing only the old value (a diff)."""

    def __init__(self, key: str, value: int, *, size: int = 100, mergeable: bool = False):
        self.key, self.value, self.size, self.mergeable = key, value, size, mergeable
        self.before: int | None = None
        self.description = f"Set {key}"

    def do(self, target: Target) -> str:
        self.before = target.get(self.key)
        target[self.key] = self.value
        return self.key

    def undo(self, target: Target) -> str:
        if self.before is None:
            del target[self.key]
        else:
            target[self.key] = self.before
        return self.key

    def size_bytes(self) -> int:
        return self.size

    def merge_with(self, other: Command[Target]) -> bool:
        if not (self.mergeable and isinstance(other, SetValue) and other.key == self.key):
            return False
        self.value = other.value  # keep our `before`, take the newest value
        return True

    @property
    def obsolete(self) -> bool:
        return self.before == self.value


class Fails(Command[Target]):
    description = "Fail"

    def do(self, target: Target) -> None:
        raise RuntimeError("cannot do")

    def undo(self, target: Target) -> None:  # never reached: do() failed
        raise AssertionError("undo of a command that never ran")


@pytest.fixture
def target() -> Target:
    return {}


@pytest.fixture
def history(target: Target) -> History[Target]:
    return History(target)


def test_push_undo_redo_restore_states(history: History[Target], target: Target) -> None:
    history.push(SetValue("a", 1))
    history.push(SetValue("a", 2))
    assert target == {"a": 2}
    assert history.undo() == "a" and target == {"a": 1}
    assert history.undo() == "a" and target == {}
    assert not history.can_undo and history.can_redo
    history.redo()
    history.redo()
    assert target == {"a": 2} and not history.can_redo


def test_labels_list_newest_first(history: History[Target]) -> None:
    for key in "abc":
        history.push(SetValue(key, 1))
    history.undo()
    assert history.undo_labels() == ["Set b", "Set a"]
    assert history.redo_labels() == ["Set c"]
    assert (history.undo_text, history.redo_text) == ("Set b", "Set c")


def test_empty_stacks_raise(history: History[Target]) -> None:
    with pytest.raises(ConflictError, match="nothing to undo"):
        history.undo()
    with pytest.raises(ConflictError, match="nothing to redo"):
        history.redo()


def test_new_push_after_undo_clears_redo(history: History[Target], target: Target) -> None:
    history.push(SetValue("a", 1))
    history.push(SetValue("b", 2))
    history.undo()
    history.push(SetValue("c", 3))
    assert not history.can_redo
    assert target == {"a": 1, "c": 3}
    assert history.undo_labels() == ["Set c", "Set a"]


def test_failed_do_records_nothing(history: History[Target]) -> None:
    with pytest.raises(RuntimeError):
        history.push(Fails())
    assert not history.can_undo


def test_group_is_one_step_and_nests(history: History[Target], target: Target) -> None:
    with history.group("Brush stroke"):
        history.push(SetValue("a", 1))
        with history.group("Inner"):
            history.push(SetValue("b", 2))
        history.push(SetValue("c", 3))
        assert not history.can_undo  # no undo while a gesture is open
    assert history.undo_labels() == ["Brush stroke"]
    history.undo()
    assert target == {}
    history.redo()
    assert target == {"a": 1, "b": 2, "c": 3}


def test_group_rolls_back_when_the_block_raises(history: History[Target], target: Target) -> None:
    history.push(SetValue("a", 1))
    with pytest.raises(KeyError):
        with history.group("Broken"):
            history.push(SetValue("a", 5))
            history.push(SetValue("b", 2))
            raise KeyError("tool crashed")
    assert target == {"a": 1}
    assert history.undo_labels() == ["Set a"]


def test_inner_group_failure_keeps_the_outer_work(
    history: History[Target], target: Target
) -> None:
    with history.group("Outer"):
        history.push(SetValue("a", 1))
        with pytest.raises(ValueError):
            with history.group("Inner"):
                history.push(SetValue("b", 2))
                raise ValueError
    assert target == {"a": 1}
    assert history.undo_labels() == ["Outer"]


def test_empty_group_records_nothing(history: History[Target]) -> None:
    with history.group("Nothing"):
        pass
    assert not history.can_undo


def test_undo_inside_a_group_is_refused(history: History[Target]) -> None:
    history.push(SetValue("a", 1))
    with history.group("G"):
        with pytest.raises(ConflictError, match="group is open"):
            history.undo()


def test_consecutive_mergeable_commands_make_one_step(
    history: History[Target], target: Target
) -> None:
    for value in range(1, 6):
        history.push(SetValue("x", value, mergeable=True))
    assert history.undo_labels() == ["Set x"]
    history.undo()
    assert target == {}
    history.redo()
    assert target == {"x": 5}


def test_merge_that_cancels_out_drops_the_step(history: History[Target], target: Target) -> None:
    target["x"] = 0
    history.push(SetValue("x", 3, mergeable=True))
    history.push(SetValue("x", 0, mergeable=True))
    assert not history.can_undo and target == {"x": 0}


def test_no_merge_across_an_undo_or_into_the_saved_step(history: History[Target]) -> None:
    history.push(SetValue("x", 1, mergeable=True))
    history.mark_saved()
    history.push(SetValue("x", 2, mergeable=True))
    assert len(history.undo_labels()) == 2  # the saved state stays reachable
    history.push(SetValue("y", 1, mergeable=True))
    history.undo()
    history.push(SetValue("x", 3, mergeable=True))  # top is "x" but a redo branch existed
    assert len(history.undo_labels()) == 3


def test_memory_budget_drops_oldest_steps_first(target: Target) -> None:
    history: History[Target] = History(target, budget_bytes=1000)
    for index in range(10):
        history.push(SetValue(f"k{index}", index, size=300))
    assert history.size_bytes <= 1000
    assert history.undo_labels() == ["Set k9", "Set k8", "Set k7"]
    while history.can_undo:
        history.undo()
    assert "k6" in target and "k7" not in target  # older steps are no longer undoable


def test_memory_budget_keeps_the_newest_step_even_if_too_large(target: Target) -> None:
    history: History[Target] = History(target, budget_bytes=1000)
    history.push(SetValue("a", 1, size=10))
    history.push(SetValue("huge", 1, size=5000))
    assert history.undo_labels() == ["Set huge"]
    assert history.size_bytes == 5000


def test_budget_is_rechecked_after_a_merge_grows_a_step(target: Target) -> None:
    history: History[Target] = History(target, budget_bytes=1000)
    history.push(SetValue("a", 1, size=600))
    grow = SetValue("b", 1, size=100, mergeable=True)
    history.push(grow)
    grow.size = 700  # the merge below makes the top step bigger
    history.push(SetValue("b", 2, mergeable=True))
    assert history.undo_labels() == ["Set b"]


def test_dirty_marker_follows_undo_and_redo(history: History[Target]) -> None:
    assert not history.is_dirty
    history.push(SetValue("a", 1))
    history.mark_saved()
    history.push(SetValue("b", 2))
    assert history.is_dirty
    history.undo()
    assert not history.is_dirty
    history.undo()
    assert history.is_dirty
    history.redo()
    assert not history.is_dirty


def test_saved_state_lost_in_a_cleared_redo_branch_stays_dirty(history: History[Target]) -> None:
    history.push(SetValue("a", 1))
    history.push(SetValue("b", 2))
    history.mark_saved()
    history.undo()
    history.push(SetValue("c", 3))
    history.undo()
    assert history.is_dirty  # back where "a" was set, which is not what was saved


def test_saved_initial_state_dropped_by_the_budget_stays_dirty(target: Target) -> None:
    history: History[Target] = History(target, budget_bytes=500)
    for key in "abc":
        history.push(SetValue(key, 1, size=300))
    while history.can_undo:
        history.undo()
    assert history.undo_labels() == []
    assert history.is_dirty and target == {"a": 1, "b": 1}


def test_clear_forgets_steps_but_not_dirtiness(history: History[Target]) -> None:
    history.push(SetValue("a", 1))
    history.clear()
    assert history.is_dirty and not history.can_undo
    history.mark_saved()
    history.clear()
    assert not history.is_dirty


def test_history_changed_carries_the_state(history: History[Target]) -> None:
    states: list[HistoryState] = []
    history.events.subscribe("history_changed", states.append)
    history.push(SetValue("a", 1))
    history.undo()
    history.redo()
    history.mark_saved()
    assert [(s.can_undo, s.can_redo, s.undo_text, s.redo_text, s.is_dirty) for s in states] == [
        (True, False, "Set a", None, True),
        (False, True, None, "Set a", False),
        (True, False, "Set a", None, True),
        (True, False, "Set a", None, False),
    ]
    history.mark_saved()  # already clean: no event
    assert len(states) == 4


def test_group_announces_that_undo_is_off_then_on(history: History[Target]) -> None:
    history.push(SetValue("a", 1))
    states: list[HistoryState] = []
    history.events.subscribe("history_changed", states.append)
    with history.group("Stroke"):
        history.push(SetValue("b", 1))
        history.push(SetValue("c", 1))
    with history.group("Nothing"):
        pass
    assert [(s.can_undo, s.undo_text) for s in states] == [
        (False, "Set a"), (True, "Stroke"), (False, "Stroke"), (True, "Stroke"),
    ]


def test_a_command_cannot_push_while_it_is_being_undone(history: History[Target]) -> None:
    class Reentrant(SetValue):
        def undo(self, target: Target) -> str:
            history.push(SetValue("z", 1))
            return super().undo(target)

    history.push(Reentrant("a", 1))
    with pytest.raises(ConflictError, match="while a command is running"):
        history.undo()
    assert history.can_undo  # the failed undo left the stacks as they were
