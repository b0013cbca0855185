"""Interactive queries over HTTP. Importing registers the views on the app."""

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
    live_totals,
    metrics,
    stats,
)
