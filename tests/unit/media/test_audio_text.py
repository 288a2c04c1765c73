"""Audio and text validation details."""

from __future__ import annotations

import codecs
import struct

import pytest

from app.media.probe import probe_file
from tests.media_factory import AUDIO_RATE, truncate, write_audio


def _with_list_chunk(path):
    """Insert an odd-sized LIST chunk before 'data' (pad byte included), fixing the RIFF size."""
    data = path.read_bytes()
    at = data.index(b"data")
    chunk = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"
    out = bytearray(data[:at] + chunk + data[at:])
    out[4:8] = struct.pack("<I", len(out) - 8)
    path.write_bytes(bytes(out))
    return path


def test_wav_header_walk_skips_other_chunks(tmp_path):
    wav = _with_list_chunk(write_audio(tmp_path / "a.wav", subtype="PCM_16"))
    assert probe_file(wav).frame_count == AUDIO_RATE
    cut = probe_file(truncate(wav, tmp_path / "cut.wav", 0.5))
    assert cut.reason.startswith("truncated WAV: ") and cut.reason.endswith(f" of {AUDIO_RATE:,} frames present")


def test_streaming_wav_with_open_length_is_accepted(tmp_path):
    data = bytearray(write_audio(tmp_path / "a.wav", subtype="PCM_16").read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = b"\xff\xff\xff\xff"  # what a recorder leaves when it never seeks back
    (tmp_path / "stream.wav").write_bytes(bytes(data))
    assert probe_file(tmp_path / "stream.wav").frame_count == AUDIO_RATE


def test_cut_flac_and_ogg(tmp_path):
    flac = write_audio(tmp_path / "a.flac", seconds=2.0)
    reason = probe_file(truncate(flac, tmp_path / "cut.flac", 0.5)).reason
    assert "FLAC" in reason and ("truncated" in reason or "unreadable" in reason)
    ogg = probe_file(write_audio(tmp_path / "a.ogg", channels=1))
    assert (ogg.accepted, ogg.codec, ogg.sample_rate) == (True, "VORBIS", AUDIO_RATE)


def test_audio_names_on_wrong_content(tmp_path):
    (tmp_path / "noise.mp3").write_bytes(bytes(range(1, 256)) * 8)
    assert probe_file(tmp_path / "noise.mp3").reason.startswith("cannot read MP3 audio")
    (tmp_path / "words.wav").write_text("just words\n")
    assert probe_file(tmp_path / "words.wav").reason == "not an audio file: content is plain text"


@pytest.mark.parametrize(("content", "reason"), [
    (b"\xef\xbb\xbfwith a BOM\n", None),
    (b"", "empty file"),
    (b"abc\x00def", "not text: binary content (NUL byte at offset 3)"),
    (codecs.BOM_UTF16_LE + "hi".encode("utf-16-le"), "UTF-16 text is not supported: save the file as UTF-8"),
    ("ok then é".encode() + b"\xff", "not UTF-8 text: invalid byte 0xff at offset 10"),
])
def test_text_verdicts(tmp_path, content, reason):
    path = tmp_path / "t.txt"
    path.write_bytes(content)
    result = probe_file(path)
    if reason is None:
        assert (result.accepted, result.encoding, result.char_count, result.line_count) == (True, "utf-8-sig", 11, 1)
    else:
        assert result.reason == reason


def test_text_without_a_known_extension_is_still_text(tmp_path):
    (tmp_path / "README").write_text("hello\nworld")
    result = probe_file(tmp_path / "README")
    assert (result.modality, result.line_count) == ("text", 2)


def test_oversized_text_is_refused_before_reading(tmp_path, monkeypatch):
    from app.media import text

    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 2**20)
    (tmp_path / "big.txt").write_text("x" * 3 * 2**20)
    assert probe_file(tmp_path / "big.txt").reason == "text file too large: 3 MiB, over the limit of 1 MiB"
