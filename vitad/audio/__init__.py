"""Audio edges: the internal format, WAV files, sound devices. Conversion happens only here."""
