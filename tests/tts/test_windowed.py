"""The windowed decode on the real voice: stitched windows equal the one-shot decode, a miss
plays its first window before the chunk is decoded, the cache gets what it always got, and a
voice whose graph cannot be cut falls back to the one-shot synthesis."""

from __future__ import annotations

import logging
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from piper import PiperVoice, SynthesisConfig

from vitad.config.schema import TtsSettings
from vitad.tts.piper_engine import PiperTts, bundled_voice_path
from vitad.tts.windowed import (
    FIRST_FRAMES,
    STITCH_TOLERANCE,
    Cut,
    SplitSession,
    SplitUnavailable,
    split_graph,
    stitch_error,
    windows,
)

QUIET = TtsSettings(noise_scale=0.0, noise_w=0.0)  # the same audio on every run
TEXT = "Small washers are three dollars fifty, and the big ones are six dollars."


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> PiperTts:
    return PiperTts(QUIET, cache_dir=tmp_path_factory.mktemp("windowed-cache"))


def _snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    reference, other = reference.astype(np.float64), other.astype(np.float64)
    noise = float(np.sum((reference - other) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(reference**2) / noise)


def test_windows_cover_the_frames_once_first_small() -> None:
    for frames in (1, 7, 8, 9, 17, 40, 129, 365, 1000):
        spans = windows(frames)
        assert spans[0][0] == 0 and spans[-1][1] == frames
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in pairwise(spans))
        assert spans[0][1] == min(FIRST_FRAMES, frames)
    assert windows(0) == []


def test_stitched_windows_match_the_one_shot_decode_on_the_real_voice() -> None:
    import onnx

    from vitad.tts.piper_engine import voice_session_options

    split = SplitSession(split_graph(onnx.load(str(bundled_voice_path()))),
                         voice_session_options(), hop=256)
    voice = PiperVoice.load(str(bundled_voice_path()))
    ids = voice.phonemes_to_ids(voice.phonemize(TEXT)[0])
    feed = {"input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32)}  # with noise, as shipped
    latent = split.latent(feed)
    assert latent.frames > 200  # long enough for every window size
    one_shot = split.decode(latent, 0, latent.frames)
    stitched = np.concatenate(list(split.decode_windows(latent)))
    assert len(stitched) == len(one_shot) == latent.frames * 256
    assert np.abs(stitched - one_shot).max() < 1e-4
    assert _snr_db(one_shot, stitched) > 90
    assert np.abs(one_shot).max() > 0.1  # it is speech, not silence


def test_the_split_voice_sounds_exactly_like_piper_one_shot(quiet: PiperTts) -> None:
    assert quiet.windowed and quiet.alignments
    stock = PiperVoice.load(str(bundled_voice_path()), include_alignments=True)
    # Piper's raw audio at the voice's level (vitad/tts/level.py), not normalized per sentence.
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
    chunks = list(stock.synthesize(TEXT, config, include_alignments=True))
    expected = np.concatenate([quiet.level.apply(c.audio_float_array) for c in chunks])
    rendered = quiet.render(TEXT)
    assert np.array_equal(rendered.samples, expected)  # the split voice is Piper's voice
    assert rendered.alignment is not None
    assert sum(n for _, n in rendered.alignment) == len(expected)


def test_a_miss_plays_its_first_window_before_the_chunk_is_decoded(
        quiet: PiperTts) -> None:
    text = "Dryer seven takes quarters and cards."
    key = quiet.cache_key(text)
    stream = quiet.pieces(text)
    first = next(stream)
    assert first.first and not first.cached and first.offset == 0
    assert len(first.samples) == FIRST_FRAMES * 256  # one small window ...
    assert quiet.cache.get(key) is None  # ... while the chunk is not whole yet
    assert first.visemes is not None  # the mouth track comes from the front, at once
    rest = list(stream)
    assert len(rest) >= 3 and rest[-1].last and not any(p.first for p in rest)
    sizes = [len(p.samples) for p in rest[:-1]]
    assert sizes == sorted(sizes)  # windows grow
    offsets = [p.offset for p in rest]
    assert offsets[0] == len(first.samples)
    played = np.concatenate([first.samples, *(p.samples for p in rest)])
    assert [p.offset + len(p.samples) for p in rest][-1] == len(played)
    cached = quiet.cache.get(key)
    assert cached is not None and len(cached.samples) == len(played)
    # What was cached is what played (one level rule, vitad/tts/level.py), and the one-shot
    # synthesis to the last bit but for rounding (the windows' float sums differ by ~1e-6).
    assert np.array_equal(cached.samples, played)
    one_shot = quiet.render(text).samples.astype(np.int32)
    assert np.abs(cached.samples - one_shot).max() <= 1
    assert np.count_nonzero(cached.samples - one_shot) < len(one_shot) // 100
    assert cached.alignment is not None
    assert first.visemes == quiet.spoken(text).visemes


def test_a_hit_is_one_whole_piece_from_the_cache(quiet: PiperTts) -> None:
    text = "We open at six."
    list(quiet.pieces(text))
    again = list(quiet.pieces(text))
    assert len(again) == 1 and again[0].cached and again[0].first and again[0].last
    assert np.array_equal(again[0].samples, quiet.spoken(text).samples)


def test_a_clause_keeps_its_end_marker_on_every_piece(quiet: PiperTts) -> None:
    text = ("For the washers, small machines are three dollars fifty and large "
            "ones are six dollars, and dryers are a quarter.")
    pieces = list(quiet.pieces(text))
    firsts = [p for p in pieces if p.first]
    assert len(firsts) >= 2 and not firsts[0].ends_sentence
    lasts = [p for p in pieces if p.last]
    assert [p.ends_sentence for p in lasts] == [p.ends_sentence for p in firsts]


def test_a_barge_in_leaves_no_half_chunk_in_the_cache(quiet: PiperTts) -> None:
    text = "The change machine is next to the door by the soap."
    stream = quiet.pieces(text)
    next(stream)
    stream.close()
    assert quiet.cache.get(quiet.cache_key(text)) is None
    assert not quiet.spoken(text).cached  # synthesized afresh, whole


def renamed_decoder_voice(tmp_path: Path) -> Path:
    """The real voice with its decoder's nodes renamed: another export of the same graph."""
    import onnx

    source = bundled_voice_path()
    model = onnx.load(str(source))
    for node in model.graph.node:
        if node.name.startswith("/dec/"):
            node.name = "/vocoder/" + node.name[len("/dec/"):]
    target = tmp_path / "en_US-other-medium.onnx"
    onnx.save(model, str(target))
    shutil.copy(f"{source}.json", f"{target}.json")
    return target


def test_a_voice_without_the_decoder_node_falls_back_to_one_shot(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import onnx

    voice = renamed_decoder_voice(tmp_path)
    with pytest.raises(SplitUnavailable, match="/dec/"):
        split_graph(onnx.load(str(voice)))
    with caplog.at_level(logging.INFO, logger="vitad.tts.piper_engine"):
        tts = PiperTts(QUIET.model_copy(update={"voice": str(voice)}),
                       cache_dir=tmp_path / "cache")
    lines = [r.getMessage() for r in caplog.records if "in one go" in r.getMessage()]
    assert len(lines) == 1 and voice.name in lines[0]
    assert not tts.windowed and tts.alignments
    pieces = list(tts.pieces(TEXT))
    assert all(p.first and p.last for p in pieces)  # every chunk whole
    assert np.abs(pieces[0].samples).max() > 3000
    assert pieces[0].visemes is not None


def test_windows_with_too_little_context_are_caught() -> None:
    """What the load-time check (PiperTts._stitches) measures: a voice whose decoder reaches
    further than the contexts allow for would not be played in windows."""
    import onnx

    from vitad.tts.piper_engine import voice_session_options

    model = onnx.load(str(bundled_voice_path()))
    voice = PiperVoice.load(str(bundled_voice_path()))
    ids = voice.phonemes_to_ids(voice.phonemize(TEXT)[0])
    feed = {"input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32)}
    good = SplitSession(split_graph(model), voice_session_options(), hop=256)
    assert stitch_error(good, good.latent(feed)) < STITCH_TOLERANCE
    short = SplitSession(split_graph(model, (Cut("/flow/", 2), Cut("/dec/", 1))),
                         voice_session_options(), hop=256)
    assert stitch_error(short, short.latent(feed)) > STITCH_TOLERANCE
