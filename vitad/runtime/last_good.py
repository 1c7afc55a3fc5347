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
from dataclasses import dataclass, field
from pathlib import Path

from vitad.config.loader import ConfigError, config_source, load_config, resolve, validate_config
from vitad.config.schema import Config
from vitad.dialogue.intents import IntentsError
from vitad.dialogue.templates import TemplateError
from vitad.fileio import write_atomic
from vitad.pipeline.engines import build_dialogue
from vitad.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

COPY_DIR = "last-good"
CONFIG_NAME = "vitad.toml"
INTENTS_NAME = "intents.toml"
UNUSABLE = (ConfigError, IntentsError, TemplateError)


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path  # the live config file
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
                                     AttributeError):
                raw = tomllib.loads(live.read_bytes().decode("utf-8"))
                configured = raw.get("runtime", {}).get("state_dir")
                if isinstance(configured, str) and configured:
                    state = Path(configured)
    return state / COPY_DIR


def _write_if_changed(target: Path, data: bytes) -> None:
    with contextlib.suppress(OSError):
        if target.read_bytes() == data:
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
        _write_if_changed(folder / INTENTS_NAME, intents.read_bytes())
        _write_if_changed(folder / CONFIG_NAME, live.read_bytes())
    except OSError as exc:
        log.warning("config: cannot keep a last good copy in %s: %s", folder, exc.strerror or exc)
        return None
    return folder


def _load_copy(folder: Path, live: Path) -> Config:
    """The copied pair, validated exactly like a live config (and its dialogue built)."""
    copy = folder / CONFIG_NAME
    data = tomllib.loads(copy.read_bytes().decode("utf-8"))
    if (folder / INTENTS_NAME).is_file():
        data.setdefault("dialogue", {})["intents"] = str(folder / INTENTS_NAME)
    config = validate_config(data, f"{copy} (last good copy of {live})", live.resolve().parent)
    build_dialogue(config)
    return config


def load_or_last_good(path: Path | None) -> LoadedConfig:
    """The live config if it is usable (schema, files, intents, templates); else the copy.

    Raises the live config's error when there is no usable copy.
    """
    live = config_source(path)
    try:
        config = load_config(live)
        build_dialogue(config)
        return LoadedConfig(config, live)
    except UNUSABLE as live_error:
        folder = copy_dir(live=live)
        try:
            config = _load_copy(folder, live)
        except FileNotFoundError:
            raise live_error from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, *UNUSABLE) as exc:
            log.error("config: the last good copy in %s is unusable too: %s", folder,
                      str(exc).replace("\n", "; "))
            raise live_error from None
        return LoadedConfig(config, live, problems_of(live_error), folder / CONFIG_NAME)
