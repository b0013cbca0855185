"""streaming.batches: Faust's agent path (at_least_once) acks a batch only once it is done."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from streaming.batches import acked_batch


class Stream:
    def __init__(self) -> None:
        self.acked: list[Any] = []

    async def ack(self, event: Any) -> None:
        self.acked.append(event)


def events(partition: int, offsets: range) -> list[SimpleNamespace]:
    return [SimpleNamespace(message=SimpleNamespace(tp=TP("orders", partition), offset=o)) for o in offsets]


async def test_a_batch_is_acked_once_done() -> None:
    stream, batch = Stream(), events(4, range(10, 13))
    async with acked_batch(stream, batch):
        assert stream.acked == []
    assert stream.acked == batch


async def test_a_failed_batch_is_logged_with_its_partitions_and_offsets_and_not_acked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = Stream()
    with caplog.at_level("ERROR", logger="eos"), pytest.raises(ValueError):
        async with acked_batch(stream, events(4, range(10, 13))):
            raise ValueError("bad total")
    [failure] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "orders[4] offsets 10-12" in failure.getMessage()
    assert stream.acked == []  # processed again after the restart
