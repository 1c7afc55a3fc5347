"""Laundromat dialogue: intents from TOML, fuzzy matching, slots, templates, sessions."""
