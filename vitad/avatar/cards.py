"""Attract-screen cards and overlay texts, built from the shop config (no pygame)."""

from __future__ import annotations

from dataclasses import dataclass

from vitad.config.schema import Config

MAX_PRICE_LINES = 6


@dataclass(frozen=True)
class Card:
    title: str
    lines: tuple[str, ...]


def wake_phrase_from_config(config: Config) -> str:
    """'hey_jarvis' (the first wake model) -> 'Hey Jarvis'."""
    model = config.wake.models[0] if config.wake.models else "hey_jarvis"
    name = model.rsplit("/", 1)[-1].split(".", 1)[0]
    for suffix in ("_v0", "_v1", "_v2"):
        name = name.removesuffix(suffix)
    words = [w for w in name.replace("-", "_").split("_") if w]
    return " ".join(w.capitalize() for w in words) or "Hey Jarvis"


def invite_text(wake_phrase: str) -> str:
    return f"Say \u201c{wake_phrase}\u201d to ask me anything"


def build_cards(config: Config, wake_phrase: str) -> list[Card]:
    """Rotating cards: welcome, hours, prices, payment, help. Empty facts are skipped."""
    shop = config.shop
    cards = [Card(f"Welcome to {shop.name}", (invite_text(wake_phrase),))]
    hours = shop.hours
    hours_lines = [f"{hours.open} \u2013 {hours.close}"]
    if hours.spoken:
        hours_lines.append(hours.spoken[0].upper() + hours.spoken[1:])
    if hours.last_wash:
        hours_lines.append(f"Last wash: {hours.last_wash}")
    cards.append(Card("Opening hours", tuple(hours_lines)))
    if shop.machines:
        lines = []
        for m in shop.machines[:MAX_PRICE_LINES]:
            lines.append(f"{m.name}: {m.price} \u00b7 {m.cycle_minutes} min")
        cards.append(Card("Prices", tuple(lines)))
    if shop.payment:
        cards.append(Card("We accept", (" \u00b7 ".join(shop.payment),)))
    cards.append(Card("Need a person?", (f"Call {shop.phone}", invite_text(wake_phrase))))
    return cards


def mic_unavailable_text(config: Config) -> str:
    return f"Voice help is resting \u2014 call {config.shop.phone}"


SPEAKER_UNAVAILABLE_TEXT = "Sound is off \u2014 my answers appear on screen"
ERROR_TEXT = "Sorry, something went wrong \u2014 please try again"
