"""The intents file (config/intents.<lang>.toml): schema and loading.

A second language is a new intents file, not new code: ``tokenize = "chars"`` makes the
matcher compare character by character for scripts written without spaces (Chinese).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REQUIRED_INTENTS = (
    "hours", "prices", "payment", "how_to_use", "supplies", "report_problem",
    "lost_and_found", "contact", "greeting", "thanks", "goodbye", "fallback",
)


class IntentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    examples: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    follow_up: bool = False
    reply: str = Field(min_length=1)
    reply_kind: str = ""
    reply_machine: str = ""
    reply_number: str = ""


class IntentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field(min_length=2)
    tokenize: Literal["words", "chars"] = "words"
    list_and: str = " and "
    list_sep: str = ", "
    price_item: str = "the {name} is {price}"
    follow_up_words: list[str] = Field(default_factory=list)
    kinds: dict[str, list[str]] = Field(default_factory=dict)
    numbers: dict[str, int] = Field(default_factory=dict)
    intents: dict[str, IntentSpec]

    @model_validator(mode="after")
    def _required(self) -> IntentsFile:
        missing = [name for name in REQUIRED_INTENTS if name not in self.intents]
        if missing:
            raise ValueError(f"missing required intents: {', '.join(missing)}")
        return self


class IntentsError(Exception):
    pass


def load_intents(path: Path) -> IntentsFile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntentsError(f"{path}: intents file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IntentsError(f"{path}: invalid TOML: {exc}") from None
    try:
        return IntentsFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise IntentsError(f"{path}: {problems}") from None
