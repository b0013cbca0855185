from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from notify.scheduler import Mode, Scheduler, lane


def simulate(mode: Mode, keys: list[int], seed: int) -> list[tuple[int, int]]:
    """Submit records (offset, key) of one partition, finish running ones in a random order;
    return the order they ran in, checking at most one runs per lane."""
    rng = random.Random(seed)
    sched: Scheduler[tuple[int, int]] = Scheduler()
    running: dict[object, tuple[int, int]] = {}
    ran = []
    pending = list(enumerate(keys))
    while pending or running:
        if pending and (not running or rng.random() < 0.5):
            offset, key = pending.pop(0)
            name = lane(mode, "t", 0, str(key).encode(), offset)
            if sched.submit(name, (offset, key)):
                assert name not in running
                running[name] = (offset, key)
                ran.append((offset, key))
        else:
            name = rng.choice(list(running))
            del running[name]
            nxt = sched.finish(name)
            if nxt is not None:
                running[name] = nxt
                ran.append(nxt)
        assert sched.running == len(running)
    assert sched.waiting == 0
    return ran


@given(st.lists(st.integers(0, 5), max_size=60), st.integers(0, 1000))
def test_key_mode_keeps_offset_order_per_key(keys: list[int], seed: int) -> None:
    ran = simulate(Mode.KEY, keys, seed)
    assert sorted(ran) == list(enumerate(keys))
    for key in set(keys):
        offsets = [o for o, k in ran if k == key]
        assert offsets == sorted(offsets)


@given(st.lists(st.integers(0, 5), max_size=60), st.integers(0, 1000))
def test_partition_mode_is_sequential(keys: list[int], seed: int) -> None:
    assert simulate(Mode.PARTITION, keys, seed) == list(enumerate(keys))


def test_unordered_runs_everything_at_once() -> None:
    sched: Scheduler[int] = Scheduler()
    assert all(sched.submit(lane(Mode.UNORDERED, "t", 0, b"k", o), o) for o in range(10))
    assert sched.running == 10


def test_keys_run_in_parallel_in_key_mode() -> None:
    sched: Scheduler[int] = Scheduler()
    assert sched.submit(lane(Mode.KEY, "t", 0, b"a", 0), 0)
    assert sched.submit(lane(Mode.KEY, "t", 0, b"b", 1), 1)
    assert not sched.submit(lane(Mode.KEY, "t", 0, b"a", 2), 2)
    assert (sched.running, sched.waiting) == (2, 1)


def test_drop_forgets_a_revoked_partitions_waiting_records() -> None:
    sched: Scheduler[int] = Scheduler()
    for o in range(3):
        sched.submit(lane(Mode.KEY, "t", 0, b"a", o), o)
    sched.submit(lane(Mode.KEY, "t", 1, b"a", 0), 0)
    sched.submit(lane(Mode.KEY, "t", 1, b"a", 1), 1)
    assert sched.drop(("t", 0)) == 2
    assert sched.waiting == 1
    assert sched.finish(lane(Mode.KEY, "t", 0, b"a", 0)) is None
