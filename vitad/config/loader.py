"""Load vitad.toml and report every problem at once, with key paths and "did you mean"."""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from vitad.config.schema import Config
from vitad.fileio import UnusableFile, read_regular_file, real_parent

DEFAULT_PATHS = (Path("/etc/vitad/vitad.toml"),)
MAX_CONFIG_BYTES = 1024 * 1024  # a real vitad.toml is a few KB


class ConfigError(Exception):
    """A config file that cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        # A key or path from the file may hold a newline or a NUL ("a\nb" = 1 is valid
        # TOML): escape them, so each problem stays one line that names the file.
        self.source = one_line(source)
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(f"{self.source}: {p}" for p in self.problems))


def one_line(text: str) -> str:
    """``text`` with every non-printable character (newline, NUL, ...) written as its escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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


def _describe(error: ErrorDetails) -> str:
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
        if "base_dir" in data:  # set from the file's location, never from the file
            raise ConfigError(source, ["base_dir: unknown key (relative paths resolve against "
                                       "the config file's folder)"])
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        # All at once: a schema error must not hide a missing intents file.
        problems = [_describe(e) for e in exc.errors()]
        bad_keys = {p.split(":", 1)[0].split("[", 1)[0] for p in problems}
        problems += [p for p in _check_raw_files(data, base_dir)
                     if p.split(":", 1)[0] not in bad_keys]
        raise ConfigError(source, problems) from None
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
    if (why := _missing(intents)) is not None:
        problems.append(f"dialogue.intents: {why}: {intents}")
    voice = resolve(config, Path(config.tts.voice))
    if config.tts.voice != "joe" and (why := _missing(voice)) is not None:
        problems.append(f"tts.voice: Piper voice {why}: {config.tts.voice}")
    for name in config.wake.models:
        model = resolve(config, Path(name))
        if name.endswith((".onnx", ".tflite")) and (why := _missing(model)) is not None:
            why = why.replace("file not found", "not found")
            problems.append(f"wake.models: custom wake-word model {why}: {name}")
    return problems


def _check_raw_files(data: dict[str, Any], base_dir: Path) -> list[str]:
    """The same file checks on a document that failed the schema, where the keys are usable.

    Builds a default config and overlays the file settings that are well-formed strings.
    """
    def text_at(section: str, key: str) -> str | None:
        table = data.get(section)
        value = table.get(key) if isinstance(table, dict) else None
        return value if isinstance(value, str) and value else None

    defaults = Config(base_dir=base_dir)
    settings: dict[str, Any] = {"base_dir": base_dir}
    intents = text_at("dialogue", "intents")
    voice = text_at("tts", "voice")
    wake = data.get("wake")
    models = wake.get("models") if isinstance(wake, dict) else None
    try:
        partial = defaults.model_copy(update=settings)
        if intents is not None:
            partial = partial.model_copy(update={"dialogue": partial.dialogue.model_copy(
                update={"intents": Path(intents)})})
        if voice is not None:
            partial = partial.model_copy(update={"tts": partial.tts.model_copy(
                update={"voice": voice})})
        if isinstance(models, list) and all(isinstance(m, str) for m in models) and models:
            partial = partial.model_copy(update={"wake": partial.wake.model_copy(
                update={"models": models})})
    except (TypeError, ValueError):
        return []
    return _check_files(partial)


def _missing(path: Path) -> str | None:
    """Why a path that should be a file is not usable, in words an operator can act on;
    None when it is a regular file.

    ``os.stat`` rather than ``Path.is_file``: is_file raises on a name too long or a folder
    we may not enter (EACCES), and a path from the config is untrusted input.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "is a broken link" if os.path.islink(path) else "file not found"
    except ValueError:  # a NUL character in the path
        return "file not found (the path holds a NUL character)"
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file"
    return "is not a regular file"


def resolve(config: Config, path: Path) -> Path:
    """Resolve a path from the config relative to the config file's folder."""
    with contextlib.suppress(RuntimeError):  # "~nosuchuser/...": kept as written (not found)
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


def sandbox_config_dict(root: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """The shipped config as a dict with every file it writes under ``root`` and the avatar
    off, then ``sections`` merged in per table — how tests and benchmarks run a real daemon
    or pipeline without touching /var/lib/vitad."""
    data = tomllib.loads(bundled_config_path().read_text())
    data["dialogue"]["intents"] = str(shipped_config_dir() / "intents.en.toml")
    data["tts"]["cache_dir"] = str(root / "tts-cache")
    data.setdefault("runtime", {})["state_dir"] = str(root / "state")
    data["runtime"]["health_socket"] = str(root / "health.sock")
    data["runtime"]["metrics_textfile"] = str(root / "vitad.prom")
    data["avatar"]["enabled"] = False
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


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
        raw = read_regular_file(path, MAX_CONFIG_BYTES, "TOML config file")
    except UnusableFile as exc:
        raise ConfigError(source, [str(exc).removeprefix(f"{path}: ")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, ["not UTF-8 text; expected a TOML file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"invalid TOML: {exc}"]) from None
    except RecursionError:  # tomllib recurses per level of [[[...]]] or {a={a=...}}
        raise ConfigError(source, ["invalid TOML: arrays or tables nested too deeply"]) from None
    try:
        return validate_config(data, source, real_parent(path))
    except RecursionError:  # a few hundred levels parse, then overflow the validator
        raise ConfigError(source, ["arrays or tables nested too deeply; expected the "
                                   "vitad.toml layout"]) from None
