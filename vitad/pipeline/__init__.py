"""Listening and answering: wake word, endpointing, the turn orchestrator."""
