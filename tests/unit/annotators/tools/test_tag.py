"""Tag tool: one click tags the whole image with the current label, never twice."""

from __future__ import annotations

import pytest

from app.annotators.annotation import Annotation
from app.annotators.document import AnnotationDocument
from app.annotators.shapes import Box, Tag
from app.annotators.tools.tag import TagTool
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    assert_undo_redo_exact,
    click,
    dbl_click,
    key,
    press,
)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="night")


@pytest.fixture
def tool(ctx: FakeContext) -> TagTool:
    return TagTool(ctx)


def test_click_adds_a_selected_tag(ctx: FakeContext, tool: TagTool) -> None:
    before = ctx.snapshot()
    click(tool, 300, 200)
    ann = ctx.only
    assert ann.shape == Tag() and ann.label == "night"
    assert (ann.author, ann.source) == ("tester", "human")
    assert ctx.selection == {ann.id}
    assert ctx.history.undo_labels() == ["Tag night"]
    assert not tool.busy
    assert_undo_redo_exact(ctx, before)


def test_return_adds_a_tag(ctx: FakeContext, tool: TagTool) -> None:
    assert tool.on_key(key("Return"))
    assert ctx.only.shape == Tag()


def test_existing_tag_is_not_duplicated(ctx: FakeContext, tool: TagTool) -> None:
    click(tool, 1, 1)
    first = ctx.only
    ctx.set_selection([])
    click(tool, 2, 2)
    tool.on_key(key("Return"))
    assert ctx.snapshot() == [first]
    assert "already tagged 'night'" in ctx.messages[-1]
    assert ctx.selection == {first.id}
    assert len(ctx.history.undo_labels()) == 1


def test_double_click_tags_once_and_says_nothing(ctx: FakeContext, tool: TagTool) -> None:
    dbl_click(tool, 5, 5)
    assert len(ctx.document) == 1 and ctx.messages == []


def test_other_labels_get_their_own_tag(ctx: FakeContext, tool: TagTool) -> None:
    click(tool, 1, 1)
    ctx.label = "rain"
    click(tool, 1, 1)
    assert sorted(a.label for a in ctx.document) == ["night", "rain"]


def test_a_shape_of_the_same_label_is_not_a_tag() -> None:
    box = Annotation.new(asset_id=1, label="night", shape=Box(0, 0, 5, 5), author="a")
    ctx = FakeContext(document=AnnotationDocument(1, [box]), label="night")
    before = ctx.snapshot()
    click(TagTool(ctx), 1, 1)
    assert len(ctx.document) == 2
    assert_undo_redo_exact(ctx, before)


def test_after_undo_the_tag_can_be_added_again(ctx: FakeContext, tool: TagTool) -> None:
    click(tool, 1, 1)
    ctx.history.undo()
    click(tool, 1, 1)
    assert len(ctx.document) == 1


def test_without_a_label_nothing_is_added(ctx: FakeContext, tool: TagTool) -> None:
    ctx.label = ""
    click(tool, 1, 1)
    assert len(ctx.document) == 0 and "label" in ctx.messages[-1]


def test_other_buttons_and_keys_are_not_consumed(tool: TagTool) -> None:
    assert not tool.on_pointer(press(1, 1, button="right"))
    assert not tool.on_key(key("Escape"))
    assert "night" in tool.preview().hint  # type: ignore[union-attr]
