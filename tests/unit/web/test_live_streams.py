"""The budget and category streams' rules without a broker: which events a budget
stream sends (ids never go back, a status event on a transition) and the checks of
the categories stream's query."""

from __future__ import annotations

import orjson
import pytest

from web.live_budgets import _change_frames, _Sent
from web.live_categories import MAX_FILTER, categories_filter
from web.live_hub import Change


class Sink:
    """The events of the frames a stream wrote, parsed back."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, dict]] = []

    def add(self, frames: list[str]) -> None:
        for text in frames:
            fields = dict(line.split(": ", 1) for line in text.split("\r\n") if line)
            self.sent.append((fields.get("event", "message"), fields.get("id"), orjson.loads(fields["data"])))


def stored(version: int, status: str, balance: int) -> dict:
    return {"balance": balance, "status": status, "version": version, "last_rejected_cpc": 300}


def change(value: dict, committed_ms: int = 1_700_000_000_000) -> Change:
    return Change(b"a-1", orjson.dumps(value), committed_ms)


def test_a_budget_stream_sends_each_version_once_and_a_status_event_on_each_transition() -> None:
    sink, sent = Sink(), _Sent(0)
    for value in [
        stored(3, "active", 500),
        stored(3, "active", 500),  # the same commit seen twice (snapshot and change)
        stored(2, "active", 700),  # older: never sent after a newer one
        stored(4, "exhausted", 100),
        stored(5, "exhausted", 100),
        stored(6, "active", 900),
    ]:
        sink.add(_change_frames("a-1", change(value), sent))
    assert [(e, i) for e, i, _ in sink.sent] == [
        ("budget", "3"), ("status", None), ("budget", "4"),
        ("budget", "5"), ("status", None), ("budget", "6"),
    ]  # fmt: skip
    assert sink.sent[1][2] == {"advertiser_id": "a-1", "status": "exhausted", "balance": 100, "version": 4}
    first = sink.sent[0][2]
    assert first["advertiser_id"] == "a-1" and first["committed_ms"] == 1_700_000_000_000
    assert "last_rejected_cpc" not in first


def test_a_resumed_budget_stream_sends_nothing_up_to_the_clients_version() -> None:
    sink = Sink()
    sink.add(_change_frames("a-1", change(stored(7, "active", 1)), _Sent(7)))
    assert sink.sent == []


def test_streams_of_one_advertiser_share_each_change_and_keep_their_own_place() -> None:
    steps = [(4, "active", 300), (5, "exhausted", 0), (6, "active", 900)]
    changes = [change(stored(v, s, b), v) for v, s, b in steps]
    fresh, resumed = (Sink(), _Sent(0)), (Sink(), _Sent(5))
    resumed[1].status = "exhausted"
    for c in changes:
        for sink, sent in (fresh, resumed):
            sink.add(_change_frames("a-1", c, sent))
    assert [(e, i) for e, i, _ in fresh[0].sent] == [("budget", "4"), ("status", None), ("budget", "5"),
                                                      ("status", None), ("budget", "6")]  # fmt: skip
    assert [(e, i) for e, i, _ in resumed[0].sent] == [("status", None), ("budget", "6")]
    assert [d["committed_ms"] for e, _, d in fresh[0].sent if e == "budget"] == [4, 5, 6]


def test_the_category_filter_is_checked() -> None:
    assert categories_filter(None) is None
    assert categories_filter("books,toys,") == {"books", "toys"}
    for bad in ("", ",", ",".join(f"c{i}" for i in range(MAX_FILTER + 1))):
        with pytest.raises(ValueError, match="category must name"):
            categories_filter(bad)
