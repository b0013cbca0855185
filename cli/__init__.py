"""Faust CLI commands (``faust -A app loadgen|verify|replay|sink|report|notify``), for app.factory."""

from __future__ import annotations

from typing import Any

from cli import lake, loadgen, notify, replay, verify


def register(app: Any) -> None:
    for module in (loadgen, replay, verify, lake, notify):
        module.register(app)
