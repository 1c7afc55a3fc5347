"""Load vitad.toml and report every problem at once, with key paths and "did you mean"."""

from __future__ import annotations

import difflib
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from vitad.config.schema import Config

DEFAULT_PATHS = (Path("/etc/vitad/vitad.toml"),)


class ConfigError(Exception):
    """A config file that cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def _model_at(path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the table at ``path`` (for did-you-mean suggestions)."""
    model: type[BaseModel] | None = Config
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", None)
        candidates = [annotation, *(inner or ())]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return model


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1])
        hint = ""
        if owner is not None:
            close = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields), n=1)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
        return f"{key}: unknown key{hint}"
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return f"{key}: {error['msg']}{shown}"


def validate_config(data: dict[str, Any], source: str, base_dir: Path) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from None
    problems = _check_files(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def _check_files(config: Config) -> list[str]:
    """Files the config names that must exist for the daemon to start at all.

    The Vosk model is deliberately not checked: a missing model is a degraded mode
    (PocketSphinx fallback), not a config error.
    """
    problems = []
    intents = resolve(config, config.dialogue.intents)
    if not intents.is_file():
        problems.append(f"dialogue.intents: file not found: {intents}")
    if config.tts.voice != "joe" and not resolve(config, Path(config.tts.voice)).is_file():
        problems.append(f"tts.voice: Piper voice file not found: {config.tts.voice}")
    for name in config.wake.models:
        if name.endswith((".onnx", ".tflite")) and not resolve(config, Path(name)).is_file():
            problems.append(f"wake.models: custom wake-word model not found: {name}")
    return problems


def resolve(config: Config, path: Path) -> Path:
    """Resolve a path from the config relative to the config file's folder."""
    path = path.expanduser()
    return path if path.is_absolute() else (config.base_dir / path)


def shipped_config_dir() -> Path:
    """The folder holding the shipped vitad.toml and intents files.

    In a source checkout that is the repository's ``config/``; an installed wheel carries
    the same files under ``<prefix>/share/vitad/config`` (pyproject data-files).
    """
    checkout = Path(__file__).resolve().parents[2] / "config"
    if (checkout / "vitad.toml").is_file():
        return checkout
    return Path(sys.prefix) / "share" / "vitad" / "config"


def bundled_config_path() -> Path:
    """The shipped example config (used by demo, tests and as a fallback)."""
    return shipped_config_dir() / "vitad.toml"


def config_source(path: Path | None) -> Path:
    """The file ``load_config(path)`` reads: ``path``, else /etc/vitad/vitad.toml or bundled."""
    if path is not None:
        return path
    return next((p for p in DEFAULT_PATHS if p.is_file()), bundled_config_path())


def load_config(path: Path | None = None) -> Config:
    """Load and validate a config file; with no path, /etc/vitad/vitad.toml or the bundled one."""
    path = config_source(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, ["file not found"]) from None
    except OSError as exc:
        raise ConfigError(source, [f"cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, ["not UTF-8 text; expected a TOML file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"invalid TOML: {exc}"]) from None
    return validate_config(data, source, path.resolve().parent)
