"""Faust CLI commands: ``faust -A app loadgen|verify|replay|notify``, registered on an app by the factory."""

from __future__ import annotations

from typing import Any

from cli import loadgen, notify, replay, verify


def register(app: Any) -> None:
    for module in (loadgen, replay, verify, notify):
        module.register(app)
