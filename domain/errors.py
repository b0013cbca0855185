"""One root exception for the service; subclasses are one line each."""

from __future__ import annotations


class StreamsError(Exception):
    """Root of every error this service raises on purpose."""


class InvalidRecord(StreamsError):
    """An input record that can never be processed; it goes to the dead-letter topic.

    ``reason`` is a short stable code (e.g. ``not_json``, ``schema``, ``key_mismatch``)
    for dashboards; ``detail`` is the human-readable explanation.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class BadQuery(StreamsError):
    """An HTTP query parameter that cannot be served (mapped to 400)."""
