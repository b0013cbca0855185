"""Typed settings from the environment: ``load_settings()`` reads them.

Nothing is read at import: the app factory (``app.factory.create_app``) takes a
Settings object, and the pieces it builds get theirs from the app.
"""

from config.settings import ConfigError, Guarantee, Settings, load_settings

__all__ = ["ConfigError", "Guarantee", "Settings", "load_settings"]
