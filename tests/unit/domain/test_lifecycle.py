"""Order lifecycle rules (domain/lifecycle.py): transitions, duplicates, retention."""

from __future__ import annotations

import itertools

import orjson
import pytest

from domain.errors import InvalidRecord
from domain.lifecycle import APPLIED, REDELIVERED, REPEATED, apply_event, parse_order_event

T0 = "2026-11-24T10:15:00+09:00"
T0_EPOCH = 1_795_482_900
RETENTION = 3600
_ids = itertools.count(1)


def event(
    status: str, order_id: str = "o-1", ts: str = T0, user: str = "u-1", event_id: str | None = None
) -> bytes:
    event_id = event_id or f"e-{next(_ids)}"
    return orjson.dumps(
        {"event_id": event_id, "order_id": order_id, "user_id": user, "status": status, "ts": ts}
    )


def apply(state: dict | None, raw: bytes) -> tuple[dict, str]:
    return apply_event(state, parse_order_event(b"u-1", raw), RETENTION)


def run(*statuses: str, state: dict | None = None) -> dict | None:
    for status in statuses:
        state, _ = apply(state, event(status))
    return state


def test_a_full_lifecycle_ends_delivered_with_one_version_and_one_history_entry_per_step() -> None:
    raws = [event(s, event_id=f"x-{s}") for s in ("created", "paid", "shipped", "delivered")]
    state = None
    for raw in raws:
        state, outcome = apply(state, raw)
        assert outcome == APPLIED
    history = [
        {"status": s, "ts": T0_EPOCH, "event_id": f"x-{s}"}
        for s in ("created", "paid", "shipped", "delivered")
    ]
    assert state == {
        "orders": {"o-1": {"status": "delivered", "version": 4, "ts": T0_EPOCH, "history": history}},
        "counts": {"created": 0, "paid": 0, "shipped": 0, "delivered": 1, "cancelled": 0},
        "version": 4,
        "stream_time": T0_EPOCH,
    }


@pytest.mark.parametrize("before", [("created",), ("created", "paid")])
def test_created_and_paid_orders_may_be_cancelled(before: tuple[str, ...]) -> None:
    state = run(*before, "cancelled")
    assert state is not None
    assert state["orders"]["o-1"]["status"] == "cancelled"
    assert state["counts"]["cancelled"] == 1
    assert sum(state["counts"].values()) == 1


@pytest.mark.parametrize(
    ("before", "status"),
    [
        ((), "paid"),
        ((), "delivered"),
        (("created",), "shipped"),
        (("created",), "delivered"),
        (("created", "paid", "shipped"), "cancelled"),
        (("created", "paid", "shipped", "delivered"), "created"),
        (("created", "cancelled"), "paid"),
        (("created", "cancelled"), "created"),
        (("created", "paid"), "created"),
    ],
)
def test_invalid_transitions_are_refused_with_a_reason(before: tuple[str, ...], status: str) -> None:
    state = run(*before)
    with pytest.raises(InvalidRecord) as caught:
        apply(state, event(status))
    assert caught.value.reason == "invalid_transition"
    assert status in caught.value.detail


def test_a_redelivered_event_is_a_duplicate_even_after_the_order_moved_on() -> None:
    paid = event("paid", event_id="e-paid")
    state = run("created")
    state, first = apply(state, paid)
    state = run("shipped", state=state)
    again, outcome = apply(state, paid)  # paid after shipped, were it new: invalid
    assert (first, outcome) == (APPLIED, REDELIVERED)
    assert again == state


def test_the_same_status_again_with_a_new_event_id_is_a_repeat_and_changes_nothing() -> None:
    state = run("created", "paid")
    again, outcome = apply(state, event("paid"))
    assert outcome == REPEATED
    assert again == state


def test_a_redelivered_created_is_a_duplicate_not_a_second_order() -> None:
    created = event("created", event_id="e-c")
    state, _ = apply(None, created)
    state = run("cancelled", state=state)
    again, outcome = apply(state, created)  # created after cancelled, were it new: invalid
    assert outcome == REDELIVERED and again == state


def test_the_input_state_is_not_mutated() -> None:
    state = run("created")
    snapshot = orjson.dumps(state)
    apply(state, event("paid"))
    assert orjson.dumps(state) == snapshot


def test_finished_orders_are_dropped_once_the_users_stream_time_passes_retention() -> None:
    state = run("created", "cancelled")
    later = "2026-11-24T11:15:01+09:00"  # T0 + retention + 1 s
    state, _ = apply(state, event("created", order_id="o-2", ts=later))
    assert set(state["orders"]) == {"o-2"}
    assert state["counts"]["cancelled"] == 1  # totals keep what was dropped
    with pytest.raises(InvalidRecord) as caught:  # a late event for the dropped order
        apply(state, event("paid"))
    assert caught.value.reason == "past_retention"


def test_a_redelivered_created_of_a_dropped_order_is_dead_lettered_not_resurrected() -> None:
    created = event("created", event_id="e-c")
    state, _ = apply(None, created)
    state = run("cancelled", state=state)
    state, _ = apply(state, event("created", order_id="o-2", ts="2026-11-24T11:15:01+09:00"))
    assert "o-1" not in state["orders"]
    with pytest.raises(InvalidRecord) as caught:
        apply(state, created)
    assert caught.value.reason == "past_retention"


def test_an_order_is_dropped_only_once_its_latest_event_time_is_past_retention() -> None:
    # Event times need not grow along an order: its created carries the latest here.
    state, _ = apply(None, event("created", ts="2026-11-24T10:45:00+09:00", event_id="e-c"))
    state, _ = apply(state, event("cancelled", ts=T0))
    state, _ = apply(state, event("created", order_id="o-2", ts="2026-11-24T11:30:00+09:00"))
    assert "o-1" in state["orders"]  # 10:45 is within an hour of 11:30
    again, outcome = apply(state, event("created", ts="2026-11-24T10:45:00+09:00", event_id="e-c"))
    assert outcome == REDELIVERED and again == state


def test_a_new_order_within_retention_of_the_users_stream_time_is_applied() -> None:
    state = run("created")
    state, outcome = apply(state, event("created", order_id="o-2", ts="2026-11-24T09:15:00+09:00"))
    assert outcome == APPLIED and state["orders"]["o-2"]["status"] == "created"


def test_open_orders_are_kept_however_old() -> None:
    state = run("created")
    state, _ = apply(state, event("created", order_id="o-2", ts="2026-12-24T10:15:00+09:00"))
    assert set(state["orders"]) == {"o-1", "o-2"}


def body(**changes: object) -> bytes:
    base = {"event_id": "e-1", "order_id": "o-1", "user_id": "u-1", "status": "created", "ts": T0}
    return orjson.dumps({k: v for k, v in {**base, **changes}.items() if v is not None})


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"u-1", b"{", "not_json"),
        (b"u-1", body(status="lost"), "schema"),
        (b"u-1", body(status="placed"), "schema"),
        (b"u-1", body(event_id=None), "schema"),
        (b"u-1", body(event_id=""), "schema"),
        (b"u-1", body(ts="2026-11-24T10:15:00"), "schema"),  # no offset
        (b"u-1", body(at=T0), "schema"),  # the former field name
        (b"u-2", body(), "key_mismatch"),
        (None, body(), "key_mismatch"),
    ],
)
def test_malformed_events_are_refused(key: bytes | None, value: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_order_event(key, value)
    assert caught.value.reason == reason
