"""Reply templates: dotted lookups into plain data only; spoken lists."""

from __future__ import annotations

import pytest

from vitad.dialogue.templates import TemplateError, render, spoken_list

VARS = {"shop": {"name": "Bubbles", "hours": {"close": "23:00"}}, "kind": "dryer", "n": 7}


def test_dotted_lookups_and_whitespace_collapse() -> None:
    assert render("{shop.name}  closes at\n{shop.hours.close}.", VARS) == (
        "Bubbles closes at 23:00.")
    assert render("{kind} {n}", VARS) == "dryer 7"
    assert render("{{literal}} {kind}", VARS) == "{literal} dryer"
    assert render("  ", VARS) == ""


@pytest.mark.parametrize("template", [
    "{shop.phone}", "{nothing}", "{shop.hours.close.hour}", "{shop.__class__}",
    "{kind.__class__.__mro__}", "{kind.upper}", "{shop[name]}", "{0}", "{}",
])
def test_unknown_variables_and_attribute_access_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, VARS)


@pytest.mark.parametrize("template", ["{kind!r}", "{kind!s}", "{kind!a}"])
def test_conversions_are_refused(template: str) -> None:
    with pytest.raises(TemplateError, match="conversions"):
        render(template, VARS)


@pytest.mark.parametrize("template", ["{kind", "kind}", "{kind:>{shop.nope}}"])
def test_malformed_templates_raise_template_error(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, VARS)


def test_format_specs_still_work() -> None:
    assert render("{n:>3}|", VARS) == "7|"  # whitespace collapsed after formatting


@pytest.mark.parametrize(("items", "expected"), [
    ([], ""),
    (["coins"], "coins"),
    (["coins", "cards"], "coins and cards"),
    (["coins", "cards", "phone tap"], "coins, cards and phone tap"),
])
def test_spoken_list(items: list[str], expected: str) -> None:
    assert spoken_list(items, ", ", " and ") == expected


def test_spoken_list_in_chinese() -> None:
    assert spoken_list(["硬币", "信用卡", "手机"], "，", "和") == "硬币，信用卡和手机"
