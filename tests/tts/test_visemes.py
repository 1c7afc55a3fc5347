"""Phonemes to mouth shapes: the table, and a real Piper alignment of a real sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vitad.avatar.state import VISEMES
from vitad.config.schema import TtsSettings
from vitad.tts.piper_engine import PiperTts
from vitad.tts.visemes import _TABLE, SHAPES, viseme_of, viseme_track

SENTENCE = "Good morning, we open at seven."


def test_the_shapes_are_the_avatars() -> None:
    assert SHAPES == VISEMES
    assert set(_TABLE.values()) <= {*SHAPES, "keep", "next"}


@pytest.mark.parametrize(("phonemes", "shape"), [
    ("mbp", "closed"), ("^$.,?!", "closed"), ("fv", "closed"),
    ("uʊoɔw", "round"), ("ieɪɛæ", "wide"), ("aɑʌə", "open"),
])
def test_the_table(phonemes: str, shape: str) -> None:
    assert {viseme_of(p) for p in phonemes} == {shape}


def test_consonants_keep_stress_marks_look_ahead_and_neighbours_merge() -> None:
    track = viseme_track([("^", 10), ("t", 10), ("ˈ", 5), ("ɑ", 10), ("ː", 5), ("n", 10),
                          ("m", 10), ("ˈ", 4), ("u", 6), (" ", 10), (",", 10), ("$", 0)])
    assert track.segments() == [(0, 20, "closed"), (20, 50, "open"), (50, 60, "closed"),
                                (60, 80, "round"), (80, 90, "closed")]
    assert track.length == 90
    assert [track.at(i) for i in (-1, 0, 25, 55, 79, 90)] == [
        "closed", "closed", "open", "closed", "round", "closed"]


def test_a_block_shows_a_short_closure_else_its_longest_shape() -> None:
    track = viseme_track([("a", 100), ("p", 10), ("a", 100), ("i", 150)])
    assert track.over(50, 150) == "closed"  # 10 samples of p in a 100-sample block
    assert track.over(111, 211) == "open"
    assert track.over(150, 250) == "open"  # 60 samples of open, 40 of wide
    assert track.over(200, 300) == "wide"
    assert track.over(300, 400) == "wide" and track.over(400, 500) == "closed"


def test_a_real_alignment_of_a_real_sentence(tts: PiperTts) -> None:
    """Piper's alignment of the joe voice: the shapes land where the sounds are."""
    assert tts.alignments, "the bundled voice gives no alignments: is onnx installed?"
    speech = tts.render(SENTENCE)
    assert speech.alignment is not None
    phonemes = "".join(p for p, _ in speech.alignment)
    assert phonemes.startswith("^") and phonemes.endswith(".$")
    assert "m" in phonemes and "o" in phonemes and "p" in phonemes
    assert sum(n for _, n in speech.alignment) == len(speech.samples)
    rate = tts.rate
    track = viseme_track(speech.alignment)
    segments = [(s / rate, e / rate, v) for s, e, v in track.segments()]
    assert {v for *_, v in segments} == set(VISEMES)
    # "Good m|orning": the lips close for the m about 0.15-0.4 s in, then round for "or".
    m_at = next(s for s, _, v in segments if v == "closed" and s > 0.1)
    assert 0.15 < m_at < 0.4
    assert track.at(int((m_at + 0.1) * rate)) == "round"
    # "we open": round (o) then the p closes the lips, around a second in.
    p_at = next(s for s, _, v in segments if v == "closed" and s > 0.95)
    assert 1.0 < p_at < 1.4
    assert track.at(int(p_at * rate) - 1) == "round"
    # The comma's pause is closed, and it is where the audio is quiet (the alignment is in
    # time with the audio, not just in order).
    pauses = [(s, e) for s, e, v in segments if v == "closed" and e - s > 0.1]
    assert len(pauses) >= 2  # the comma, and the full stop at the end
    s, e = pauses[0]
    assert 0.4 < s < 0.9
    loudness = np.sqrt(np.mean(speech.samples.astype(np.float64) ** 2))
    during = speech.samples[int(s * rate) : int(e * rate)].astype(np.float64)
    assert np.sqrt(np.mean(during**2)) < 0.05 * loudness
    assert pauses[-1][1] == pytest.approx(len(speech.samples) / rate)


def test_the_cache_keeps_the_alignments(tts: PiperTts) -> None:
    first = tts.spoken("We open at seven.")
    again = tts.spoken("We open at seven.")
    assert again.cached and first.visemes is not None and again.visemes == first.visemes
    entry = tts.cache.get(tts.cache_key("We open at seven."))
    assert entry is not None and entry.alignment is not None


def test_a_voice_without_alignments_gives_no_visemes(tmp_path: Path) -> None:
    plain = PiperTts(TtsSettings(noise_scale=0.0, noise_w=0.0), cache_dir=tmp_path,
                     alignments=False)
    assert not plain.alignments
    spoken = plain.spoken("We open at seven.")
    assert spoken.visemes is None and np.abs(spoken.samples).max() > 3000
    assert plain.spoken("We open at seven.").cached  # cached all the same
    entry = plain.cache.get(plain.cache_key("We open at seven."))
    assert entry is not None and entry.alignment is None
