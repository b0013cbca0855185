"""Agents: thin loops over pure domain functions, registered on an app by the factory."""

from __future__ import annotations

from typing import Any

from agents import budgets, lifecycle, orders


def register(app: Any) -> None:
    for module in (budgets, lifecycle, orders):
        module.register(app)
