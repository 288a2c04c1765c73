"""Writes good and bad media files for tests, with known content, in Python only.

Images come from OpenCV/Pillow, video from PyAV (H.264), audio from soundfile, so no test
depends on Debian tools. Each writer returns the path it wrote; `write_media_set` writes
the whole catalogue into one folder and returns {name: path}.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import av
import cv2
import numpy as np
import soundfile as sf
from PIL import ExifTags, Image

GPS = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 1.0)}
PERSONAL_IFD0 = {0x013B: "Jane Doe", 0x8298: "(c) Jane Doe", 0x9C9D: "Jane".encode("utf-16le") + b"\0\0"}
PERSONAL_EXIF = {0xA430: "Jane Owner", 0xA431: "BODY-SN-12345", 0xA435: "LENS-SN-999",
                 0xA420: "0123456789abcdef", 0x9286: b"ASCII\0\0\0private note", 0x927C: b"MAKERNOTE\0\1\2"}
VIDEO_FRAMES, VIDEO_FPS, VIDEO_SIZE = 30, 30, (160, 120)
AUDIO_RATE, AUDIO_SECONDS = 16_000, 1.0


def picture(width: int, height: int, seed: int = 0, *, depth: int = 8) -> np.ndarray:
    """A smooth BGR picture with a few shapes: distinct per seed, stable under resizing."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    base = (np.cos(angle) * x / width + np.sin(angle) * y / height) * 160 + 40
    img = np.repeat(base[:, :, None], 3, axis=2)
    for _ in range(6):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(width // 10, width // 3)), int(rng.integers(height // 10, height // 3)))
        colour = tuple(float(c) for c in rng.integers(0, 256, 3))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    img = np.clip(img, 0, 255)
    if depth == 16:
        return (img * 257).astype(np.uint16)
    return img.astype(np.uint8)


def write_image(path: Path, width: int = 320, height: int = 240, seed: int = 0, *,
                depth: int = 8, quality: int = 90) -> Path:
    """JPEG, PNG or TIFF by suffix; 16-bit for PNG and TIFF when depth=16."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(path.suffix, picture(width, height, seed, depth=depth), params)
    assert ok, path
    path.write_bytes(buf.tobytes())
    return path


def write_exif_jpeg(path: Path, width: int = 320, height: int = 240, seed: int = 3) -> Path:
    """A JPEG stored landscape with Orientation 6 (shown portrait), GPS and personal tags."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F], exif[0x0110] = "TestCam", "Model 1"
    exif.update(PERSONAL_IFD0)
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub.update(PERSONAL_EXIF)
    sub[0x9003] = "2024:01:02 03:04:05"  # DateTimeOriginal: technical, kept
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    rgb = cv2.cvtColor(picture(width, height, seed), cv2.COLOR_BGR2RGB)
    Image.fromarray(rgb).save(path, "JPEG", exif=exif, quality=90)
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * fraction)])
    return dst


def write_video(path: Path, frames: int = VIDEO_FRAMES, fps: int = VIDEO_FPS, *,
                faststart: bool = True, gop: int = 10) -> Path:
    """H.264 MP4; each frame carries a moving bar, so frames differ."""
    width, height = VIDEO_SIZE
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "bf": "0"}
        base = picture(width, height, seed=7)
        for i in range(frames):
            img = base.copy()
            x = (i * 5) % (width - 10)
            img[:, x:x + 10] = 255
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_audio(path: Path, *, rate: int = AUDIO_RATE, channels: int = 2,
                seconds: float = AUDIO_SECONDS, subtype: str | None = None) -> Path:
    """A 440 Hz tone; WAV/FLAC/OGG by suffix."""
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), rate, subtype=subtype)
    return path


def write_broken_wav(path: Path) -> Path:
    """A WAV whose 'fmt ' chunk names an unknown sample format."""
    write_audio(path, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[20:22] = struct.pack("<H", 0x9999)
    path.write_bytes(bytes(data))
    return path


def write_media_set(folder: Path) -> dict[str, Path]:
    """The whole catalogue of good and bad files, keyed by name."""
    folder.mkdir(parents=True, exist_ok=True)
    f: dict[str, Path] = {}
    f["jpeg"] = write_image(folder / "photo.jpg", 320, 240, seed=1)
    f["png"] = write_image(folder / "drawing.png", 200, 150, seed=2)
    f["png16"] = write_image(folder / "deep.png", 64, 48, seed=4, depth=16)
    f["tiff16"] = write_image(folder / "deep.tif", 64, 48, seed=5, depth=16)
    f["exif_jpeg"] = write_exif_jpeg(folder / "rotated_gps.jpg")
    f["near_dup"] = _resized_copy(f["jpeg"], folder / "photo_small.jpg", 0.5)
    f["exact_dup"] = Path(shutil.copyfile(f["jpeg"], folder / "photo_copy.jpg"))
    f["other_jpeg"] = write_image(folder / "other.jpg", 320, 240, seed=9)
    f["truncated_jpeg"] = truncate(f["jpeg"], folder / "cut.jpg", 0.6)
    f["empty"] = _write(folder / "empty.jpg", b"")
    f["text_as_png"] = _write(folder / "notes.png", b"these are notes, not pixels\n")
    f["mp4"] = write_video(folder / "clip.mp4")
    f["truncated_mp4"] = truncate(f["mp4"], folder / "cut_clip.mp4", 0.5)
    f["mp4_no_index"] = truncate(write_video(folder / "tmp.mp4", faststart=False), folder / "no_index.mp4", 0.5)
    (folder / "tmp.mp4").unlink()
    f["wav"] = write_audio(folder / "tone.wav", subtype="PCM_16")
    f["broken_wav"] = write_broken_wav(folder / "broken.wav")
    f["truncated_wav"] = truncate(f["wav"], folder / "cut_tone.wav", 0.4)
    f["flac"] = write_audio(folder / "tone.flac", rate=22_050, channels=1)
    f["utf8"] = _write(folder / "caption.txt", "naïve café — 日本語\nsecond line\n".encode())
    f["latin1"] = _write(folder / "legacy.txt", "café olé\n".encode("latin-1"))
    return f


def _resized_copy(src: Path, dst: Path, scale: float) -> Path:
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(dst.suffix, small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    dst.write_bytes(buf.tobytes())
    return dst


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_m4a(path: Path, *, rate: int = 44_100, seconds: float = AUDIO_SECONDS) -> Path:
    """AAC in an MP4 container: the format libsndfile cannot read."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        samples = int(rate * seconds)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
        for start in range(0, samples, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
