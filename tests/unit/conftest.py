"""Unit tests: no broker, no network.

The Faust app is built from the environment when ``app`` is first imported, so
this conftest sets the environment (in-memory tables, at-least-once, a
throw-away state directory), imports the app once, and then restores the
environment so nothing leaks into other test sessions or settings tests.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile

import pytest

_UNIT_ENV = {
    "STORE": "memory",
    "PROCESSING_GUARANTEE": "at_least_once",
    "STORE_DIR": tempfile.mkdtemp(prefix="unit-state-"),
}
atexit.register(shutil.rmtree, _UNIT_ENV["STORE_DIR"], True)

if "app" in sys.modules:  # built from someone else's environment: tests would lie
    raise RuntimeError("the app was imported before tests/unit/conftest.py could configure it")

_saved = {name: os.environ.get(name) for name in _UNIT_ENV}
os.environ.update(_UNIT_ENV)
try:
    import app as _app  # noqa: E402  (builds settings + app + agents + tables + views)
finally:
    for _name, _value in _saved.items():
        if _value is None:
            os.environ.pop(_name, None)
        else:
            os.environ[_name] = _value

assert _app.app.settings.store == "memory"
assert not _app.app.settings.exactly_once


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
