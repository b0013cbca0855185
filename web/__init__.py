"""Interactive queries over HTTP. Importing registers the views on the app."""

from web import budgets, categories, errors, health, stats  # noqa: F401
