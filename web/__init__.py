"""Interactive queries over HTTP. Importing registers the views on the app."""

from web import budgets, categories, health, stats  # noqa: F401
