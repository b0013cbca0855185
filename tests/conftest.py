"""Session-wide setup.

The Faust app is built from the environment when ``app.app`` is first used (by
any test module, e.g. through ``cli``), so it is configured here, before
collection as production runs it (exactly_once, RocksDB tables, seen as from
inside a worker), with a throw-away state directory; then the environment is
restored, so worker subprocesses started by integration
tests see the real configuration. Kafka fixtures: ``kafka_bootstrap``,
``kafka_cluster``, and the ``integration`` marker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

pytest_plugins = ["infra.kafka.pytest_plugin", "infra.postgres.pytest_plugin", "infra.connect.pytest_plugin"]

_UNIT_ENV = {
    "PROCESSING_GUARANTEE": "exactly_once",
    "STORE_DIR": tempfile.mkdtemp(prefix="unit-state-"),
}
atexit.register(shutil.rmtree, _UNIT_ENV["STORE_DIR"], True)

if "app" in vars(sys.modules.get("app", sys)):  # built from someone else's environment: tests would lie
    raise RuntimeError("the app was imported before tests/conftest.py could configure it")

_saved = {name: os.environ.get(name) for name in _UNIT_ENV}
os.environ.update(_UNIT_ENV)
try:
    import app as _app  # noqa: E402

    _built = _app.app  # builds settings + app + agents + tables + views from this environment
finally:
    for _name, _value in _saved.items():
        if _value is None:
            os.environ.pop(_name, None)
        else:
            os.environ[_name] = _value

# faust's Worker sets this before any table opens its store; with it, tables get
# the transactional store (eos.table) as they do in production.
_built.in_worker = True
assert _built.conf.store.scheme == "rocksdb"
assert _built.in_transaction
