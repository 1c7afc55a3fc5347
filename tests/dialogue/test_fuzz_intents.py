"""Fuzz the intents file and the reply templates over [shop].

* ``load_intents``: TOML documents built from the real schema (``IntentsFile``) with wrong
  types, missing intents, unknown keys and unicode, plus raw bytes: an IntentsFile or an
  IntentsError of one line that names the file.
* ``render``: format-string attacks ("{shop.__class__}", "{0}", "{", "}}", "!r", nested
  specs) over the real template variables: a string or a one-line TemplateError, never a
  Python object's repr, bounded memory.
* ``Dialogue``: random templates in every reply field and random [shop] values: built (and
  then every answer renders) or refused with one ``intents.<key>: ...`` line per template.

The bugs this fuzzing found in vitad/dialogue (D1-D7) are fixed; each keeps a focused
regression test at the end, and the strategies include their triggers. Profiles (ci / fuzz)
are in tests/conftest.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from vitad.config.loader import shipped_config_dir
from vitad.config.schema import Machine, Shop
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import REQUIRED_INTENTS, IntentsError, IntentsFile, load_intents
from vitad.dialogue.templates import TemplateError, render

MEMORY_BOUND = 64 << 20
SHIPPED_INTENTS = shipped_config_dir() / "intents.en.toml"

# Keys may hold control characters too (D2/D5: messages must still be one line).
PRINTABLE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
SCALARS = st.one_of(st.booleans(), st.integers(), st.floats(), ANY_TEXT, st.dates())
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(PRINTABLE, inner,
                                                                          max_size=3),
    max_leaves=8)

# --- templates ------------------------------------------------------------------------------
# Names whose value is a string or a number: any format spec is a ValueError at worst.
SCALAR_NAMES = ["shop.name", "shop.phone", "shop.phone_spoken", "shop.hours.close", "payment",
                "rules", "all_prices", "kind", "number", "kind_prices", "machine.name",
                "machine.price", "machine.cycle_minutes", "name", "price", "cycle_minutes",
                "topic"]
# Names of tables and lists (D3: refused, with or without a format spec).
TABLE_NAMES = ["shop", "shop.hours", "shop.machines", "shop.payment", "machine",
               "machine.numbers", "numbers", "aliases"]
ATTACK_NAMES = ["0", "1", "", "shop.__class__", "machine.name.upper", "shop.name.__class__",
                "shop[name]", "payment[0]", "__import__", "self", "kwargs", "nope",
                "shop.__dict__", "machine.__init__.__globals__", "shop.hours.close.strip"]
CONVERSIONS = st.sampled_from(["", "", "!r", "!s", "!a", "!x", "!"])
# Huge widths included (D4: bounded, refused).
SPECS = st.one_of(
    st.sampled_from(["", ":", ":>10", ":x", ":d", ":,", ":.3", ":{number}", ":>{number}",
                     ":{shop.name}", ":{", ":}", ":{{", ":s", ":^9", ":>150000000",
                     ":.99999999"]),
    PRINTABLE.filter(lambda s: len(s) <= 6 and "{" not in s).map(lambda s: ":" + s),
)
NAMES = st.one_of(st.sampled_from(SCALAR_NAMES + ATTACK_NAMES),
                  PRINTABLE.filter(lambda s: not set("{}:!") & set(s)))
FIELD = st.one_of(
    st.builds(lambda n, c, s: "{" + n + c + s + "}", NAMES, CONVERSIONS, SPECS),
    st.builds(lambda n, c, s: "{" + n + c + s + "}", st.sampled_from(TABLE_NAMES),
              CONVERSIONS, SPECS),
)
PIECES = st.one_of(FIELD, PRINTABLE.filter(lambda s: "{" not in s and "}" not in s),
                   st.sampled_from(["{", "}", "{{", "}}", "{0}", "{}", "{:}", "{!r}", " ",
                                    "{shop.name", "shop.name}", "{{shop.name}}"]))
TEMPLATES = st.lists(PIECES, max_size=6).map("".join)

# Shop values with braces and format syntax in them (data, never templates).
SHOP_TEXT = st.one_of(PRINTABLE, st.sampled_from(["{shop.name}", "{0}", "{", "}}", "%s",
                                                  "{machine.__class__}"]))
MACHINES = st.lists(st.builds(
    lambda i, kind, name, price, minutes, numbers: Machine(
        id=f"m{i}", kind=kind, name=name or "x", price=price or "1", cycle_minutes=minutes,
        numbers=numbers),
    st.integers(0, 9), st.sampled_from(["washer", "dryer", "other"]), SHOP_TEXT, SHOP_TEXT,
    st.integers(1, 240), st.lists(st.integers(0, 99), max_size=3)),
    max_size=3, unique_by=lambda m: m.id)
SHOPS = st.builds(
    lambda name, phone, payment, rules, machines: Shop(
        name=name or "x", phone=(phone + "000")[:20], payment=payment, rules=rules,
        machines=machines),
    SHOP_TEXT, SHOP_TEXT, st.lists(SHOP_TEXT, max_size=3), st.lists(SHOP_TEXT, max_size=2),
    MACHINES)


def variables(shop: Shop) -> dict[str, Any]:
    """The documented template variables (config/intents.en.toml header) for ``shop``."""
    machine = shop.machines[0].model_dump() if shop.machines else {}
    return {"shop": shop.model_dump(), "payment": ", ".join(shop.payment),
            "rules": " ".join(shop.rules), "all_prices": "the washer is 1 dollar",
            "kind": "washer", "number": "3", "kind_prices": "", "machine": machine}


def assert_one_line(message: str, prefix: str) -> None:
    assert message.startswith(prefix), f"does not name {prefix!r}: {message!r}"
    assert message.splitlines() == [message], f"not one clear line: {message!r}"


def assert_no_object_leaked(text: str) -> None:
    for leak in ("<class", "<bound", "<built-in", "<function", "object at 0x", "<module"):
        assert leak not in text, f"a Python object reached a reply: {text!r}"


@given(template=TEMPLATES, shop=SHOPS)
def test_render_templates(peak_alloc: Any, template: str, shop: Shop) -> None:
    outcome, peak = peak_alloc(lambda: render(template, variables(shop)))
    assert peak < MEMORY_BOUND, f"render allocated {peak >> 20} MiB for {template!r}"
    if isinstance(outcome, str):
        assert_no_object_leaked(outcome)
        return
    if not isinstance(outcome, TemplateError):
        raise outcome  # type: ignore[misc]
    assert_one_line(str(outcome), "")
    assert str(outcome)


# --- Dialogue with random templates and shop values --------------------------------------
REPLY_FIELDS = ["reply", "reply_kind", "reply_machine", "reply_number", "confirm",
                "confirm_kind", "confirm_machine", "confirm_number", "topic"]
TOP_TEMPLATES = ["confirm", "repeat", "price_item"]  # price_item: D7
QUESTIONS = ["how much is the big washer", "dryer 7 is broken", "yes", "qwerty"]

_reply_errors: list[str] = []


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if "failed at reply time" in record.getMessage():
            _reply_errors.append(record.getMessage())


logging.getLogger("vitad.dialogue.engine").addHandler(_Collect(level=logging.ERROR))


@st.composite
def intents_files(draw: st.DrawFn) -> IntentsFile:
    """The required intents, each with an example and random templates in random fields."""
    intents = {}
    for name in REQUIRED_INTENTS:
        spec: dict[str, Any] = {"examples": [name.replace("_", " ")], "reply": "ok"}
        for field in draw(st.lists(st.sampled_from(REPLY_FIELDS), max_size=2, unique=True)):
            spec[field] = draw(TEMPLATES)
        spec["reply"] = spec["reply"] or "ok"
        intents[name] = spec
    top = {field: draw(TEMPLATES)
           for field in draw(st.lists(st.sampled_from(TOP_TEMPLATES), max_size=2, unique=True))}
    kinds = draw(st.sampled_from([{}, {"washer": ["washer"], "dryer": ["dryer"]},
                                  {"other": ["ironing"]}]))  # unknown kinds: D6, at load
    return IntentsFile.model_validate({"language": "en", "intents": intents, "kinds": kinds,
                                       "list_sep": draw(SHOP_TEXT), **top})


@given(intents=intents_files(), shop=SHOPS)
def test_dialogue_templates(peak_alloc: Any, intents: IntentsFile, shop: Shop) -> None:
    outcome, peak = peak_alloc(lambda: Dialogue(intents, shop, 60.0))
    assert peak < MEMORY_BOUND, f"building the dialogue allocated {peak >> 20} MiB"
    if isinstance(outcome, TemplateError):
        for line in str(outcome).splitlines():  # one line per template, naming its key
            assert line.startswith(("intents.", "shop.")), f"names no key: {line!r}"
        return
    if not isinstance(outcome, Dialogue):
        raise outcome  # type: ignore[misc]
    # check_templates accepted it: every answer now renders (issue 9, item 5).
    _reply_errors.clear()
    for question in QUESTIONS:
        answer = outcome.respond(question)
        assert_no_object_leaked(answer.text)
    assert not _reply_errors, _reply_errors


# --- load_intents -----------------------------------------------------------------------------
def _shipped() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(SHIPPED_INTENTS.read_text(encoding="utf-8"))


@st.composite
def intents_documents(draw: st.DrawFn) -> dict[str, Any]:
    """The shipped file with keys dropped, retyped, added or replaced by garbage."""
    doc = _shipped()
    keys = sorted(doc)
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        doc[key] = draw(VALUES | st.sampled_from(["chars", "words", "", "x"]))
    for key in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)):
        doc.pop(key, None)
    names = sorted(doc.get("intents", {})) if isinstance(doc.get("intents"), dict) else []
    for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)) if names else []:
        action = draw(st.sampled_from(["drop", "retype", "extra", "garbage"]))
        spec = doc["intents"][name]
        if action == "drop":
            del doc["intents"][name]
        elif action == "garbage":
            doc["intents"][name] = draw(VALUES)
        elif isinstance(spec, dict) and action == "retype":
            spec[draw(st.sampled_from(sorted(spec) or ["reply"]))] = draw(VALUES)
        elif isinstance(spec, dict):
            spec[draw(PRINTABLE)] = draw(VALUES)
    doc.update(draw(st.dictionaries(PRINTABLE, VALUES, max_size=2)))
    return doc


RAW = st.one_of(
    st.binary(max_size=300),
    st.text(st.sampled_from(list("[]{}=\"'.,#\n \tabx01")), max_size=200).map(str.encode),
    st.integers(1, 3000).map(lambda d: ("language = " + "[" * d + "]" * d).encode()),  # D1
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-intents")


def check_load(path: Path, outcome: object) -> None:
    if isinstance(outcome, IntentsFile):
        return
    if not isinstance(outcome, IntentsError):
        assert isinstance(outcome, BaseException), outcome
        raise outcome
    assert_one_line(str(outcome), f"{path}: ")


@given(doc=intents_documents())
def test_intents_documents(folder: Path, peak_alloc: Any, doc: dict[str, Any]) -> None:
    path = folder / "intents.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    outcome, peak = peak_alloc(lambda: load_intents(path))
    check_load(path, outcome)
    assert peak < MEMORY_BOUND


@given(raw=RAW)
def test_intents_raw_bytes(folder: Path, peak_alloc: Any, raw: bytes) -> None:
    path = folder / "intents.toml"
    path.write_bytes(raw)
    outcome, peak = peak_alloc(lambda: load_intents(path))
    check_load(path, outcome)
    assert peak < MEMORY_BOUND


def test_the_strategies_reach_valid_files(folder: Path) -> None:
    path = folder / "intents.toml"
    path.write_text(tomli_w.dumps(_shipped()), encoding="utf-8")
    check_load(path, load_intents(path))


# --- bugs the fuzzing found in vitad/dialogue (D1-D7), fixed; each stays as a regression test --
@pytest.mark.parametrize("depth", [1000, 5000])
def test_fixed_d1_deep_nesting(folder: Path, depth: int) -> None:
    path = folder / "deep.toml"
    path.write_text("language = " + "[" * depth + "]" * depth, encoding="utf-8")
    check_load(path, _outcome(lambda: load_intents(path)))


@pytest.mark.parametrize("key", ["a\nb", "x\r\ny", "\n"])
def test_fixed_d2_control_chars_in_keys(folder: Path, key: str) -> None:
    path = folder / "keys.toml"
    path.write_text(tomli_w.dumps({"language": "en", "intents": {key: {"reply": 1}}}),
                    encoding="utf-8")
    check_load(path, _outcome(lambda: load_intents(path)))


@pytest.mark.parametrize("name", ["shop", "shop.hours", "machine.numbers"])
@pytest.mark.parametrize("spec", [":x", ":>3", ":s"])
def test_fixed_d3_spec_on_table(name: str, spec: str) -> None:
    shop = Shop(machines=[Machine(id="w", kind="washer", name="w", price="1",
                                  cycle_minutes=10, numbers=[1])])
    outcome = _outcome(lambda: render("{" + name + spec + "}", variables(shop)))
    if not isinstance(outcome, TemplateError | str):
        raise outcome  # type: ignore[misc]


@pytest.mark.parametrize("width", [150_000_000])
def test_fixed_d4_huge_width(peak_alloc: Any, width: int) -> None:
    _, peak = peak_alloc(lambda: render(f"{{shop.name:>{width}}}", variables(Shop())))
    assert peak < MEMORY_BOUND, f"render allocated {peak >> 20} MiB"


@pytest.mark.parametrize("name", ["a\nb", "\n", "x\ry"])
def test_fixed_d5_newline_in_variable(name: str) -> None:
    outcome = _outcome(lambda: render("{" + name + "}", {}))
    assert isinstance(outcome, TemplateError)
    assert_one_line(str(outcome), "")


def test_fixed_d6_unknown_kind(folder: Path) -> None:
    """A [kinds] key machines cannot have is refused when the file is loaded."""
    path = folder / "kinds.toml"
    path.write_text(tomli_w.dumps({
        "language": "en", "kinds": {"laundry": ["laundry"]},
        "intents": {name: {"reply": "ok", "examples": [name]} for name in REQUIRED_INTENTS}}),
        encoding="utf-8")
    outcome = _outcome(lambda: load_intents(path))
    assert isinstance(outcome, IntentsError) and "kinds.laundry" in str(outcome)
    assert_one_line(str(outcome), str(path))


def test_fixed_d7_price_item_names_no_key() -> None:
    intents = IntentsFile.model_validate({
        "language": "en", "price_item": "{shop.name}",
        "intents": {name: {"reply": "ok", "examples": [name]} for name in REQUIRED_INTENTS}})
    shop = Shop(machines=[Machine(id="w", kind="washer", name="w", price="1",
                                  cycle_minutes=10)])
    outcome = _outcome(lambda: Dialogue(intents, shop, 60.0))
    assert isinstance(outcome, TemplateError)
    assert str(outcome).startswith("intents.price_item"), str(outcome)


def _outcome(fn: Any) -> object:
    try:
        return fn()
    except Exception as exc:
        return exc
