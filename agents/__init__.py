"""Agents: thin loops over pure domain functions. Importing registers them."""

from agents import budgets, lifecycle, orders  # noqa: F401
