"""vitad: offline voice-avatar helper for self-service laundromats."""
__version__ = "0.1.0"
