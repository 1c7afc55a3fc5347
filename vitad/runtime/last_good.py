"""Keep a copy of the last config the daemon ran on, and start on it when the live one is bad.

Why: operators edit ``/etc/vitad/vitad.toml`` (and the intents file) over SSH. A typo followed
by a reboot (or a power cut hours later) would otherwise leave the box dark until somebody
fixes the file: the daemon exits 78 and systemd (rightly) does not restart a config error.
With a last good copy the daemon starts on it, logs every problem, and says so in STATUS and
``vitad health`` (degraded component ``config``). Exit 78 remains for a box that has never
started (no copy yet): there is nothing sane to run then.

The copy is the pair that last worked: ``vitad.toml`` as raw bytes (relative paths in it
still resolve against the live config's folder) and the intents file it named.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from vitad.config.loader import (
    MAX_CONFIG_BYTES,
    ConfigError,
    config_source,
    load_config,
    resolve,
    validate_config,
)
from vitad.config.runtime_settings import RuntimeSettings
from vitad.config.schema import Config
from vitad.dialogue.intents import MAX_INTENTS_BYTES, IntentsError
from vitad.dialogue.templates import TemplateError
from vitad.fileio import UnusableFile, read_regular_file, real_parent, write_atomic

log = logging.getLogger(__name__)

COPY_DIR = "last-good"
CONFIG_NAME = "vitad.toml"
INTENTS_NAME = "intents.toml"
UNUSABLE = (ConfigError, IntentsError, TemplateError)


T = TypeVar("T")


@dataclass(frozen=True)
class LoadedConfig(Generic[T]):
    config: Config
    path: Path  # the live config file
    prepared: T  # what ``prepare`` built from the config (the daemon: its engines)
    problems: list[str] = field(default_factory=list)  # non-empty: running on the copy
    copy: Path | None = None

    @property
    def fallback(self) -> bool:
        return self.copy is not None


def problems_of(exc: Exception) -> list[str]:
    """One line per problem, whichever part of the config was unusable."""
    if isinstance(exc, ConfigError):
        return [f"{exc.source}: {p}" for p in exc.problems]
    return [str(exc).replace("\n", "; ")]


def copy_dir(config: Config | None = None, live: Path | None = None) -> Path:
    """Where the copy lives: systemd's ``$STATE_DIRECTORY`` when set, else ``runtime.state_dir``.

    With a broken config the state dir it names may be unreadable, so the live file's raw
    ``[runtime] state_dir`` is tried before the built-in default.
    """
    env = os.environ.get("STATE_DIRECTORY", "")
    if env:
        state = Path(env.split(":")[0])
    elif config is not None:
        state = Path(config.runtime.state_dir)
    else:
        state = Path(RuntimeSettings().state_dir)
        if live is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError, tomllib.TOMLDecodeError,
                                     AttributeError, RecursionError):
                raw = tomllib.loads(
                    read_regular_file(live, MAX_CONFIG_BYTES, "TOML config file").decode("utf-8"))
                configured = raw.get("runtime", {}).get("state_dir")
                if isinstance(configured, str) and configured:
                    state = Path(configured)
    return state / COPY_DIR


def _write_if_changed(target: Path, data: bytes) -> None:
    with contextlib.suppress(OSError):
        if read_regular_file(target, len(data), "copy") == data:
            return  # unchanged: no SD-card write
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data, durable=True)


def save_last_good(config: Config, live: Path) -> Path | None:
    """Copy ``live`` and its intents file (which produced ``config``); never raises.

    Intents first: a power cut in between leaves the old config with the new intents,
    which is checked as a pair again before it is ever used.
    """
    folder = copy_dir(config)
    try:
        intents = resolve(config, config.dialogue.intents)
        _write_if_changed(folder / INTENTS_NAME,
                          read_regular_file(intents, MAX_INTENTS_BYTES, "intents file"))
        _write_if_changed(folder / CONFIG_NAME,
                          read_regular_file(live, MAX_CONFIG_BYTES, "TOML config file"))
    except OSError as exc:
        log.warning("config: cannot keep a last good copy in %s: %s", folder, exc.strerror or exc)
        return None
    return folder


def _load_copy(folder: Path, live: Path) -> Config:
    """The copied pair, validated exactly like a live config."""
    copy = folder / CONFIG_NAME
    data = tomllib.loads(read_regular_file(copy, MAX_CONFIG_BYTES, "TOML config file")
                         .decode("utf-8"))
    if (folder / INTENTS_NAME).is_file():
        data.setdefault("dialogue", {})["intents"] = str(folder / INTENTS_NAME)
    return validate_config(data, f"{copy} (last good copy of {live})", real_parent(live))


def no_preparation(config: Config) -> None:
    """For callers that only want the validated config."""


def load_or_last_good(path: Path | None,
                      prepare: Callable[[Config], T] = no_preparation,  # type: ignore[assignment]  # T is None then; mypy cannot bind a TypeVar default
                      ) -> LoadedConfig[T]:
    """The live config if it is usable; else the last good copy.

    Usable means validated *and* ``prepare(config)`` succeeded: the daemon passes a function
    that builds the dialogue and loads every model the config names, raising one of
    :data:`UNUSABLE` when the config cannot run (a garbage wake model is a config problem, not
    a reason to stay dark). Raises the live config's error when there is no usable copy.
    """
    live = config_source(path)
    try:
        config = load_config(live)
        return LoadedConfig(config, live, prepare(config))
    except UNUSABLE as live_error:
        folder = copy_dir(live=live)
        try:
            config = _load_copy(folder, live)
            prepared = prepare(config)
        except UnusableFile as exc:
            if not (folder / CONFIG_NAME).exists():
                raise live_error from None
            log.error("config: the last good copy in %s is unusable too: %s", folder, exc)
            raise live_error from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, *UNUSABLE) as exc:
            log.error("config: the last good copy in %s is unusable too: %s", folder,
                      str(exc).replace("\n", "; "))
            raise live_error from None
        return LoadedConfig(config, live, prepared, problems_of(live_error),
                            folder / CONFIG_NAME)
