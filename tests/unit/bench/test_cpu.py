"""bench/cpu.py: a process tree's CPU seconds, stopping at another tree's root."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.cpu import per_order, tree_seconds

BURN = (
    "import time\nt = time.process_time()\n"
    "while time.process_time() - t < 0.4: pass\nprint(1, flush=True)\ntime.sleep(30)"
)


def test_a_child_that_is_a_root_of_its_own_counts_there_and_not_in_its_parents_tree() -> None:
    child = subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"1"  # it has burnt 0.4 s
        alone = tree_seconds({"me": os.getpid()})["me"]
        split = tree_seconds({"me": os.getpid(), "child": child.pid})
        assert split["child"] >= 0.35
        assert alone - split["me"] >= 0.35  # the child's seconds moved out of "me"
        assert tree_seconds({"gone": None}) == {"gone": 0.0}
    finally:
        child.kill()
        child.wait()


def test_per_order_is_milliseconds_of_cpu_per_order_and_their_total() -> None:
    text = per_order({"a": 1.0, "b": 2.0}, {"a": 2.0, "b": 2.5}, 1000)
    assert text == "a 1.00, b 0.50; total 1.50 ms CPU/order"
