"""bench.handler: the handler bench runs the real batch path over RocksDB and checks its result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_the_handler_bench_reports_per_phase_figures_of_a_verified_run() -> None:
    args = ["--clicks", "400", "--advertisers", "20", "--batch", "50", "--repeats", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.handler", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()[-2:]
    for kernel, line in zip(("python", "native"), lines, strict=True):  # both, side by side
        assert line.startswith(f"handler: kernel={kernel} events=420 batch=50 us_per_event: ")
        figures = dict(item.split("=") for item in line.split("us_per_event: ")[1].split())
        assert set(figures) == {"handler", "prepare", "commit", "total"}
        assert all(float(v) > 0 for v in figures.values())
