"""Config loading: every problem at once, key paths, did-you-mean, clear file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitad.config.loader import ConfigError, load_config, shipped_config_dir
from vitad.config.schema import Config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vitad.toml"
    intents = (shipped_config_dir() / "intents.en.toml").as_posix()
    path.write_text(f'[dialogue]\nintents = "{intents}"\n{text}')
    return path


def test_shipped_and_empty_configs_validate(tmp_path: Path) -> None:
    shipped = load_config(shipped_config_dir() / "vitad.toml")
    assert [m.id for m in shipped.shop.machines] == ["washer_small", "washer_large", "dryer"]
    defaults = load_config(write(tmp_path, ""))
    assert defaults.wake.models == ["hey_jarvis"]
    assert defaults.listen.hangover_s <= 0.5
    assert isinstance(defaults, Config)


def test_all_problems_reported_with_key_paths(tmp_path: Path) -> None:
    path = write(tmp_path, (
        '[wake]\ntreshold = 0.4\nrefractory_s = "soon"\n'
        '[listen]\nhangover_s = 0\n'
        '[[shop.machines]]\nid = "w1"\nkind = "boat"\nname = "w"\nprice = "1"\n'
        'cycle_minutes = 30\n'
    ))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    assert len(problems) == 4, problems
    joined = "\n".join(problems)
    assert "wake.treshold: unknown key (did you mean 'threshold'?)" in joined
    assert "wake.refractory_s" in joined and "listen.hangover_s" in joined
    assert "shop.machines[0].kind" in joined


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[shop\nname = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_missing_files_and_duplicate_machines(tmp_path: Path) -> None:
    path = tmp_path / "vitad.toml"
    path.write_text(
        '[dialogue]\nintents = "nope.toml"\n[tts]\nvoice = "/nowhere/x.onnx"\n'
        '[[shop.machines]]\nid = "a"\nkind = "washer"\nname = "a"\nprice = "1"\n'
        'cycle_minutes = 1\n'
        '[[shop.machines]]\nid = "a"\nkind = "dryer"\nname = "b"\nprice = "1"\n'
        'cycle_minutes = 1\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert any("repeated: a" in p for p in err.value.problems)
    path.write_text('[dialogue]\nintents = "nope.toml"\n[tts]\nvoice = "/nowhere/x.onnx"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    joined = "\n".join(err.value.problems)
    assert "dialogue.intents: file not found" in joined and "nope.toml" in joined
    assert "tts.voice" in joined and "/nowhere/x.onnx" in joined
