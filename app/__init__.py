"""The Faust application: ``faust -A app worker -l info``.

Importing this package (or any module of the service) reads nothing and starts
nothing. ``app.app`` is built on first use (Faust's ``-A app`` does that) by
``app.factory.create_app`` from the settings in the environment: a bad value
raises ConfigError naming the variable.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(f"module 'app' has no attribute {name!r}")
    global app
    from app.factory import create_app
    from config import load_settings

    app = create_app(load_settings())  # a module global from here on: later lookups skip this function
    return app


__all__ = ["app"]
