"""Typed settings from the environment: ``from config import settings``."""

from config.settings import ConfigError, Guarantee, Settings, load_settings

settings: Settings = load_settings()

__all__ = ["ConfigError", "Guarantee", "Settings", "load_settings", "settings"]
