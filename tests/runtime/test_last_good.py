"""The last good config copy: the daemon starts on it when the live config is broken."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tests.conftest import with_wake_model, write_config
from vitad.config.loader import ConfigError, load_config, shipped_config_dir
from vitad.dialogue.intents import IntentsError
from vitad.pipeline.engines import build_dialogue
from vitad.runtime.last_good import (
    CONFIG_NAME,
    COPY_DIR,
    INTENTS_NAME,
    copy_dir,
    load_or_last_good,
    save_last_good,
)


@pytest.fixture(autouse=True)
def _no_systemd_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A live config whose intents file sits beside it (as in /etc/vitad), saved once."""
    shutil.copy(shipped_config_dir() / "intents.en.toml", tmp_path / "intents.en.toml")
    path = write_config(tmp_path, dialogue={"intents": "intents.en.toml"})
    return path


def break_config(path: Path) -> None:
    text = path.read_text()
    broken = text.replace('price = "7 dollars 50"', "price = 7.5").replace(
        "hangover_s = 0.5", "hangover_s = -1")
    assert broken != text
    path.write_text(broken)


def test_a_good_live_config_is_used_and_no_fallback_reported(live: Path) -> None:
    loaded = load_or_last_good(live, prepare=build_dialogue)
    assert not loaded.fallback and loaded.problems == []
    assert loaded.config.shop.machines[1].price == "7 dollars 50"


def test_broken_config_falls_back_to_the_copy_with_every_problem(live: Path,
                                                                 tmp_path: Path) -> None:
    folder = save_last_good(load_config(live), live)
    assert folder == tmp_path / "state" / COPY_DIR
    assert (folder / CONFIG_NAME).read_bytes() == live.read_bytes()
    assert (folder / INTENTS_NAME).read_bytes() == (tmp_path / "intents.en.toml").read_bytes()
    break_config(live)

    loaded = load_or_last_good(live, prepare=build_dialogue)

    assert loaded.fallback and loaded.copy == folder / CONFIG_NAME
    assert loaded.config.shop.machines[1].price == "7 dollars 50"
    text = " ".join(loaded.problems)
    assert "shop.machines[1].price" in text and "listen.hangover_s" in text
    assert str(live) in text
    # Other relative paths still resolve against the live folder; intents come from the copy.
    assert loaded.config.base_dir == live.resolve().parent
    assert loaded.config.dialogue.intents == folder / INTENTS_NAME


def test_broken_or_deleted_intents_file_falls_back_too(live: Path, tmp_path: Path) -> None:
    save_last_good(load_config(live), live)
    intents = tmp_path / "intents.en.toml"
    text = intents.read_text()
    assert "[intents.hours]" in text
    intents.write_text(text.replace("[intents.hours]", "[intents.hours", 1))  # a typo
    with pytest.raises(IntentsError):  # what the daemon would otherwise die of
        build_dialogue(load_config(live))
    loaded = load_or_last_good(live, prepare=build_dialogue)
    assert loaded.fallback and "intents.en.toml" in loaded.problems[0]
    intents.unlink()
    loaded = load_or_last_good(live, prepare=build_dialogue)
    assert loaded.fallback and "dialogue.intents" in loaded.problems[0]


def test_without_a_copy_the_live_error_is_raised(live: Path) -> None:
    break_config(live)
    with pytest.raises(ConfigError) as err:
        load_or_last_good(live, prepare=build_dialogue)
    assert err.value.source == str(live)


def test_a_missing_live_file_also_falls_back(live: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    save_last_good(load_config(live), live)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))  # as under systemd
    live.unlink()
    loaded = load_or_last_good(live, prepare=build_dialogue)
    assert loaded.fallback and loaded.problems == [f"{live}: TOML config file not found"]


def test_an_unusable_copy_is_logged_and_the_live_error_raised(
        live: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "state" / COPY_DIR
    folder.mkdir(parents=True)
    (folder / CONFIG_NAME).write_text("[listen]\nhangover_s = 'x'\n")
    break_config(live)
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError) as err:
        load_or_last_good(live, prepare=build_dialogue)
    assert err.value.source == str(live)
    assert "last good copy" in caplog.text and "unusable" in caplog.text


def test_systemd_state_directory_wins(live: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path / 'sd'}:{tmp_path / 'other'}")
    assert save_last_good(load_config(live), live) == tmp_path / "sd" / COPY_DIR
    assert copy_dir(live=live) == tmp_path / "sd" / COPY_DIR


def test_state_dir_is_read_from_a_broken_but_parseable_file(live: Path, tmp_path: Path) -> None:
    break_config(live)
    assert copy_dir(live=live) == tmp_path / "state" / COPY_DIR
    live.write_text("this is [not toml")
    assert copy_dir(live=live) == Path("/var/lib/vitad") / COPY_DIR


def test_saving_is_atomic_idempotent_and_never_raises(live: Path, tmp_path: Path) -> None:
    config = load_config(live)
    folder = save_last_good(config, live)
    assert folder is not None
    stamp = (folder / CONFIG_NAME).stat().st_mtime_ns
    assert save_last_good(config, live) == folder
    assert (folder / CONFIG_NAME).stat().st_mtime_ns == stamp  # unchanged: no SD-card write
    assert sorted(p.name for p in folder.iterdir()) == [INTENTS_NAME, CONFIG_NAME]  # no temps
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    bad = config.model_copy(update={"runtime": config.runtime.model_copy(
        update={"state_dir": blocker / "state"})})
    assert save_last_good(bad, live) is None


def test_a_symlink_loop_as_the_config_runs_on_the_copy(live: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))  # as systemd sets it
    save_last_good(load_config(live), live)
    live.unlink()
    live.symlink_to(live)  # `ln -sf vitad.toml vitad.toml`: Path.resolve() would raise
    loaded = load_or_last_good(live, prepare=build_dialogue)
    assert loaded.fallback
    assert "Too many levels of symbolic links" in loaded.problems[0]


def test_an_unreadable_intents_file_runs_on_the_copy(live: Path, tmp_path: Path) -> None:
    save_last_good(load_config(live), live)
    intents = tmp_path / "intents.en.toml"
    intents.unlink()
    intents.mkdir()  # unreadable as a file, even for root (chmod 000 is not, for root)
    loaded = load_or_last_good(live, prepare=build_dialogue)
    assert loaded.fallback and "dialogue.intents: is a folder, not a file" in loaded.problems[0]


def test_a_garbage_wake_model_is_a_config_problem_that_falls_back(live: Path,
                                                                  tmp_path: Path) -> None:
    from vitad.pipeline.engines import prepare_engines

    save_last_good(load_config(live), live)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf" * 100)
    live.write_text(with_wake_model(live.read_text(), garbage))
    with pytest.raises(ConfigError, match=r"wake\.models"):
        prepare_engines(load_config(live))
    loaded = load_or_last_good(live, prepare=prepare_engines)
    assert loaded.fallback and loaded.config.wake.models == ["hey_jarvis"]
    assert loaded.prepared.wake is not None


def test_a_deeply_nested_live_config_without_state_directory_is_one_problem(
        live: Path) -> None:
    save_last_good(load_config(live), live)
    live.write_text("[audio]\ninput = " + "[" * 3000 + "]" * 3000 + "\n")
    # STATE_DIRECTORY unset: the copy's folder comes from the unparseable file itself, so
    # the copy cannot be found; what matters is one clear error, not a RecursionError.
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_or_last_good(live, prepare=build_dialogue)
