"""The smart tool in the main window: GrabCut out of the box, SAM encoding in the background.

The stall test runs a SAM built from segment-anything's own modules at the real 1024-px input
(a narrow two-block encoder: about a second per image here, so the background work is real)
while the pointer hovers over the canvas, and measures the event loop: p99 gap under 50 ms, none over 250 ms.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from app.annotators.annotation import Annotation
from app.annotators.commands import UpdateAnnotations
from app.annotators.geometry import iou
from app.annotators.masks import encode
from app.annotators.shapes import Box
from app.editing.assist import PrelabelAssist
from app.intake import ImportOptions, import_paths
from app.models.sam import SamPreLabeler, register_architecture
from app.store.workspace import Workspace
from tests.ui.canvas_fixtures import at, drag
from tests.ui.test_main_window import make_window, opened, sample_template, sample_ws, with_rows  # noqa: F401

STALL_BUDGET_S = 0.050  # p99 of the event loop's gaps
HAZARD_S = 0.250  # any single gap: a quarter of one encode
# first use only: the decoder's one-off ONNX export (cached per checkpoint afterwards) sometimes
# holds the GIL ~0.6 s here; the old full-GC freeze (app.core.heap) held it 1.1 s
LOAD_STALL_BUDGET_S = 0.900
CIRCLE = ((320, 240), 80)


def slow_sam() -> Sam:
    """Real input size (1024 px, 64x64 embedding grid), narrow encoder: ~1 s per image on 2 cores."""
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=1024, patch_size=16, embed_dim=256, depth=2, num_heads=4, mlp_ratio=4, out_chans=32,
            qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=True,
            window_size=14, global_attn_indexes=(1,)),
        prompt_encoder=PromptEncoder(embed_dim=32, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                     mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=32, iou_head_depth=2, iou_head_hidden_dim=32,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=32, mlp_dim=64, num_heads=2)),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375],
    ).eval()


register_architecture("slow_1024", slow_sam)


def _open_first(qtbot, window):  # type: ignore[no-untyped-def]
    window.next_asset()
    qtbot.waitUntil(lambda: window.session is not None, timeout=10000)
    return window.session


@pytest.fixture
def circle_ws(tmp_path: Path) -> Path:
    """A workspace with one project of two generated photos: a filled circle on noise."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(2):
        img = rng.integers(0, 50, (480, 640, 3), dtype=np.uint8)
        cv2.circle(img, CIRCLE[0], CIRCLE[1], (40 + i, 200, 230), -1)
        cv2.imwrite(str(folder / f"ball_{i}.png"), img)
    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        project = ws.projects.get_or_create("balls")
        report = import_paths(ws, project, sorted(folder.iterdir()),
                              ImportOptions(copy_mode="copy", strip_private_metadata=False, workers=1))
        assert len(report.imported) == 2
    return root


def _circle_mask() -> np.ndarray:
    bits = np.zeros((480, 640), np.uint8)
    cv2.circle(bits, CIRCLE[0], CIRCLE[1], 1, -1)
    return bits.astype(bool)


def test_click_and_box_prompts_accepted_with_return_are_saved(qtbot, make_window, circle_ws: Path) -> None:  # noqa: F811
    window = with_rows(qtbot, make_window(circle_ws), 2)
    session = _open_first(qtbot, window)
    window.action_set["tool.smart"].trigger()
    tool = window.canvas.tool
    assert tool is not None and tool.name == "smart"
    window.canvas.actual_size()
    (cx, cy), r = CIRCLE
    window.canvas.centerOn(cx, cy)
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(window.canvas, cx, cy))
    qtbot.waitUntil(lambda: bool(tool.candidates), timeout=20000)
    window.canvas.viewport().grab()  # paints the proposed mask and the prompt point
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    drag(window.canvas, (cx - r - 15, cy - r - 15), (cx + r + 15, cy + r + 15))
    qtbot.waitUntil(lambda: bool(tool.candidates), timeout=20000)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(session.document) == 2 and session.save_state == "saved", timeout=10000)
    stored = window.ctx.workspace.annotations.for_asset(session.asset_id)
    kinds = sorted(a.shape.kind for a in stored)
    assert kinds == ["mask", "polygon"]
    truth = encode(_circle_mask())
    assert all(iou(a.shape, truth) >= 0.9 for a in stored)
    assert all(a.source == "human" and a.label == session.label for a in stored)


def test_submitting_a_task_records_what_the_human_did_with_proposals(qtbot, make_window, circle_ws: Path) -> None:  # noqa: F811
    window = with_rows(qtbot, make_window(circle_ws), 2)
    session = _open_first(qtbot, window)
    (cx, cy), r = CIRCLE
    kept = Annotation.new(asset_id=session.asset_id, label=session.label, shape=Box(cx - r, cy - r, cx + r, cy + r),
                          author="grabcut", source="model", confidence=0.9)
    edited = Annotation.new(asset_id=session.asset_id, label=session.label, shape=Box(10, 10, 60, 60),
                            author="grabcut", source="model", confidence=0.4)
    window.ctx.workspace.annotations.save_many([kept, edited], task_id=session.task_id)  # what `alaya prelabel` stores
    window.opener.close_session()
    window.task_list.select_row(1)
    window.task_list.select_row(0)
    qtbot.waitUntil(lambda: window.session is not None and len(window.session.document) == 2, timeout=10000)
    session = window.session
    session.push(UpdateAnnotations({edited.id: {"shape": Box(12, 10, 60, 64)}}))
    qtbot.waitUntil(lambda: session.save_state == "saved", timeout=10000)
    window.action_set["task.submit"].trigger()
    ws = window.ctx.workspace
    qtbot.waitUntil(lambda: ws.feedback.count(session.asset.project_id) == 2, timeout=10000)
    (row,) = ws.feedback.stats(session.asset.project_id)
    assert (row.model, row.proposals, row.accepted, row.edited, row.deleted) == ("grabcut", 2, 1, 1, 0)


def test_the_gui_never_stalls_while_sam_encodes_in_the_background(qtbot, make_window, sample_ws: Path,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    torch.manual_seed(0)
    checkpoint = tmp_path / "slow.pth"
    torch.save(slow_sam().state_dict(), checkpoint)
    window = with_rows(qtbot, make_window(sample_ws), 12)
    session = _open_first(qtbot, window)
    assist = PrelabelAssist(lambda: SamPreLabeler(checkpoint, "slow_1024", "cpu", decoder_cache=tmp_path / "dec"),
                            tmp_path / "emb", prefetch_ahead=3)
    window.assist_host.assist = assist  # the window's host drives it exactly as a configured SAM
    window.canvas.fit()

    gaps: dict[str, list[float]] = {"loading": [], "encoding": []}
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps["loading" if assist._labeler is None else "encoding"].append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(5)
    window.action_set["tool.smart"].trigger()  # loads SAM, encodes this image, prefetches 3 more
    tool = window.canvas.tool
    w, h = session.image_size
    rng = np.random.default_rng(0)
    deadline = time.monotonic() + 120
    started = time.monotonic()
    moves = 0
    while time.monotonic() < deadline:
        QTest.mouseMove(window.canvas.viewport(), at(window.canvas, rng.uniform(0, w), rng.uniform(0, h)))
        moves += 1
        qtbot.wait(200 if moves % 20 == 0 else 15)  # sweeping, and now and then resting (a preview)
        prefetcher = assist.prefetcher
        if (prefetcher is not None and prefetcher.encoded >= 4 and prefetcher.idle
                and tool.preview() is not None and time.monotonic() - started > 1):
            break
    timer.stop()
    busy_s = time.monotonic() - started
    assert assist.prefetcher is not None and assist.prefetcher.encoded >= 4, "the encoder did not run"
    assert tool.preview() is not None and tool.preview().mask is not None  # hover got its answer
    encoding = gaps["encoding"][1:]
    worst, p99 = max(encoding), float(np.percentile(encoding, 99))
    said = f"event loop: worst gap {worst * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, during {busy_s:.1f} s of encoding"
    assert p99 < STALL_BUDGET_S, said
    # one encode on the GUI thread would freeze it ~1 s; a lone scheduler hiccup of a loaded
    # 2-core CI machine is not that, and must not turn the suite red
    assert worst < HAZARD_S, said
    # loading the model (checkpoint checks, decoder export) is a one-off on first use; it must
    # not freeze the window for long either, as a 1.1 s full GC once did (see app.core.heap)
    assert max(gaps["loading"][1:], default=0.0) < LOAD_STALL_BUDGET_S
    labeler = assist.labeler()
    upcoming = window.task_list.rows_after_current(3)
    cache = assist.prefetcher.cache
    assert all(cache.contains(labeler.cache_key(r.sha256)) for r in upcoming)  # type: ignore[attr-defined]


def test_a_settings_change_keeps_the_smart_tool_working_and_the_window_closes(qtbot, make_window,  # noqa: F811
                                                                            circle_ws: Path) -> None:
    """The settings change rebuilds the model, not the open session's requests (whose timer it
    used to delete; closing the window then touched the deleted timer inside `closeEvent`)."""
    window = with_rows(qtbot, make_window(circle_ws), 2)
    _open_first(qtbot, window)
    window.action_set["tool.smart"].trigger()
    tool = window.canvas.tool
    window.set_dark_theme(not window.action_set["view.dark_theme"].isChecked())  # settings changed, saved
    window.set_dark_theme(not window.action_set["view.dark_theme"].isChecked())  # and back
    qtbot.wait(50)  # any deleteLater has run
    window.canvas.actual_size()
    (cx, cy), _r = CIRCLE
    window.canvas.centerOn(cx, cy)
    QTest.mouseMove(window.canvas.viewport(), at(window.canvas, cx, cy))  # a hover preview: uses the timer
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(window.canvas, cx, cy))
    qtbot.waitUntil(lambda: bool(tool.candidates), timeout=20000)
    window.close()  # an error in closeEvent reaches pytest-qt's hook (and no longer shiboken's crash)
    window.assist_host.close()  # twice is harmless
