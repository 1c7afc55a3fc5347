"""Text to speech: Piper voices, sentence chunking, the on-disk reply cache."""
