"""The Faust application: ``faust -A app worker -l info``.

Importing this package reads nothing and starts nothing. The app is built on
first use of ``app.app`` (Faust's ``-A app`` does that): the settings are read
from the environment (a bad value raises ConfigError naming the variable),
then topics and tables are declared once (``app.topics``, ``tables``) and the
agents, views and commands register themselves by import.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(f"module 'app' has no attribute {name!r}")
    global app
    from app.factory import create_app
    from config import settings

    app = create_app(settings)  # a module global from here on: later lookups skip this function
    # Registration by import; these modules import `app` from here.
    import agents  # noqa: F401
    import cli  # noqa: F401
    import web  # noqa: F401

    return app


__all__ = ["app"]
