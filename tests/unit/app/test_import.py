"""Importing the package reads nothing; building the app reads the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROCESSING_GUARANTEE": "sometimes", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_importing_app_with_an_invalid_setting_does_not_fail() -> None:
    done = _python("import app; print('imported')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def test_building_the_app_fails_naming_the_variable() -> None:
    done = _python("import app; app.app")
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "PROCESSING_GUARANTEE" in done.stderr


def test_starting_the_worker_fails_naming_the_variable() -> None:
    code = "import sys; from faust.cli.faust import cli; sys.argv = ['faust', '-A', 'app', 'worker']; cli()"
    done = _python(code)
    assert done.returncode != 0
    assert "PROCESSING_GUARANTEE" in done.stderr


# Every module of the packages that make up the app: none declares or reads anything at import.
_IMPORT_ALL = """
import importlib, pkgutil, sys
failed = []
for package in sys.argv[1:]:
    names = [package]
    if hasattr(importlib.import_module(package), "__path__"):
        names += [m.name for m in pkgutil.walk_packages(sys.modules[package].__path__, package + ".")]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:
            failed.append(f"{name}: {type(error).__name__}: {error}")
print("\\n".join(failed))
"""


def test_importing_every_module_with_an_invalid_setting_does_not_fail() -> None:
    done = _python(_IMPORT_ALL, "app", "config", "tables", "agents", "web", "cli")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout
