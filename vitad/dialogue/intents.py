"""The intents file (config/intents.<lang>.toml): schema and loading.

A second language is a new intents file, not new code: ``tokenize = "chars"`` makes the
matcher compare character by character for scripts written without spaces (Chinese).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import snowballstemmer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vitad.config.loader import one_line
from vitad.fileio import UnusableFile, read_regular_file

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
    # Asked when the dialogue is unsure: "Do you mean the price of the {kind}?" (templates
    # over the same variables). Empty: the file's ``confirm`` with this intent's ``topic``.
    confirm: str = ""
    confirm_kind: str = ""
    # Name the machine heard, like the replies do: "Do you mean the price of the big
    # washer?" (a machine named) / "… of washer 6?" (a kind and a number).
    confirm_machine: str = ""
    confirm_number: str = ""
    topic: str = ""
    # False for harmless social intents (hello, thanks, bye): answering a half-sure "bye"
    # costs nothing, asking "Do you mean goodbye?" sounds silly.
    ask_when_unsure: bool = True


class IntentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field(min_length=2)
    tokenize: Literal["words", "chars"] = "words"
    list_and: str = " and "
    list_sep: str = ", "
    price_item: str = "the {name} is {price}"
    follow_up_words: list[str] = Field(default_factory=list)
    # Spoken words per machine kind; the keys are the kinds machines can have in [shop].
    kinds: dict[Literal["washer", "dryer", "other"], list[str]] = Field(default_factory=dict)
    numbers: dict[str, int] = Field(default_factory=dict)
    # What a recogniser writes for a kind word ("briar" for dryer); used for slots only,
    # never sent to the recogniser as vocabulary.
    heard_as: dict[str, list[str]] = Field(default_factory=dict)
    # Homophones of numbers ("for" = 4), counted only right after a machine word.
    number_sounds: dict[str, int] = Field(default_factory=dict)
    # Phrases a recogniser invents on noise ("thanks for watching"): never answered.
    hallucinations: list[str] = Field(default_factory=list)
    # Interchangeable words: head word → its variants ("cost" = ["price", "charge"], "will
    # not" = ["won't"]). The matcher reads every variant as the head word in examples,
    # keywords and questions (vitad/dialogue/lexicon.py).
    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    # Snowball stemmer language ("english"), so "used" counts as "use"; "" = none.
    stemmer: str = ""
    # Function words ("what", "is", "the"): a question needs at least one other word that an
    # intent knows before that intent may be answered or confirmed. Empty = no such check.
    stop_words: list[str] = Field(default_factory=list)
    # Weight of the learned classifier against fuzzy matching (0..1); a file with few
    # examples should trust it less.
    learned_weight: float = Field(0.5, ge=0, le=1)
    # Answers to "Do you mean …?".
    yes_words: list[str] = Field(default_factory=list)
    no_words: list[str] = Field(default_factory=list)
    confirm: str = "Do you mean {topic}?"
    # Said instead of the fallback the first time a question is not understood (and after
    # "no" to a confirmation); the second time in a row the fallback (phone number) follows.
    repeat: str = "Sorry, could you say that again?"
    intents: dict[str, IntentSpec]

    @field_validator("stemmer")
    @classmethod
    def _known_stemmer(cls, value: str) -> str:
        if value and value not in snowballstemmer.algorithms():
            raise ValueError(f"unknown stemmer language {value!r}; expected one of "
                             f"{', '.join(snowballstemmer.algorithms())} or \"\" (none)")
        return value

    @model_validator(mode="after")
    def _synonyms_do_not_chain(self) -> IntentsFile:
        heads = {" ".join(h.lower().split()): h for h in self.synonyms}
        for head, words in self.synonyms.items():
            for word in words:
                other = heads.get(" ".join(word.lower().split()))
                if other is not None and other != head:
                    raise ValueError(f"synonyms.{head}: {word!r} is itself a head word "
                                     f"(synonyms.{other}); expected each word in one group")
        return self

    @model_validator(mode="after")
    def _required(self) -> IntentsFile:
        missing = [name for name in REQUIRED_INTENTS if name not in self.intents]
        if missing:
            raise ValueError(f"missing required intents: {', '.join(missing)}")
        return self


class IntentsError(Exception):
    pass


MAX_INTENTS_BYTES = 2 * 1024 * 1024  # a real intents file is ~10 KB


def load_intents(path: Path) -> IntentsFile:
    try:
        data = tomllib.loads(read_regular_file(path, MAX_INTENTS_BYTES, "intents file")
                             .decode("utf-8"))
    except UnusableFile as exc:
        raise IntentsError(str(exc)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IntentsError(one_line(f"{path}: invalid TOML: {exc}")) from None
    except RecursionError:
        raise IntentsError(f"{path}: nested too deeply; expected an intents file") from None
    try:
        return IntentsFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise IntentsError(one_line(f"{path}: {problems}")) from None
