"""Smart tool over a real PrelabelAssist: GrabCut (no weights) and a tiny SAM checkpoint.

Shapes are checked against the generated image's known objects by IoU; the tool never runs
the model itself, so answers are delivered when the test calls `requests.flush()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.annotators.geometry import iou
from app.annotators.masks import decode, encode
from app.annotators.ontology import parse_schema
from app.annotators.shapes import Box, Mask, Polygon
from app.annotators.tools.smart import SmartTool
from app.editing.assist import PrelabelAssist
from app.models.grabcut import GrabCutPreLabeler
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    assert_undo_redo_exact,
    click,
    drag,
    hover,
    key,
)
from tests.unit.editing.assist_requests import AssistRequests

W, H = 320, 240
CENTRE, RADIUS = (160, 120), 50


def _image() -> np.ndarray:
    rng = np.random.default_rng(5)
    img = rng.integers(0, 40, (H, W, 3), dtype=np.uint8)
    cv2.circle(img, CENTRE, RADIUS, (40, 200, 230), -1)
    return img


def _truth() -> Mask:
    bits = np.zeros((H, W), np.uint8)
    cv2.circle(bits, CENTRE, RADIUS, 1, -1)
    return encode(bits.astype(bool))


@pytest.fixture
def assist(tmp_path: Path) -> Iterator[PrelabelAssist]:
    a = PrelabelAssist(GrabCutPreLabeler, tmp_path / "cache")
    image = _image()
    a.open("sha-circle", lambda: image).result(30)
    yield a
    a.close()


@pytest.fixture
def ctx(assist: PrelabelAssist) -> FakeContext:
    c = FakeContext(label="ball", image_size=(W, H))
    c.assist = AssistRequests(assist)  # type: ignore[attr-defined]
    return c


@pytest.fixture
def tool(ctx: FakeContext) -> SmartTool:
    return SmartTool(ctx)


def _requests(ctx: FakeContext) -> AssistRequests:
    return ctx.assist  # type: ignore[attr-defined, no-any-return]


def test_click_then_return_adds_a_polygon_of_the_object(ctx: FakeContext, tool: SmartTool) -> None:
    before = ctx.snapshot()
    click(tool, *CENTRE)
    assert tool.waiting and tool.preview() is not None
    assert _requests(ctx).flush() == 1
    assert not tool.waiting and tool.candidates
    assert tool.preview().mask is not None  # type: ignore[union-attr]
    tool.on_key(key("Return"))
    ann = ctx.only
    assert isinstance(ann.shape, Polygon)
    assert (ann.label, ann.source, ann.author) == ("ball", "human", "tester")
    assert iou(ann.shape, _truth()) >= 0.9
    assert not tool.busy and tool.preview() is None
    assert ctx.selection == {ann.id}
    assert_undo_redo_exact(ctx, before)


def test_box_prompt_accepts_as_mask_with_shift_and_as_box_with_alt(ctx: FakeContext, tool: SmartTool) -> None:
    (cx, cy), r = CENTRE, RADIUS
    box = (cx - r - 12, cy - r - 12, cx + r + 12, cy + r + 12)
    drag(tool, box[:2], box[2:])
    assert _requests(ctx).sent[-1].box == box and not _requests(ctx).sent[-1].positive
    _requests(ctx).flush()
    tool.on_key(key("Return", ["shift"]))
    mask = ctx.only.shape
    assert isinstance(mask, Mask) and iou(mask, _truth()) >= 0.9
    drag(tool, box[:2], box[2:])
    _requests(ctx).flush()
    tool.on_key(key("Return", ["alt"]))
    boxes = [a.shape for a in ctx.snapshot() if isinstance(a.shape, Box)]
    assert len(boxes) == 1 and iou(boxes[0], Box(cx - r, cy - r, cx + r, cy + r)) >= 0.9


def test_box_plus_clicks_and_negative_clicks_are_sent_together(ctx: FakeContext, tool: SmartTool) -> None:
    drag(tool, (90, 50), (230, 190))
    click(tool, 160, 120)
    click(tool, 100, 60, button="right")
    click(tool, 110, 70, modifiers=["alt"])
    last = _requests(ctx).sent[-1]
    assert last.box == (90, 50, 230, 190)
    assert last.positive == ((160, 120),) and last.negative == ((100, 60), (110, 70))
    preview = tool.preview()
    assert preview is not None and preview.prompt_points == ((160, 120, True), (100, 60, False), (110, 70, False))


def test_a_stale_answer_is_never_shown(ctx: FakeContext, tool: SmartTool) -> None:
    click(tool, *CENTRE)
    first_version = tool._version
    click(tool, 20, 20, button="right")  # the prompt changes before the first answer arrives
    _requests(ctx).flush()
    assert tool._version != first_version and not tool.waiting
    assert _requests(ctx).sent[-1].negative == ((20, 20),)


def test_backspace_takes_back_the_last_point_and_escape_clears(ctx: FakeContext, tool: SmartTool) -> None:
    click(tool, *CENTRE)
    click(tool, 150, 110)
    _requests(ctx).flush()
    assert tool.on_key(key("Backspace"))
    assert tool.positive == (CENTRE,)
    assert _requests(ctx).sent[-1].positive == (CENTRE,)
    assert _requests(ctx).sent[-1].previous_logits is None  # that mask came from the removed point
    assert tool.on_key(key("Escape"))
    assert not tool.busy and tool.preview() is None
    assert not tool.on_key(key("Escape"))  # nothing left for the tool: the window may have it
    assert ctx.snapshot() == []


def test_taking_back_the_only_point_cancels(ctx: FakeContext, tool: SmartTool) -> None:
    click(tool, *CENTRE)
    tool.on_key(key("z", ["ctrl"]))
    assert not tool.busy


def test_hover_previews_the_object_under_the_pointer_until_a_click(ctx: FakeContext, tool: SmartTool) -> None:
    tool.on_pointer(hover(30, 30))
    tool.on_pointer(hover(*CENTRE))  # the first request is replaced (latest wins)
    _requests(ctx).flush()
    preview = tool.preview()
    assert preview is not None and preview.mask is not None and preview.hint == ""
    assert iou(preview.mask, _truth()) >= 0.9
    tool.on_key(key("Return"))  # a hover preview is not accepted by Return: nothing is pending
    assert ctx.snapshot() == []


def test_return_before_the_answer_says_to_wait(ctx: FakeContext, tool: SmartTool) -> None:
    click(tool, *CENTRE)
    tool.on_key(key("Return"))
    assert ctx.snapshot() == [] and "Wait" in ctx.messages[-1]


def test_keys_claimed_only_while_prompting_and_never_ctrl_return(ctx: FakeContext, tool: SmartTool) -> None:
    assert not tool.claims_key(key("Tab"))
    click(tool, *CENTRE)
    assert tool.claims_key(key("Tab")) and tool.claims_key(key("Return"))
    assert not tool.claims_key(key("Return", ["ctrl"]))  # submits the task
    assert not tool.on_key(key("Return", ["ctrl"]))


def test_the_schema_decides_the_shape_kind(assist: PrelabelAssist) -> None:
    schema = parse_schema({"name": "balls", "version": 1, "classes": [{"name": "ball", "colour": "#ff0000",
                                                       "allowed_kinds": ["box", "mask"]}]})
    ctx = FakeContext(label="ball", image_size=(W, H), schema=schema)
    ctx.assist = AssistRequests(assist)  # type: ignore[attr-defined]
    tool = SmartTool(ctx)
    click(tool, *CENTRE)
    ctx.assist.flush()  # type: ignore[attr-defined]
    tool.on_key(key("Return"))  # polygon: refused by the schema, the prompt stays
    assert ctx.snapshot() == [] and "ball takes box" in ctx.messages[-1]
    assert tool.busy
    tool.on_key(key("Return", ["alt"]))
    assert isinstance(ctx.only.shape, Box)


def test_without_an_assist_the_tool_says_so() -> None:
    ctx = FakeContext(label="ball", image_size=(W, H))
    tool = SmartTool(ctx)
    click(tool, 10, 10)
    assert "not available" in ctx.messages[-1]


def test_errors_from_the_model_are_reported(tmp_path: Path) -> None:
    def broken() -> GrabCutPreLabeler:
        raise RuntimeError("weights missing")

    a = PrelabelAssist(broken, tmp_path / "cache")
    try:
        a.open("sha", lambda: _image())
        ctx = FakeContext(label="ball", image_size=(W, H))
        ctx.assist = AssistRequests(a)  # type: ignore[attr-defined]
        tool = SmartTool(ctx)
        click(tool, *CENTRE)
        ctx.assist.flush()  # type: ignore[attr-defined]
        assert "weights missing" in ctx.messages[-1] and not tool.waiting
    finally:
        a.close()


def test_decoded_preview_matches_the_candidate(ctx: FakeContext, tool: SmartTool) -> None:
    click(tool, *CENTRE)
    _requests(ctx).flush()
    preview = tool.preview()
    assert preview is not None and np.array_equal(decode(preview.mask), tool.candidates[0].mask)
