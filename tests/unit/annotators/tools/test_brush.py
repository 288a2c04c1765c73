"""Brush and eraser on masks, and the PatchMask command, over a real document and history."""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation, MoveAnnotations, SetHidden, SetLocked
from app.annotators.document import AnnotationDocument
from app.annotators.mask_patch import PatchMask, buffer_mask, mask_buffer, run_lengths
from app.annotators.masks import decode, encode
from app.annotators.shapes import Box, Mask, rle_run_lengths
from app.annotators.tools.brush import MAX_RADIUS, MIN_RADIUS, BrushTool, EraserTool
from app.core.history import History
from tests.unit.annotators.tools.fake_context import (
    FakeContext, click, drag, hover, key, move, press, release,
)


def add(ctx: FakeContext, shape: Any, label: str = "car") -> Annotation:
    annotation = Annotation.new(asset_id=ctx.asset_id, label=label, shape=shape, author="a")
    ctx.history.push(AddAnnotation(annotation))
    return annotation


def bits_of(ctx: FakeContext, annotation: Annotation) -> np.ndarray:
    return decode(ctx.document.get(annotation.id).shape)


def block(height: int = 480, width: int = 640) -> np.ndarray:
    bits = np.zeros((height, width), dtype=bool)
    bits[100:200, 100:300] = True
    return bits


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="road", image_size=(640, 480))


# -- brush -------------------------------------------------------------------------------------

def test_first_stroke_creates_a_selected_mask_in_one_step(ctx: FakeContext) -> None:
    brush = BrushTool(ctx)
    brush.radius = 5
    drag(brush, (50, 50), (150, 50), steps=10)
    created = ctx.only
    assert created.label == "road" and isinstance(created.shape, Mask)
    assert ctx.selection == {created.id}
    bits = bits_of(ctx, created)
    assert (created.shape.height, created.shape.width) == (480, 640)
    assert bits[50, 45:155].all() and not bits[50, 156] and not bits[56, 100]
    assert ctx.history.undo_labels() == ["Paint mask"]
    ctx.history.undo()
    assert len(ctx.document) == 0
    ctx.history.redo()
    assert ctx.snapshot() == [created]


def test_fast_drag_leaves_no_gaps(ctx: FakeContext) -> None:
    brush = BrushTool(ctx)
    brush.radius = 2
    brush.on_pointer(press(10, 300))
    brush.on_pointer(move(600, 20))  # one event across most of the image
    brush.on_pointer(release(600, 20))
    bits = bits_of(ctx, ctx.only)
    for x in range(10, 600, 7):
        y = int(300 + (20 - 300) * (x + 0.5 - 10) / 590)
        assert bits[y - 1:y + 2, x].any(), f"gap at x={x}"


def test_second_stroke_paints_into_selected_mask_with_a_small_command(
        ctx: FakeContext) -> None:
    road = add(ctx, encode(block()), "road")
    ctx.set_selection([road.id])
    before = ctx.snapshot()
    brush = BrushTool(ctx)
    brush.radius = 3
    drag(brush, (400, 50), (420, 50))
    assert len(ctx.document) == 1
    bits = bits_of(ctx, road)
    assert bits[50, 400:421].all() and bits[150, 150]
    step = ctx.history._undo[-1].command  # the recorded step: a patch, not two masks
    assert isinstance(step, PatchMask) and step.size_bytes() < 600
    ctx.history.undo()
    assert ctx.snapshot() == before
    ctx.history.redo()
    assert bits_of(ctx, road)[50, 400:421].all()


def test_selected_mask_of_another_label_starts_a_new_mask(ctx: FakeContext) -> None:
    car = add(ctx, encode(block()), "car")
    ctx.set_selection([car.id])
    click(BrushTool(ctx), 500, 400)
    assert len(ctx.document) == 2
    (new,) = [a for a in ctx.document if a.id != car.id]
    assert new.label == "road" and ctx.selection == {new.id}
    assert not bits_of(ctx, car)[400, 500]


def test_locked_or_hidden_target_is_refused(ctx: FakeContext) -> None:
    road = add(ctx, encode(block()), "road")
    ctx.history.push(SetLocked([road.id], True))
    ctx.set_selection([road.id])
    before = ctx.snapshot()
    drag(BrushTool(ctx), (400, 50), (420, 50))
    drag(EraserTool(ctx), (150, 150), (160, 150))
    assert ctx.snapshot() == before and "locked" in ctx.messages[-1]
    ctx.history.push(SetLocked([road.id], False))
    ctx.history.push(SetHidden([road.id], True))
    drag(EraserTool(ctx), (150, 150), (160, 150))
    assert "hidden" in ctx.messages[-1] and bits_of(ctx, road)[150, 150]


def test_painting_over_set_pixels_or_off_image_records_nothing(ctx: FakeContext) -> None:
    road = add(ctx, encode(block()), "road")
    ctx.set_selection([road.id])
    steps = ctx.history.undo_labels()
    drag(BrushTool(ctx), (150, 150), (160, 150))  # already painted there
    drag(BrushTool(ctx), (-100, -100), (-50, -100))  # off the image
    assert ctx.history.undo_labels() == steps


def test_escape_cancels_the_stroke(ctx: FakeContext) -> None:
    brush = BrushTool(ctx)
    brush.on_pointer(press(50, 50))
    brush.on_pointer(move(100, 50))
    assert brush.busy and brush.preview().path == ((50, 50), (100, 50))
    assert brush.on_key(key("Escape"))
    brush.on_pointer(release(100, 50))
    assert len(ctx.document) == 0 and not brush.busy


def test_stroke_is_dropped_when_the_mask_changes_under_it(ctx: FakeContext) -> None:
    road = add(ctx, encode(block()), "road")
    ctx.set_selection([road.id])
    brush = BrushTool(ctx)
    brush.on_pointer(press(400, 50))
    ctx.history.push(MoveAnnotations([road.id], 1, 0))  # e.g. a sync lands mid-stroke
    moved = ctx.snapshot()
    brush.on_pointer(release(420, 50))
    assert ctx.snapshot() == moved and "changed during the stroke" in ctx.messages[-1]


def test_radius_keys_attribute_and_cursor_ring(ctx: FakeContext) -> None:
    brush = BrushTool(ctx)
    brush.radius = 10
    brush.on_key(key("]"))
    assert brush.radius == 12.5
    brush.on_key(key("["))
    brush.on_key(key("["))
    assert brush.radius == 8
    brush.radius = 0
    assert brush.radius == MIN_RADIUS
    brush.on_key(key("]"))
    assert brush.radius == 2
    brush.radius = 10_000
    assert brush.radius == MAX_RADIUS
    brush.on_pointer(hover(30, 40))
    assert brush.preview().cursor_ring == (30, 40, MAX_RADIUS)


# -- eraser ------------------------------------------------------------------------------------

def test_eraser_removes_pixels_from_selected_mask(ctx: FakeContext) -> None:
    road = add(ctx, encode(block()), "other label is fine")
    ctx.set_selection([road.id])
    before = ctx.snapshot()
    eraser = EraserTool(ctx)
    eraser.radius = 4
    drag(eraser, (120, 150), (280, 150))
    bits = bits_of(ctx, road)
    assert not bits[150, 120:281].any() and bits[140, 200] and bits.sum() < 100 * 200
    assert ctx.history.undo_labels()[0].startswith("Erase")
    ctx.history.undo()
    assert ctx.snapshot() == before


def test_eraser_picks_topmost_mask_under_pointer(ctx: FakeContext) -> None:
    low = add(ctx, encode(block()), "a")
    high = add(ctx, encode(block()), "b")
    add(ctx, Box(0, 0, 640, 480), "box on top")  # not a mask: ignored
    click(EraserTool(ctx), 150, 150)
    assert bits_of(ctx, low)[150, 150] and not bits_of(ctx, high)[150, 150]
    click(EraserTool(ctx), 500, 400)
    assert "No mask" in ctx.messages[-1]


def test_erasing_to_empty_removes_the_annotation(ctx: FakeContext) -> None:
    bits = np.zeros((480, 640), dtype=bool)
    bits[10:14, 10:14] = True
    spot = add(ctx, encode(bits), "spot")
    ctx.set_selection([spot.id])
    before = ctx.snapshot()
    eraser = EraserTool(ctx)
    eraser.radius = 10
    click(eraser, 12, 12)
    assert len(ctx.document) == 0 and ctx.selection == frozenset()
    assert ctx.history.undo_labels()[0] == "Erase mask"
    ctx.history.undo()
    assert ctx.snapshot() == before


# -- PatchMask ---------------------------------------------------------------------------------

def test_patch_mask_restores_a_non_canonical_mask_exactly() -> None:
    rle = coco_mask.frPyObjects({"size": [4, 4], "counts": [2, 3, 0, 4, 7]}, 4, 4)
    odd = Mask(4, 4, rle["counts"].decode("ascii"))  # a zero-length run: not canonical
    assert buffer_mask(mask_buffer(odd)).counts != odd.counts
    annotation = Annotation.new(asset_id=1, label="x", shape=odd, author="a")
    doc = AnnotationDocument(1, [annotation])
    history = History(doc)
    history.push(PatchMask(annotation.id, 2, 2, np.zeros((2, 2)), np.ones((2, 2))))
    assert decode(doc.get(annotation.id).shape)[2:, 2:].all()
    history.undo()
    assert doc.get(annotation.id) == annotation
    history.redo()
    assert decode(doc.get(annotation.id).shape)[2:, 2:].all()


def test_run_lengths_match_the_reference_parser() -> None:
    rng = np.random.default_rng(3)
    samples = [np.zeros((5, 7), bool), np.ones((5, 7), bool), rng.random((300, 200)) < 0.5]
    wide = np.zeros((3000, 4000), dtype=bool)  # long runs: several 5-bit groups, negative deltas
    wide[100:2900, 5:3990:7] = True
    samples.append(wide)
    samples += [rng.random(tuple(rng.integers(1, 40, 2))) < rng.random() for _ in range(50)]
    for bits in samples:
        counts = encode(bits).counts
        assert run_lengths(counts).tolist() == rle_run_lengths(counts)


# -- timing ------------------------------------------------------------------------------------

def _bench_stroke(bits: np.ndarray) -> str:
    ctx = FakeContext(label="road", image_size=(4000, 3000))
    road = add(ctx, encode(bits), "road")
    ctx.set_selection([road.id])
    whole_rle = len(ctx.document.get(road.id).shape.counts)
    brush = BrushTool(ctx)
    brush.radius = 20
    gc.collect()
    t0 = time.perf_counter()
    brush.on_pointer(press(3000, 2500))
    press_ms = (time.perf_counter() - t0) * 1e3
    moves = []
    for i in range(1, 200):  # 4.5 px apart, as a steady hand gives
        t0 = time.perf_counter()
        brush.on_pointer(move(3000 + 4 * i, 2500 - 2 * i))
        moves.append((time.perf_counter() - t0) * 1e3)
    t0 = time.perf_counter()
    brush.on_pointer(move(3900, 2000))  # a 500-px jump between two events
    jump_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    brush.on_pointer(release(3900, 2000))
    release_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    ctx.history.undo()
    undo_ms = (time.perf_counter() - t0) * 1e3
    command = ctx.history._redo[-1].command
    assert isinstance(command, PatchMask)
    return (f"press {press_ms:.1f} ms, move median {statistics.median(moves):.3f} ms / max "
            f"{max(moves):.3f} ms, 500-px jump {jump_ms:.2f} ms, release {release_ms:.1f} ms, "
            f"undo {undo_ms:.1f} ms; undo step {command.size_bytes()} B vs mask RLE "
            f"{whole_rle} B")


def test_bench_stroke_on_4000x3000_mask(capsys: pytest.CaptureFixture[str]) -> None:
    """BENCH (printed, not asserted): press, per-move and release cost on a 12-MP mask,
    smooth (a disc: the usual case) and ragged (a 1000x1000 patch of noise: the worst)."""
    bits = np.zeros((3000, 4000), dtype=bool)
    yy, xx = np.ogrid[:3000, :4000]
    bits[(yy - 1500) ** 2 + (xx - 2000) ** 2 < 800 ** 2] = True
    smooth = _bench_stroke(bits)
    bits[200:1200, 200:1200] = np.random.default_rng(1).random((1000, 1000)) < 0.5
    ragged = _bench_stroke(bits)
    with capsys.disabled():
        print(f"\nBENCH brush 4000x3000 r=20 smooth mask: {smooth}"
              f"\nBENCH brush 4000x3000 r=20 ragged mask: {ragged}")
