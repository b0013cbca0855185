"""Importing the package reads nothing; building the app reads the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROCESSING_GUARANTEE": "sometimes", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_importing_app_with_an_invalid_setting_does_not_fail() -> None:
    done = _python("import app; print('imported')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def test_building_the_app_fails_naming_the_variable() -> None:
    done = _python("import app; app.app")
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "PROCESSING_GUARANTEE" in done.stderr
