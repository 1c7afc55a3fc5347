"""Reply templates over the shop's facts.

Only dotted lookups into plain data are allowed ({shop.hours.close}); attribute access to
Python objects and format conversions are refused, so a config file cannot reach into the
daemon. An unknown variable raises TemplateError: Dialogue.check_templates renders every
template with every combination of slots a turn can meet when the intents file is loaded
(so check-config and a reload refuse it), and should one still fail during a turn the
dialogue logs it and says the intent's plain reply instead — a turn never crashes.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping
from typing import Any

from vitad.config.loader import one_line

log = logging.getLogger(__name__)
MAX_FORMAT_WIDTH = 64


class TemplateError(Exception):
    pass


class _SafeFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        value: Any = kwargs
        for part in field_name.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise TemplateError(f"unknown template variable {{{one_line(field_name)}}}")
            value = value[part]
        if not isinstance(value, str | int | float):  # a table or list: Python's repr
            raise TemplateError(f"{{{one_line(field_name)}}} is a table or list; name one "
                                "of its keys, e.g. {shop.name}")
        return value, field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            raise TemplateError("conversions (!r, !s) are not allowed in templates")
        return value

    def format_field(self, value: Any, format_spec: str) -> Any:
        # A width like {shop.name:>300000000} would allocate without bound.
        if any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", format_spec)):
            raise TemplateError(f"format spec :{one_line(format_spec)} is too wide "
                                f"(at most {MAX_FORMAT_WIDTH})")
        return super().format_field(value, format_spec)


_FORMATTER = _SafeFormatter()


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Fill a template; unknown variables raise TemplateError (checked at load time)."""
    try:
        text = _FORMATTER.vformat(template, (), variables)
    except (ValueError, IndexError, TypeError) as exc:
        raise TemplateError(f"bad template {one_line(repr(template))}: {one_line(str(exc))}"
                            ) from None
    return " ".join(text.split())


def spoken_list(items: list[str], sep: str, last: str) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return sep.join(items[:-1]) + last + items[-1]
