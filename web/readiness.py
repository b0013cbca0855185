"""``GET /readyz`` and every table read ask streaming.readiness (the engine's metrics ask it too)."""

from __future__ import annotations

from streaming.readiness import readiness, standby_lag

__all__ = ["readiness", "standby_lag"]
