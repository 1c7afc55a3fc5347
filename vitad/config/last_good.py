"""Keep a copy of the last config the daemon ran on, and start on it when the live file is bad.

Why: operators edit ``/etc/vitad/vitad.toml`` over SSH. A typo followed by a reboot (or a
power cut hours later) would otherwise leave the box dark until somebody fixes the file: the
daemon exits 78 and systemd (rightly) does not restart a config error. With a last good copy
the daemon starts on it, reports every problem in the journal, and says so in STATUS and
``vitad health`` (degraded component ``config``). Exit 78 remains for a box that has never
started (no copy yet) — there is nothing sane to run then.

The copy holds the raw bytes of the file, so relative paths in it (the intents file) still
resolve against the live config's folder. Only ``vitad.toml`` is covered: an intents file
broken on its own is still a start-up error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from vitad.config.loader import ConfigError, config_source, load_config, validate_config
from vitad.config.schema import Config
from vitad.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

COPY_NAME = "last-good-vitad.toml"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path  # the live config file
    fallback: ConfigError | None = None  # set when running on the last good copy instead
    copy: Path | None = None


def copy_dir(config: Config | None = None, live: Path | None = None) -> Path:
    """Where the copy lives: systemd's ``$STATE_DIRECTORY`` when set, else ``runtime.state_dir``.

    With a broken config the state dir it names may be unreadable, so the live file's raw
    ``[runtime] state_dir`` is tried before the built-in default.
    """
    env = os.environ.get("STATE_DIRECTORY", "")
    if env:
        return Path(env.split(":")[0])
    if config is not None:
        return Path(config.runtime.state_dir)
    if live is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError, tomllib.TOMLDecodeError,
                                 AttributeError, TypeError):
            raw = tomllib.loads(live.read_bytes().decode("utf-8"))
            state_dir = raw.get("runtime", {}).get("state_dir")
            if isinstance(state_dir, str) and state_dir:
                return Path(state_dir)
    return Path(RuntimeSettings().state_dir)


def save_last_good(config: Config, live: Path) -> Path | None:
    """Atomically copy ``live`` (which produced ``config``) into the state dir; never raises."""
    target = copy_dir(config) / COPY_NAME
    try:
        data = live.read_bytes()
        with contextlib.suppress(OSError):
            if target.read_bytes() == data:
                return target  # unchanged: no SD-card write
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".last-good-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        log.warning("config: cannot keep a last good copy at %s: %s", target, exc.strerror or exc)
        return None
    return target


def load_or_last_good(path: Path | None) -> LoadedConfig:
    """Load the live config; if it is unusable, the last good copy (re-validated).

    Raises the live file's ConfigError when there is no usable copy.
    """
    live = config_source(path)
    try:
        return LoadedConfig(load_config(live), live)
    except ConfigError as live_error:
        copy = copy_dir(live=live) / COPY_NAME
        try:
            data = tomllib.loads(copy.read_bytes().decode("utf-8"))
            config = validate_config(data, f"{copy} (last good copy of {live})",
                                     live.resolve().parent)
        except FileNotFoundError:
            raise live_error from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError) as exc:
            log.error("config: the last good copy %s is unusable too: %s", copy,
                      str(exc).replace("\n", "; "))
            raise live_error from None
        return LoadedConfig(config, live, fallback=live_error, copy=copy)
