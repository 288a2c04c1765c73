"""Video validation: counting, variable frame rate, cut files, sound-only MP4."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from app.media.probe import probe_file
from app.media.video import iso_box_problem
from tests.media_factory import truncate, write_m4a, write_video


def _write_vfr(path, durations_ms):
    """H.264 in MP4 with the given frame durations (milliseconds)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "bf": "0"}
        pts = 0
        for i, duration in enumerate(durations_ms):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 8 % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(frame))
            pts += duration
        container.mux(stream.encode(None))
    return path


def test_variable_frame_rate_counts_every_frame(tmp_path):
    durations = [33, 100, 33, 66, 33, 100, 33, 66] * 3
    info = probe_file(_write_vfr(tmp_path / "vfr.mp4", durations))
    assert info.accepted and info.frame_count == len(durations)
    assert info.duration == pytest.approx(sum(durations) / 1000, abs=0.11)
    assert info.fps == pytest.approx(len(durations) / info.duration, rel=0.15)


def test_longer_gop_and_first_frame_hash(tmp_path):
    info = probe_file(write_video(tmp_path / "v.mp4", frames=45, gop=45))
    assert (info.frame_count, info.keyframe_count) == (45, 1)
    assert probe_file(tmp_path / "v.mp4", compute_phash=False).phash is None


def test_cut_files(tmp_path):
    whole = write_video(tmp_path / "v.mp4")
    early = probe_file(truncate(whole, tmp_path / "early.mp4", 0.2))
    late = probe_file(truncate(whole, tmp_path / "late.mp4", 0.95))
    for result in (early, late):
        assert result.reason.startswith("truncated video: ") and result.reason.endswith(" of 30 frames present")


def test_box_walk(tmp_path):
    whole = write_video(tmp_path / "v.mp4", faststart=False)
    assert iso_box_problem(whole) is None
    cut = truncate(whole, tmp_path / "cut.mp4", 0.98)  # inside moov, which comes last
    assert iso_box_problem(cut).startswith("truncated MP4: file ends inside its 'moov' box")
    assert probe_file(cut).reason.startswith("truncated MP4: file ends inside its 'moov' box")


def test_sound_only_mp4_is_audio(tmp_path):
    info = probe_file(write_m4a(tmp_path / "voice.m4a"))
    assert (info.modality, info.codec, info.sample_rate, info.channels) == ("audio", "aac", 44_100, 1)
    assert info.duration == pytest.approx(1.0, abs=0.05)


def test_mp4_without_index_is_rejected(tmp_path):
    path = tmp_path / "stub.mp4"
    path.write_bytes(b"\0\0\0\x18ftypisom\0\0\0\0isommp41" + b"\0\0\0\x10free" + b"x" * 8)
    result = probe_file(path)
    assert (result.accepted, result.modality) == (False, "video")
    assert result.reason == "MP4 has no index (moov box)"
