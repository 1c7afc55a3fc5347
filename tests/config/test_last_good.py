"""The last good config copy: the daemon starts on it when the live file is broken."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import write_config
from vitad.config.last_good import COPY_NAME, copy_dir, load_or_last_good, save_last_good
from vitad.config.loader import ConfigError, load_config


@pytest.fixture(autouse=True)
def _no_systemd_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)


def break_price(path: Path) -> None:
    text = path.read_text()
    broken = text.replace('price = "7 dollars 50"', "price = 7.5").replace(
        "hangover_s = 0.5", "hangover_s = -1")
    assert broken != text
    path.write_text(broken)


def test_a_good_live_file_is_used_and_no_fallback_reported(tmp_path: Path) -> None:
    live = write_config(tmp_path)
    loaded = load_or_last_good(live)
    assert loaded.fallback is None and loaded.copy is None
    assert loaded.config.shop.machines[1].price == "7 dollars 50"


def test_broken_live_file_falls_back_to_the_copy_with_every_problem(tmp_path: Path) -> None:
    live = write_config(tmp_path)
    saved = save_last_good(load_config(live), live)
    assert saved == tmp_path / "state" / COPY_NAME
    break_price(live)

    loaded = load_or_last_good(live)

    assert loaded.copy == saved
    assert loaded.config.shop.machines[1].price == "7 dollars 50"
    assert loaded.fallback is not None and loaded.fallback.source == str(live)
    keys = " ".join(loaded.fallback.problems)
    assert "shop.machines[1].price" in keys and "listen.hangover_s" in keys
    # Relative paths in the copy resolve against the live file's folder, not the state dir.
    assert loaded.config.base_dir == live.resolve().parent


def test_without_a_copy_the_live_error_is_raised(tmp_path: Path) -> None:
    live = write_config(tmp_path)
    break_price(live)
    with pytest.raises(ConfigError) as err:
        load_or_last_good(live)
    assert err.value.source == str(live)


def test_a_missing_live_file_also_falls_back(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    live = write_config(tmp_path)
    save_last_good(load_config(live), live)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))  # as under systemd
    live.unlink()
    loaded = load_or_last_good(live)
    assert loaded.fallback is not None and loaded.fallback.problems == ["file not found"]


def test_an_unusable_copy_is_logged_and_the_live_error_raised(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    live = write_config(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / COPY_NAME).write_text("[listen]\nhangover_s = 'x'\n")
    break_price(live)
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError) as err:
        load_or_last_good(live)
    assert err.value.source == str(live)
    assert "last good copy" in caplog.text and "unusable" in caplog.text


def test_systemd_state_directory_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = write_config(tmp_path)
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path / 'sd'}:{tmp_path / 'other'}")
    assert save_last_good(load_config(live), live) == tmp_path / "sd" / COPY_NAME
    assert copy_dir(live=live) == tmp_path / "sd"


def test_state_dir_is_read_from_a_broken_but_parseable_file(tmp_path: Path) -> None:
    live = write_config(tmp_path)
    break_price(live)
    assert copy_dir(live=live) == tmp_path / "state"
    live.write_text("this is [not toml")
    assert copy_dir(live=live) == Path("/var/lib/vitad")


def test_saving_is_atomic_idempotent_and_never_raises(tmp_path: Path) -> None:
    live = write_config(tmp_path)
    config = load_config(live)
    first = save_last_good(config, live)
    assert first is not None and first.read_bytes() == live.read_bytes()
    stamp = first.stat().st_mtime_ns
    assert save_last_good(config, live) == first
    assert first.stat().st_mtime_ns == stamp  # unchanged file: no SD-card write
    assert [p.name for p in first.parent.iterdir()] == [COPY_NAME]  # no temp files left
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    bad = config.model_copy(update={"runtime": config.runtime.model_copy(
        update={"state_dir": blocker / "state"})})
    assert save_last_good(bad, live) is None
