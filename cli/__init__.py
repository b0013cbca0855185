"""Faust CLI commands: ``faust -A app loadgen|verify|replay``, registered on an app by the factory."""

from __future__ import annotations

from typing import Any

from cli import loadgen, replay, verify


def register(app: Any) -> None:
    for module in (loadgen, replay, verify):
        module.register(app)
