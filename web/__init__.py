"""Interactive queries over HTTP: ``register(app)`` puts the API on an app.

Importing the view modules routes their views on one Blueprint (web.blueprint)
and needs no app; registering adds the middlewares, makes the live streams'
hubs and their commit listeners and starts nothing.
"""

from __future__ import annotations

from typing import Any

# Importing a view module routes its views on the Blueprint; no app is needed for that.
from web import (  # noqa: F401
    auth,
    budgets,
    categories,
    errors,
    front,
    health,
    lifecycle,
    live,
    live_budgets,
    live_categories,
    live_hub,
    live_totals,
    metrics,
    routing,
    stats,
)
from web.blueprint import views


def register(app: Any) -> None:
    # Middlewares run in the order added: authentication first, then JSON errors, then timing.
    modules = (auth, errors, metrics, routing, live_hub, live, live_budgets, live_categories, live_totals)
    for module in (*modules, front):
        module.register(app)
    views.register(app)
