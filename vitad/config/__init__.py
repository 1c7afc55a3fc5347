"""Configuration: schema (pydantic), loading and validation with all-errors-at-once reports."""

from vitad.config.loader import ConfigError, load_config, validate_config
from vitad.config.schema import Config

__all__ = ["Config", "ConfigError", "load_config", "validate_config"]
