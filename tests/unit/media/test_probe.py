"""probe_file over the whole fixture catalogue: verdicts, reasons and metadata."""

from __future__ import annotations

import hashlib
import pickle
import shutil

import pytest

from app.media.probe import MediaInfo, Rejection, identify, probe_file, sniff
from tests.media_factory import AUDIO_RATE, VIDEO_FRAMES, write_media_set

REJECTED = {
    "truncated_jpeg": "truncated JPEG: end-of-image marker missing",
    "empty": "empty file",
    "text_as_png": "not an image: content is plain text",
    "truncated_mp4": "truncated video: ",
    "mp4_no_index": "truncated MP4: file ends inside its 'mdat' box",
    "broken_wav": "WAV header broken: ",
    "truncated_wav": "truncated WAV: ",
    "latin1": "not UTF-8 text: invalid byte 0xe9 at offset 3",
}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return write_media_set(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="module")
def results(media):
    return {name: probe_file(path) for name, path in media.items()}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_files_are_rejected_with_their_reason(results, name):
    result = results[name]
    assert isinstance(result, Rejection) and not result.accepted
    assert result.reason.startswith(REJECTED[name]), result.reason


def test_every_good_file_is_accepted(results):
    good = {n: r for n, r in results.items() if n not in REJECTED}
    refused = {n: r.reason for n, r in good.items() if not r.accepted}
    assert not refused


def test_reasons_give_counts_where_they_can(results):
    assert f"of {VIDEO_FRAMES} frames present" in results["truncated_mp4"].reason
    assert f"of {AUDIO_RATE:,} frames present" in results["truncated_wav"].reason
    assert "moov box) is missing" in results["mp4_no_index"].reason


def test_rejection_names_the_modality_it_expected(results):
    assert results["text_as_png"].modality == "image"
    assert results["truncated_mp4"].modality == "video"
    assert results["broken_wav"].modality == "audio"


def test_image_metadata(results, media):
    jpeg = results["jpeg"]
    assert (jpeg.modality, jpeg.format, jpeg.mime) == ("image", "jpeg", "image/jpeg")
    assert (jpeg.width, jpeg.height, jpeg.channels, jpeg.bit_depth) == (320, 240, 3, 8)
    assert jpeg.size_bytes == media["jpeg"].stat().st_size
    assert jpeg.sha256 == hashlib.sha256(media["jpeg"].read_bytes()).hexdigest()
    assert len(jpeg.phash) == 16 and jpeg.exif_orientation == 1 and jpeg.has_gps is False


def test_dimensions_follow_exif_orientation(results):
    rotated = results["exif_jpeg"]
    assert rotated.exif_orientation == 6 and rotated.has_gps is True
    assert (rotated.width, rotated.height) == (240, 320)  # stored 320x240, shown portrait


def test_sixteen_bit_images_keep_their_depth(results):
    for name in ("png16", "tiff16"):
        assert results[name].bit_depth == 16, name
        assert (results[name].width, results[name].height, results[name].channels) == (64, 48, 3)


def test_video_metadata(results):
    video = results["mp4"]
    assert (video.modality, video.codec, video.width, video.height) == ("video", "h264", 160, 120)
    assert video.frame_count == VIDEO_FRAMES and video.keyframe_count == 3
    assert video.fps == 30.0 and video.frame_rate == "30/1"
    assert video.time_base == "1/15360" and video.duration == pytest.approx(1.0)
    assert video.phash is not None


def test_audio_metadata(results):
    wav, flac = results["wav"], results["flac"]
    assert (wav.modality, wav.sample_rate, wav.channels, wav.audio_channels) == ("audio", AUDIO_RATE, 2, 2)
    assert (wav.frame_count, wav.bit_depth, wav.codec) == (AUDIO_RATE, 16, "PCM_16")
    assert wav.duration == pytest.approx(1.0)
    assert (flac.sample_rate, flac.channels, flac.frame_count, flac.codec) == (22_050, 1, 22_050, "FLAC")


def test_text_metadata(results):
    text = results["utf8"]
    assert (text.modality, text.encoding, text.line_count) == ("text", "utf-8", 2)
    assert text.char_count == len("naïve café — 日本語\nsecond line\n")


def test_exact_duplicates_share_sha256(results):
    assert results["jpeg"].sha256 == results["exact_dup"].sha256
    assert results["jpeg"].sha256 != results["near_dup"].sha256


def test_content_wins_over_extension_with_a_warning(media, tmp_path):
    disguised = shutil.copyfile(media["jpeg"], tmp_path / "photo.png")
    result = probe_file(disguised)
    assert result.accepted and result.format == "jpeg"
    assert result.warnings == ("extension .png but content is JPEG",)


def test_unknown_binary_and_unreadable_paths_are_rejections(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    assert probe_file(blob).reason == "unsupported file: content matches no supported format"
    assert probe_file(tmp_path).reason == "not a regular file"
    assert probe_file(tmp_path / "missing.jpg").reason.startswith("cannot read file:")
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(bytes(range(256)))
    assert probe_file(fake).reason.startswith("not a JPEG image")


def test_sniff_and_identify():
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff(b"\0\0\0\x20ftypM4A \0") == "m4a"
    assert sniff(b"\0\0\0\x20ftypisom\0") == "mp4"
    assert sniff(b"hello") is None
    assert identify(".txt", b"plain words") == ("text", [])
    assert identify(".m4a", b"\0\0\0\x20ftypisom\0") == ("mp4", [])  # same family: no warning


def test_results_pickle_and_export_metadata(results):
    info = results["mp4"]
    assert pickle.loads(pickle.dumps(info)) == info
    meta = info.metadata()
    assert meta["frame_count"] == VIDEO_FRAMES and "path" not in meta and "sha256" not in meta
    assert all(v is not None for v in meta.values())
    assert isinstance(info, MediaInfo) and MediaInfo.accepted and not Rejection.accepted
