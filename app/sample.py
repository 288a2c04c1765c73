"""The sample project: street scenes drawn here, imported like any other folder.

Twelve 1024x768 pictures of a simple street (sky and road gradients, buildings, lane marks)
with cars, people, bicycles and traffic lights drawn as plain shapes, so a first-time user
has something to label without finding data. They are generated deterministically (same
bytes every time), imported through `app.intake.import_paths`, and the project gets the
default street-scenes label schema. Calling it again changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from app.annotators.ontology import load_schema
from app.intake import ImportOptions, import_paths
from app.store.records import Project
from app.store.workspace import Workspace

SAMPLE_PROJECT = "Sample: street scenes"
SAMPLE_SIZE = (1024, 768)  # width, height
SAMPLE_COUNT = 12
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "resources" / "schemas" / "default.yaml"

Colour = tuple[int, int, int]  # BGR
Box4 = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels


def ensure_sample_project(ws: Workspace, *, count: int = SAMPLE_COUNT, size: tuple[int, int] = SAMPLE_SIZE,
                          progress: Callable[[str, int, int], None] | None = None) -> Project:
    """The sample project, created (pictures, tasks, schema) when missing. Idempotent.

    Disk and CPU work: call it on a worker thread, never the GUI thread.
    """
    project = ws.projects.get_or_create(SAMPLE_PROJECT)
    if ws.assets.count(project.id) < count:
        with tempfile.TemporaryDirectory(prefix="alaya-sample-") as tmp:
            paths = write_sample_images(Path(tmp), count=count, size=size)
            options = ImportOptions(copy_mode="copy", strip_private_metadata=False, workers=min(2, count))
            import_paths(ws, project, paths, options, progress=progress)
    ws.schemas.add_version(project.id, load_schema(SCHEMA_PATH))  # no new version when unchanged
    return project


def write_sample_images(folder: Path, *, count: int = SAMPLE_COUNT,
                        size: tuple[int, int] = SAMPLE_SIZE) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"street_{i + 1:02d}.jpg"
        ok, buf = cv2.imencode(".jpg", street_scene(i, size), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
            raise RuntimeError("cannot encode a sample image")
        path.write_bytes(buf.tobytes())
        paths.append(path)
    return paths


def street_scene(seed: int, size: tuple[int, int] = SAMPLE_SIZE) -> np.ndarray:
    """One picture (BGR uint8): the street, then objects from back to front."""
    return _compose(seed, size)[0]


def scene_objects(seed: int, size: tuple[int, int] = SAMPLE_SIZE) -> list[tuple[str, Box4]]:
    """Where the objects of `street_scene(seed)` were drawn: (label, (x1, y1, x2, y2)).

    The ground truth of the sample: tests and demos use it to check or to show labelling.
    """
    return _compose(seed, size)[1]


def _compose(seed: int, size: tuple[int, int]) -> tuple[np.ndarray, list[tuple[str, Box4]]]:
    rng = np.random.default_rng(1000 + seed)
    width, height = size
    img = _street(width, height, rng)
    horizon = int(height * 0.45)
    objects: list[tuple[str, Box4]] = []
    for _ in range(int(rng.integers(1, 3))):
        objects.append(("traffic-light", _traffic_light(
            img, int(rng.uniform(0.05, 0.95) * width), horizon + int(height * 0.12), height, rng)))
    for _ in range(int(rng.integers(1, 4))):
        objects.append(("bicycle", _bicycle(
            img, int(rng.uniform(0.05, 0.9) * width), int(rng.uniform(0.62, 0.72) * height), width, rng)))
    for _ in range(int(rng.integers(2, 5))):
        objects.append(("person", _person(
            img, int(rng.uniform(0.03, 0.97) * width), int(rng.uniform(0.6, 0.7) * height), height, rng)))
    for _ in range(int(rng.integers(1, 4))):
        objects.append(("car", _car(
            img, int(rng.uniform(0.0, 0.8) * width), int(rng.uniform(0.72, 0.92) * height), width, rng)))
    clipped = [(label, (max(0, x1), max(0, y1), min(width, x2), min(height, y2)))
               for label, (x1, y1, x2, y2) in objects]
    return img, [(label, box) for label, box in clipped if box[2] > box[0] and box[3] > box[1]]


def _street(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    horizon = int(height * 0.45)
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    sky = (np.array([235, 200, 150]) * (1 - t) + np.array([250, 240, 225]) * t)  # blue to pale
    road_t = np.linspace(0.0, 1.0, height - horizon, dtype=np.float32)[:, None]
    road = np.array([120, 120, 125]) * (1 - road_t) + np.array([70, 70, 72]) * road_t
    img = np.concatenate([np.repeat(sky[:, None, :], width, 1), np.repeat(road[:, None, :], width, 1)])
    img = img.astype(np.uint8)
    x = 0
    while x < width:  # buildings along the horizon
        w = int(rng.integers(width // 14, width // 6))
        h = int(rng.integers(height // 8, horizon - 10))
        shade = int(rng.integers(90, 190))
        cv2.rectangle(img, (x, horizon - h), (x + w, horizon), (shade, shade - 10, shade - 25), -1)
        for wy in range(horizon - h + 12, horizon - 12, 28):
            for wx in range(x + 8, x + w - 14, 22):
                cv2.rectangle(img, (wx, wy), (wx + 10, wy + 14), (200, 230, 240), -1)
        x += w + int(rng.integers(0, 12))
    cv2.rectangle(img, (0, horizon), (width, horizon + height // 14), (170, 175, 180), -1)  # sidewalk
    lane_y = int(height * 0.8)
    for lx in range(0, width, 120):
        cv2.rectangle(img, (lx, lane_y), (lx + 60, lane_y + 8), (235, 235, 235), -1)
    return img


def _colour(rng: np.random.Generator) -> Colour:
    r, g, b = (int(v) for v in rng.integers(30, 230, 3))
    return (b, g, r)


def _car(img: np.ndarray, x: int, bottom: int, width: int, rng: np.random.Generator) -> Box4:
    w = int(width * rng.uniform(0.14, 0.22))
    h = int(w * 0.38)
    body = _colour(rng)
    cv2.rectangle(img, (x, bottom - h), (x + w, bottom - h // 4), body, -1)
    cv2.rectangle(img, (x + w // 5, bottom - int(h * 1.6)), (x + int(w * 0.78), bottom - h), body, -1)
    cv2.rectangle(img, (x + w // 4, bottom - int(h * 1.5)), (x + w // 2 - 3, bottom - h - 4), (60, 50, 40), -1)
    cv2.rectangle(img, (x + w // 2 + 3, bottom - int(h * 1.5)), (x + int(w * 0.74), bottom - h - 4),
                  (60, 50, 40), -1)
    for wx in (x + w // 5, x + int(w * 0.8)):
        cv2.circle(img, (wx, bottom - h // 4), h // 3, (25, 25, 25), -1)
        cv2.circle(img, (wx, bottom - h // 4), h // 7, (160, 160, 160), -1)
    cv2.rectangle(img, (x + w - 8, bottom - h + 6), (x + w, bottom - h + 16), (80, 220, 255), -1)
    return (x, bottom - int(h * 1.6), x + w + 1, bottom - h // 4 + h // 3 + 1)


def _person(img: np.ndarray, x: int, feet: int, height: int, rng: np.random.Generator) -> Box4:
    h = int(height * rng.uniform(0.16, 0.22))
    head = max(6, h // 9)
    shirt, trousers = _colour(rng), _colour(rng)
    skin = (120, 160, 210)
    cv2.circle(img, (x, feet - h + head), head, skin, -1)
    cv2.ellipse(img, (x, feet - int(h * 0.58)), (head, int(h * 0.22)), 0, 0, 360, shirt, -1)
    stride = int(head * rng.uniform(0.2, 1.2))
    for dx in (-stride, stride):
        cv2.line(img, (x, feet - int(h * 0.38)), (x + dx, feet), trousers, max(3, head // 2))
    for dx in (-head, head):
        cv2.line(img, (x, feet - int(h * 0.72)), (x + dx, feet - int(h * 0.45)), shirt, max(2, head // 3))
    reach = max(head, stride) + max(3, head // 2)
    return (x - reach, feet - h, x + reach + 1, feet + max(3, head // 2) // 2 + 1)


def _bicycle(img: np.ndarray, x: int, ground: int, width: int, rng: np.random.Generator) -> Box4:
    r = int(width * rng.uniform(0.02, 0.03))
    frame = _colour(rng)
    back, front = (x, ground - r), (x + int(r * 2.6), ground - r)
    for centre in (back, front):
        cv2.circle(img, centre, r, (30, 30, 30), 3)
    seat = (x + r, ground - int(r * 2.1))
    bars = (front[0] - r // 3, ground - int(r * 2.3))
    crank = (x + int(r * 1.3), ground - r)
    for a, b in ((back, seat), (seat, crank), (crank, back), (seat, bars), (bars, front), (crank, bars)):
        cv2.line(img, a, b, frame, 3)
    return (x - r - 2, ground - int(r * 2.3) - 2, front[0] + r + 3, ground + 2)


def _traffic_light(img: np.ndarray, x: int, base: int, height: int, rng: np.random.Generator) -> Box4:
    pole_top = base - int(height * 0.32)
    cv2.line(img, (x, base), (x, pole_top), (60, 60, 60), 6)
    w, h = 26, 70
    cv2.rectangle(img, (x - w // 2, pole_top - h), (x + w // 2, pole_top), (30, 30, 30), -1)
    lit = int(rng.integers(0, 3))
    for k, colour in enumerate(((40, 40, 230), (40, 190, 240), (60, 200, 60))):  # red, amber, green
        shade = colour if k == lit else tuple(c // 4 for c in colour)
        cv2.circle(img, (x, pole_top - h + 12 + k * 23), 9, shade, -1)
    return (x - 13, pole_top - h, x + 14, pole_top + 1)  # the signal head, as labellers box it
