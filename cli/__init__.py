"""Faust CLI commands: ``faust -A app loadgen|verify|replay``. Importing registers them."""

from cli import loadgen, replay, verify  # noqa: F401
