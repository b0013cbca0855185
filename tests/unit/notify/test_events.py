from __future__ import annotations

import orjson
import pytest

from notify.events import Malformed, body, idempotency_key, parse


def test_the_events_own_id_when_it_has_one() -> None:
    assert idempotency_key("order-events", 3, 17, {"event_id": "e-1"}) == "order-events:e-1"
    status = {"advertiser_id": "a1", "cause_id": "c9", "status": "exhausted"}
    assert idempotency_key("ad-budget-status", 0, 5, status) == "ad-budget-status:a1:c9:exhausted"


def test_else_its_place_in_the_log() -> None:
    assert idempotency_key("t", 3, 17, {"x": 1}) == "t/3/17"
    assert idempotency_key("t", 3, 17, {"event_id": ""}) == "t/3/17"


@pytest.mark.parametrize("value", [b"not json", b"[1, 2]", b"", None])
def test_malformed(value: bytes | None) -> None:
    with pytest.raises(Malformed):
        parse(value)


def test_body_names_the_source() -> None:
    sent = orjson.loads(body("t", 1, 2, b"u1", {"a": 1}))
    assert sent == {"topic": "t", "partition": 1, "offset": 2, "key": "u1", "event": {"a": 1}}
