"""Interactive queries over HTTP. Importing registers the views on the app."""

from web import auth, budgets, categories, errors, front, health, metrics, stats  # noqa: F401
