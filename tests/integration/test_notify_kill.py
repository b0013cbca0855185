"""SIGKILL the notify process mid-flight, restart it: everything delivered, and the only repeats
are calls in flight at the kill or answered within a commit interval of it, with the same key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest

from tests.integration import notify_kit as kit
from tests.receiver import Receiver

pytestmark = pytest.mark.integration


def start(env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "notify"], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


async def test_sigkill_mid_flight_repeats_only_what_was_in_flight(kafka_bootstrap: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    topic, app_id = kit.names()
    await kit.create_topic(kafka_bootstrap, topic)
    records = [kit.event(f"u{k}", n) for n in range(10) for k in range(30)]
    await kit.produce(kafka_bootstrap, topic, records)
    # u0's first calls are slow: its partition's lowest incomplete offset stays behind while
    # the other keys complete above it; only the commit metadata keeps those from repeating.
    slow = lambda body: 0.8 if body["key"] == "u0" and body["event"]["n"] < 3 else None  # noqa: E731
    receiver = await Receiver(latency=(0.05, 0.05), latency_for=slow).up()
    s = kit.settings(kafka_bootstrap, topic, app_id, receiver.url, notify_max_in_flight=30, session_timeout=6)
    log = str(tmp_path / "notify.log")
    proc = start(kit.env(s), log)
    try:
        # Killed over a second into the run: most calls are long done by then.
        await kit.wait_for(
            lambda: len(receiver.delivered()) >= 150 and time.time() - receiver.calls[0].arrived > 1.2,
            60, "half the deliveries",
        )  # fmt: skip
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed = time.time()
        in_flight = {(c.partition, c.offset) for c in receiver.calls if c.status == 0}
        recent = {
            (c.partition, c.offset)
            for c in receiver.calls
            if c.answered > killed - s.notify_commit_interval - 0.3
        }
        before = len(receiver.calls)
        proc = start(kit.env(s), log)
        await kit.wait_for(
            lambda: len({(c.partition, c.offset) for c in receiver.delivered()}) >= len(records),
            60,
            "every delivery",
        )
    finally:
        proc.kill()
        proc.wait(10)
        await receiver.down()
    assert in_flight, "the kill came with nothing in flight"
    calls = defaultdict(list)
    for c in receiver.calls:
        calls[(c.partition, c.offset)].append(c)
    assert len(calls) == len(records)
    repeated = {place for place, cs in calls.items() if len(cs) > 1}
    assert repeated <= in_flight | recent, (
        f"repeated although done before the kill: {repeated - in_flight - recent}"
    )
    for place in repeated:
        assert len({c.idempotency_key for c in calls[place]}) == 1
    print(f"kill after {before} calls: {len(in_flight)} in flight, {len(repeated)} repeated")
