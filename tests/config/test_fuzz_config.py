"""Fuzz vitad.toml loading: whatever the file holds, a Config or a ConfigError, one line each.

Documents are built from the real schema's keys (``Config`` and every section model under
it) with wrong types, out-of-range numbers, unknown keys, unicode, huge strings and deep
nesting; raw bytes and TOML-like junk go through the same door. Each input is written to a
file and loaded exactly as the daemon and ``check-config`` load it (``load_config``).
Profiles (ci / fuzz) are in tests/conftest.py.
"""

from __future__ import annotations

import shutil
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from vitad.config.loader import MAX_CONFIG_BYTES, ConfigError, load_config, one_line
from vitad.config.schema import Config, Machine

# A config file is at most 1 MiB; loading one may cost a few times that, never more.
MEMORY_BOUND = 64 << 20

# Any text TOML can carry (lone surrogates cannot be written as UTF-8, so TOML has none).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
HUGE_TEXT = st.integers(10_000, 150_000).map(lambda n: "\u00e9" * n)  # 2 bytes each in UTF-8
SCALARS = st.one_of(
    st.booleans(), st.integers(), st.floats(), TEXT, st.datetimes(), st.dates(), st.times(),
    st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, -(2**63), 10**30, 1e308, -0.0]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _plausible(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of roughly the right type for a field, around and beyond its bounds."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return st.sampled_from(args) | TEXT
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_plausible(a) for a in args if a is not type(None)))
    if origin is list:
        return st.lists(_plausible(args[0]), max_size=5)
    if origin is dict:
        return st.dictionaries(TEXT, _plausible(args[1]), max_size=3)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(-5, 300) | st.sampled_from([0, 2**31, -(2**63), 10**12])
    if annotation is float:
        return st.floats(-5, 300) | st.sampled_from([0.0, float("nan"), float("inf")])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _section(annotation)
    # str and Path: printable text, file-ish names, the odd "~user/" or NUL, sometimes huge
    return st.one_of(
        TEXT, st.sampled_from(["joe", "hey_jarvis", "x.onnx", "~nosuchuser/x.onnx", "a\x00b",
                               "wav:x.wav", "null", "default", "06:00", "24:00", "x" * 300]),
        HUGE_TEXT,
    )


def _machine() -> st.SearchStrategy[dict[str, Any]]:
    """A [[shop.machines]] table that is often valid, so the shop validator gets reached."""
    valid = st.fixed_dictionaries({
        "id": st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
        "kind": st.sampled_from(["washer", "dryer", "other"]),
        "name": TEXT, "price": TEXT, "cycle_minutes": st.integers(-1, 300),
        "numbers": st.lists(st.integers(-3, 10**6), max_size=4),
    })
    return valid | _section(Machine)


def _section(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A table of ``model``: any subset of its real keys, plausible or garbage values,
    and now and then an unknown key (often a near-miss of a real one)."""
    known = {name: field for name, field in model.model_fields.items() if name != "base_dir"}
    optional = {}
    for name, field in known.items():
        plausible = (st.lists(_machine(), max_size=3) if field.annotation == list[Machine]
                     else _plausible(field.annotation))
        optional[name] = plausible | VALUES
    unknown = st.dictionaries(
        st.one_of(TEXT, st.sampled_from(list(known)).map(lambda k: k + "s")).filter(
            lambda k: k not in known and k != "base_dir"),
        VALUES, max_size=2)
    return st.builds(lambda table, extra: {**extra, **table},
                     st.fixed_dictionaries({}, optional=optional), unknown)


DOCUMENTS = _section(Config)


def _deep(depth: int, opener: str, closer: str, leaf: str = "") -> str:
    return opener * depth + leaf + closer * depth


RAW = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=200).map(lambda b: b"[shop]\nname = \"" + b),
    st.text(st.sampled_from(list("[]{}=\"'.,#\n \t\\abx019-+:")), max_size=200).map(str.encode),
    st.integers(1, 4000).map(lambda d: ("[audio]\ninput = " + _deep(d, "[", "]")).encode()),
    st.integers(1, 4000).map(lambda d: ("[wake]\nmodels = " + _deep(d, "{a=", "}", "1"))
                             .encode()),
    st.integers(1, 2000).map(lambda d: (".".join(["shop"] * d) + " = 1").encode()),
    st.integers(MAX_CONFIG_BYTES - 40, MAX_CONFIG_BYTES + 40).map(
        lambda n: b"# " + b"x" * (n - 3) + b"\n"),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config folder with the shipped intents file, so a generated config can be valid."""
    path = tmp_path_factory.mktemp("fuzz-config")
    shutil.copy(Path(__file__).resolve().parents[2] / "config" / "intents.en.toml",
                path / "intents.en.toml")
    return path


def check_outcome(path: Path, outcome: object) -> None:
    """A Config from this folder, or a ConfigError: one printable line per problem, each
    prefixed by the file's name. Anything else is re-raised with its traceback."""
    if isinstance(outcome, Config):
        assert outcome.base_dir == path.parent
        return
    if not isinstance(outcome, ConfigError):
        assert isinstance(outcome, BaseException), outcome
        raise outcome
    assert outcome.source == str(path)
    assert outcome.problems, "a ConfigError without a problem"
    for problem in outcome.problems:
        assert problem.strip() and problem.isprintable(), f"not one clear line: {problem!r}"
    assert str(outcome).splitlines() == [f"{path}: {p}" for p in outcome.problems]


@given(doc=DOCUMENTS)
def test_schema_shaped_documents(folder: Path, peak_alloc: Any, doc: dict[str, Any]) -> None:
    path = folder / "vitad.toml"
    text = tomli_w.dumps(doc).encode()
    path.write_bytes(text)
    outcome, peak = peak_alloc(lambda: load_config(path))
    check_outcome(path, outcome)
    assert peak < MEMORY_BOUND, f"loading allocated {peak >> 20} MiB"
    if len(text) > MAX_CONFIG_BYTES:
        return  # refused whole, unread (checked in check_outcome); no key to name
    # Every problem at once: each unknown top-level key is named, not just the first error.
    for key in doc:
        if key not in Config.model_fields:
            assert isinstance(outcome, ConfigError)
            assert any(p.startswith(f"{one_line(key)}: unknown key") for p in outcome.problems)


@given(raw=RAW)
def test_raw_bytes(folder: Path, peak_alloc: Any, raw: bytes) -> None:
    path = folder / "vitad.toml"
    path.write_bytes(raw)
    outcome, peak = peak_alloc(lambda: load_config(path))
    check_outcome(path, outcome)
    assert peak < MEMORY_BOUND, f"loading allocated {peak >> 20} MiB"


def test_the_strategies_reach_a_valid_config(folder: Path) -> None:
    """The fuzz is only worth something if valid configs are among its inputs too."""
    path = folder / "vitad.toml"
    path.write_text(tomli_w.dumps({"shop": {"name": "x"}}), encoding="utf-8")
    check_outcome(path, load_config(path))
