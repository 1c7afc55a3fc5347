"""A reload keeps the engines whose settings did not change (and with them their state)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import config_dict
from vitad.config.loader import shipped_config_dir, validate_config
from vitad.config.schema import Config
from vitad.pipeline.engines import Engines, load_engines


def _config(tmp_path: Path, edit=None) -> Config:  # type: ignore[no-untyped-def]
    data = config_dict(tmp_path, asr={"engine": "pocketsphinx"})
    if edit is not None:
        edit(data)
    return validate_config(copy.deepcopy(data), "test", shipped_config_dir())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config, Engines]:
    tmp_path = tmp_path_factory.mktemp("engines")
    config = _config(tmp_path)
    return tmp_path, config, load_engines(config)


def test_a_new_price_keeps_every_model_and_the_recognizer(loaded) -> None:  # type: ignore[no-untyped-def]
    tmp_path, old_config, old = loaded

    def new_price(data: dict) -> None:
        data["shop"]["machines"][1]["price"] = "9 dollars 25"

    config = _config(tmp_path, new_price)
    engines = load_engines(config, reuse=(old_config, old))
    assert engines.wake is old.wake and engines.vad is old.vad and engines.tts is old.tts
    assert engines.recognizer is old.recognizer, "same sentences: the recognizer keeps its state"
    assert engines.dialogue is not old.dialogue
    assert "asr" not in engines.load_s and "wake" not in engines.load_s


def test_a_new_machine_number_gives_the_recognizer_new_sentences(loaded) -> None:  # type: ignore[no-untyped-def]
    tmp_path, old_config, old = loaded

    def new_machine(data: dict) -> None:
        data["shop"]["machines"][1]["numbers"] = [7, 8, 9, 31]

    config = _config(tmp_path, new_machine)
    engines = load_engines(config, reuse=(old_config, old))
    assert engines.recognizer is not old.recognizer
    assert engines.domain is not None
    assert any("31" in sentence.split() for sentence in engines.domain.sentences)
    assert engines.wake is old.wake


def test_a_recognizer_that_fell_back_is_kept_until_its_model_is_there(tmp_path: Path) -> None:
    """While the Vosk model is missing a reload keeps the PocketSphinx fallback (a fresh
    decoder has not adapted to the room: it lost the number of "washer five is broken");
    after `vitad fetch-models` the reload tries the configured engine again."""
    model = tmp_path / "not-yet-fetched"
    config = validate_config(config_dict(tmp_path, asr={"engine": "vosk",
                                                        "vosk_model": str(model)}),
                             "test", shipped_config_dir())
    old = load_engines(config)
    assert old.asr_degraded
    kept = load_engines(config, reuse=(config, old))
    assert kept.recognizer is old.recognizer and kept.asr_degraded
    model.mkdir()  # what fetch-models leaves (here empty, so Vosk fails and falls back again)
    retried = load_engines(config, reuse=(config, kept))
    assert retried.recognizer is not old.recognizer and retried.asr_degraded
