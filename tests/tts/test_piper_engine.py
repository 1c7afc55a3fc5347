"""One level for a reply on the real voice: a chunk played as a miss, window by window, is the
chunk the cache plays later, sample for sample; the one-shot route keeps the same level; and
entries made under the old rule (Piper's per-sentence peak normalization) are not reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tts.test_windowed import renamed_decoder_voice
from vitad.config.schema import TtsSettings
from vitad.tts.cache import AudioCache
from vitad.tts.level import KNEE
from vitad.tts.piper_engine import PiperTts, SpokenPiece, bundled_voice_path

SHIPPED = TtsSettings()  # with Piper's sampling noise, as the shop runs
# Shop replies, one of them long enough to be spoken as two clauses.
TEXTS = ("Dryer seven takes quarters and cards.",
         "Small washers are three dollars fifty, and the big ones are six dollars.",
         "We are open every day from six in the morning to eleven at night.")


@pytest.fixture(scope="module")
def tts(tmp_path_factory: pytest.TempPathFactory) -> PiperTts:
    return PiperTts(SHIPPED, cache_dir=tmp_path_factory.mktemp("level-cache"))


def _chunks(pieces: list[SpokenPiece]) -> list[tuple[str, np.ndarray]]:
    """(chunk text, its pieces joined) for each chunk of a reply."""
    out, current = [], []
    for piece in pieces:
        current.append(piece.samples)
        if piece.last:
            out.append((piece.text, np.concatenate(current)))
            current = []
    return out


def _rms_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) / 32767.0**2))


def test_a_miss_plays_exactly_what_the_cache_plays_later(tts: PiperTts) -> None:
    assert tts.windowed
    for text in TEXTS:
        pieces = list(tts.pieces(text))
        assert not any(p.cached for p in pieces)
        assert len(pieces) > 2  # window by window
        for chunk, played in _chunks(pieces):
            cached = tts.cache.get(tts.cache_key(chunk))
            assert cached is not None and np.array_equal(cached.samples, played), chunk
        hits = list(tts.pieces(text))
        assert all(p.cached and p.first and p.last for p in hits)
        assert [(t, s.tobytes()) for t, s in _chunks(hits)] == [
            (t, s.tobytes()) for t, s in _chunks(pieces)]


def test_the_one_shot_route_gives_the_same_level(tts: PiperTts) -> None:
    """render() (the answer preparer's) and a voice decoded in one go use the same rule: a
    sentence said both ways differs by float rounding only (with the sampling noise off)."""
    quiet = PiperTts(SHIPPED.model_copy(update={"noise_scale": 0.0, "noise_w": 0.0}),
                     cache_dir=tts.cache.directory / "quiet")
    text = TEXTS[0]
    played = np.concatenate([p.samples for p in quiet.pieces(text)])
    rendered = quiet.render(text).samples
    assert len(played) == len(rendered)
    assert np.abs(played.astype(np.int32) - rendered).max() <= 1
    assert quiet.level == tts.level  # the gain is the voice's, not the noise settings'


def test_replies_are_about_as_loud_as_piper_made_them_and_rarely_limited(
        tts: PiperTts) -> None:
    """The fixed gain keeps the level Piper's per-sentence normalization gave (within the
    spread of the replies' peaks), and the limiter bends only the highest few samples."""
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(str(bundled_voice_path()))  # what Piper itself says
    stock = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # normalize_audio: Piper's
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
    differences, above, total = [], 0, 0
    for text in TEXTS:
        normalized = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, stock)])
        raw = np.concatenate([c.audio_float_array for c in voice.synthesize(text, quiet)])
        ours = tts.level.apply(raw)
        differences.append(_rms_db(ours) - _rms_db(normalized))
        above += int(np.count_nonzero(np.abs(ours.astype(np.int32)) > KNEE * 32767))
        total += len(ours)
        assert np.abs(ours.astype(np.int32)).max() <= 32767
    assert max(abs(d) for d in differences) < 3.5, differences  # peaks 0.35-0.73: +-3 dB
    assert abs(float(np.median(differences))) < 2.0, differences
    assert above / total < 0.01


def test_entries_of_the_old_rule_are_not_hits(tts: PiperTts) -> None:
    text = "The change machine is next to the door by the soap."
    old_variant = "ls=1.0,al"  # the key before the level rule: peak-normalized audio
    old_key = AudioCache.key(tts.voice_id, text, old_variant)
    assert old_key != tts.cache_key(text)
    loud = np.full(22050, 30000, dtype=np.int16)  # what an old entry would play
    tts.cache.put(old_key, loud)
    pieces = list(tts.pieces(text))
    assert not pieces[0].cached and len(pieces) > 1  # a miss, played window by window
    assert not np.array_equal(np.concatenate([p.samples for p in pieces]), loud)
    assert tts.spoken(text).cached  # now under the new key
    other_speed = PiperTts(SHIPPED.model_copy(update={"length_scale": 1.2}),
                           cache_dir=tts.cache.directory)
    assert other_speed.level == tts.level  # the voice's gain, whatever the speed ...
    assert other_speed.cache_key(text) != tts.cache_key(text)  # ... but not its audio


def test_a_voice_decoded_in_one_go_gets_the_same_gain(
        tts: PiperTts, tmp_path: Path) -> None:
    """The same voice with its decoder renamed (another export: not windowed) measures its
    gain from the one-shot synthesis of the same check sentence, and gets the same one."""
    voice = renamed_decoder_voice(tmp_path)
    one_go = PiperTts(SHIPPED.model_copy(update={"voice": str(voice)}),
                      cache_dir=tmp_path / "cache")
    assert not one_go.windowed
    assert one_go.level == tts.level
    whole = list(one_go.pieces(TEXTS[0]))
    assert len(whole) == 1 and np.abs(whole[0].samples.astype(np.int32)).max() <= 32767
    assert np.array_equal(whole[0].samples, one_go.spoken(TEXTS[0]).samples)
