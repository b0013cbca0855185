"""Faust CLI commands: ``faust -A app loadgen|verify``. Importing registers them."""

from cli import loadgen, verify  # noqa: F401
