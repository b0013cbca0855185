"""Faust CLI commands (``faust -A app loadgen|verify|replay|sink|report``), registered by the factory."""

from __future__ import annotations

from typing import Any

from cli import lake, loadgen, replay, verify


def register(app: Any) -> None:
    for module in (loadgen, replay, verify, lake):
        module.register(app)
