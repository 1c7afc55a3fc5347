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
import string
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


class TemplateError(Exception):
    pass


class _SafeFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        value: Any = kwargs
        for part in field_name.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise TemplateError(f"unknown template variable {{{field_name}}}")
            value = value[part]
        return value, field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            raise TemplateError("conversions (!r, !s) are not allowed in templates")
        return value


_FORMATTER = _SafeFormatter()


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Fill a template; unknown variables raise TemplateError (checked at load time)."""
    try:
        text = _FORMATTER.vformat(template, (), variables)
    except (ValueError, IndexError) as exc:
        raise TemplateError(f"bad template {template!r}: {exc}") from None
    return " ".join(text.split())


def spoken_list(items: list[str], sep: str, last: str) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return sep.join(items[:-1]) + last + items[-1]
