"""Agents: thin loops over pure domain functions. Importing registers them."""

from agents import budgets, orders  # noqa: F401
