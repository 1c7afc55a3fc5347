"""The real Piper voice: synthesis, sentence streaming, cache, and an ASR round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vitad.config.schema import TtsSettings
from vitad.errors import TtsFailure
from vitad.tts.piper_engine import PiperTts


def test_speaks_sentence_by_sentence_and_caches(tmp_path: Path) -> None:
    tts = PiperTts(TtsSettings(), cache_dir=tmp_path)
    assert tts.rate == 22050
    stream = tts.speak("We close at 11 at night. The dryer is 1 dollar 50.")
    first = next(stream)  # only the first sentence has been synthesized at this point
    assert first.text == "We close at 11 at night." and not first.cached
    assert len(first.samples) > tts.rate * 0.5
    assert np.abs(first.samples).max() > 3000
    rest = list(stream)
    assert [s.text for s in rest] == ["The dryer is 1 dollar 50."]
    again = list(tts.speak("We close at 11 at night."))
    assert again[0].cached and np.array_equal(again[0].samples, first.samples)
    assert tts.cache.hits == 1


def test_length_scale_changes_duration(tmp_path: Path) -> None:
    normal = PiperTts(TtsSettings(), cache_dir=tmp_path / "a")
    slow = PiperTts(TtsSettings(length_scale=1.5), cache_dir=tmp_path / "b")
    text = "How much is the big washer?"
    n = len(normal.synthesize(text)[0])
    assert len(slow.synthesize(text)[0]) > 1.3 * n


def test_missing_voice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TtsFailure) as err:
        PiperTts(TtsSettings(voice=str(tmp_path / "en_US-nobody.onnx")))
    assert err.value.code == "tts.voice_missing" and "en_US-nobody.onnx" in err.value.message


def test_round_trip_through_pocketsphinx(speech) -> None:
    from rapidfuzz import fuzz

    from vitad.asr.sphinx_engine import SphinxRecognizer

    stream = SphinxRecognizer().start()
    stream.accept(np.concatenate([np.zeros(4000, np.int16), speech("where can i buy detergent"),
                                  np.zeros(6000, np.int16)]))
    assert fuzz.ratio(stream.finish(), "where can i buy detergent") >= 80


def test_zero_noise_is_repeatable_across_processes(tmp_path: Path) -> None:
    """Piper draws its sampling noise afresh in every process; 0/0 removes it."""
    script = (
        "import hashlib, sys, numpy as np\n"
        "from pathlib import Path\n"
        "from vitad.config.schema import TtsSettings\n"
        "from vitad.tts.piper_engine import PiperTts\n"
        "tts = PiperTts(TtsSettings(noise_scale=0.0, noise_w=0.0), cache_dir=Path(sys.argv[1]))\n"
        "audio = np.concatenate([s.samples for s in tts.speak('How much is the big washer?')])\n"
        "print(hashlib.sha256(audio.tobytes()).hexdigest())\n"
    )
    digests = {
        subprocess.run([sys.executable, "-c", script, str(tmp_path / f"cache{i}")],
                       capture_output=True, text=True, check=True, timeout=120).stdout.strip()
        for i in range(2)
    }
    assert len(digests) == 1, digests


def test_a_long_first_sentence_starts_from_its_first_clause(tmp_path: Path) -> None:
    """On a miss the first audio waits for "Load your clothes," only, not for the sentence;
    the rest follows with a clause pause, not a sentence pause (timings: bench/first_audio.py)."""
    tts = PiperTts(TtsSettings(noise_scale=0.0, noise_w=0.0), cache_dir=tmp_path)
    text = "Load your clothes, close the door, pick a program, then pay at the machine."
    stream = tts.speak(text)
    first = next(stream)
    assert first.text == "Load your clothes," and not first.cached and not first.ends_sentence
    assert len(list(tmp_path.glob("*.pcm"))) == 1  # the rest is not synthesized yet
    rest = list(stream)
    assert [s.text for s in rest] == ["close the door, pick a program, then pay at the machine."]
    assert rest[0].ends_sentence
    whole = tts.render(text).samples
    assert len(first.samples) < 0.4 * len(whole)  # a short first chunk: far less to make
    assert np.abs(first.samples).max() > 3000  # real speech
    # The join: the chunks played with the speaker's pauses last about as long as the
    # sentence said in one run (Piper's own comma pause), not a sentence pause longer.
    joined = len(first.samples) + len(tts.pause(first.ends_sentence)) + len(rest[0].samples)
    assert abs(joined - len(whole)) < 0.1 * tts.rate
    assert len(tts.pause(False)) < len(tts.pause(True))
    # The preparer's chunks are the speaker's: a second time every chunk is a hit.
    assert all(s.cached for s in tts.speak(text))
