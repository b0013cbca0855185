"""Unit tests: no broker, no network (the app itself is configured in tests/conftest.py)."""

from __future__ import annotations

import socket

import pytest

import app as _app  # configured by tests/conftest.py

assert _app.app.in_transaction  # production's configuration


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded(real):  # type: ignore[no-untyped-def]
    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"unit tests must not open network connections (to {address!r})")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any TCP/UDP connect from a unit test fails loudly instead of reaching a broker."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
