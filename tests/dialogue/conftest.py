"""Dialogue fixtures: the shipped config and intents files (no models, no temp dirs)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vitad.config.loader import load_config, shipped_config_dir
from vitad.config.schema import Config, Shop
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import IntentsFile, load_intents

SHIPPED = shipped_config_dir()


@pytest.fixture(scope="session")
def shipped_config() -> Config:
    return load_config(SHIPPED / "vitad.toml")


@pytest.fixture(scope="session")
def en_intents() -> IntentsFile:
    return load_intents(SHIPPED / "intents.en.toml")


@pytest.fixture(scope="session")
def zh_intents() -> IntentsFile:
    return load_intents(SHIPPED / "intents.zh.toml")


@pytest.fixture
def make_dialogue(shipped_config: Config,
                  en_intents: IntentsFile) -> Callable[..., Dialogue]:
    """A Dialogue over the shipped settings; any of shop/intents/timeouts can be swapped."""

    def make(shop: Shop | None = None, intents: IntentsFile | None = None,
             **settings: float) -> Dialogue:
        d = shipped_config.dialogue
        return Dialogue(
            intents or en_intents, shop or shipped_config.shop,
            settings.get("min_score", d.min_score),
            session_timeout_s=settings.get("session_timeout_s", d.session_timeout_s),
            max_sessions=int(settings.get("max_sessions", d.max_sessions)),
            confirm_score=settings.get("confirm_score", d.confirm_score),
            confirm_margin=settings.get("confirm_margin", d.confirm_margin),
            confirm_heard_below=settings.get("confirm_heard_below", d.confirm_heard_below),
            clear_score=settings.get("clear_score", d.clear_score),
            clear_heard_min=settings.get("clear_heard_min", d.clear_heard_min),
        )

    return make


@pytest.fixture
def dialogue(make_dialogue: Callable[..., Dialogue]) -> Dialogue:
    return make_dialogue()
