"""Order lifecycle rules (domain/lifecycle.py): transitions, duplicates, retention."""

from __future__ import annotations

import orjson
import pytest

from domain.errors import InvalidRecord
from domain.lifecycle import APPLIED, DUPLICATE, apply_event, parse_order_event

T0 = "2026-11-24T10:15:00+09:00"
T0_EPOCH = 1_795_482_900
RETENTION = 3600


def event(status: str, order_id: str = "o-1", at: str = T0, user: str = "u-1") -> bytes:
    return orjson.dumps({"order_id": order_id, "user_id": user, "status": status, "at": at})


def run(*statuses: str, state: dict | None = None) -> dict | None:
    for status in statuses:
        state, _ = apply_event(state, parse_order_event(b"u-1", event(status)), RETENTION)
    return state


def test_a_full_lifecycle_ends_delivered_with_one_version_per_step() -> None:
    state = run("placed", "paid", "shipped", "delivered")
    assert state == {
        "orders": {"o-1": {"status": "delivered", "version": 4, "at": T0_EPOCH}},
        "counts": {"placed": 0, "paid": 0, "shipped": 0, "delivered": 1, "cancelled": 0},
        "version": 4,
        "stream_time": T0_EPOCH,
    }


@pytest.mark.parametrize("before", [("placed",), ("placed", "paid")])
def test_placed_and_paid_orders_may_be_cancelled(before: tuple[str, ...]) -> None:
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
        (("placed",), "shipped"),
        (("placed",), "delivered"),
        (("placed", "paid", "shipped"), "cancelled"),
        (("placed", "paid", "shipped", "delivered"), "placed"),
        (("placed", "cancelled"), "paid"),
        (("placed", "paid"), "placed"),
    ],
)
def test_invalid_transitions_are_refused_with_a_reason(before: tuple[str, ...], status: str) -> None:
    state = run(*before)
    with pytest.raises(InvalidRecord) as caught:
        apply_event(state, parse_order_event(b"u-1", event(status)), RETENTION)
    assert caught.value.reason == "invalid_transition"
    assert status in caught.value.detail


def test_the_same_status_again_is_a_duplicate_and_changes_nothing() -> None:
    state = run("placed", "paid")
    again, outcome = apply_event(state, parse_order_event(b"u-1", event("paid")), RETENTION)
    assert outcome == DUPLICATE
    assert again == state
    _, first = apply_event(None, parse_order_event(b"u-1", event("placed")), RETENTION)
    assert first == APPLIED


def test_the_input_state_is_not_mutated() -> None:
    state = run("placed")
    snapshot = orjson.dumps(state)
    apply_event(state, parse_order_event(b"u-1", event("paid")), RETENTION)
    assert orjson.dumps(state) == snapshot


def test_finished_orders_are_dropped_once_the_users_stream_time_passes_retention() -> None:
    state = run("placed", "cancelled")
    later = "2026-11-24T11:15:01+09:00"  # T0 + retention + 1 s
    ev = parse_order_event(b"u-1", event("placed", order_id="o-2", at=later))
    state, _ = apply_event(state, ev, RETENTION)
    assert set(state["orders"]) == {"o-2"}
    assert state["counts"]["cancelled"] == 1  # totals keep what was dropped
    with pytest.raises(InvalidRecord) as caught:  # a late event for the dropped order
        apply_event(state, parse_order_event(b"u-1", event("paid")), RETENTION)
    assert caught.value.reason == "invalid_transition"


def test_open_orders_are_kept_however_old() -> None:
    state = run("placed")
    ev = parse_order_event(b"u-1", event("placed", order_id="o-2", at="2026-12-24T10:15:00+09:00"))
    state, _ = apply_event(state, ev, RETENTION)
    assert set(state["orders"]) == {"o-1", "o-2"}


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"u-1", b"{", "not_json"),
        (b"u-1", orjson.dumps({"order_id": "o-1", "user_id": "u-1", "status": "lost", "at": T0}), "schema"),
        (b"u-2", event("placed"), "key_mismatch"),
        (None, event("placed"), "key_mismatch"),
    ],
)
def test_malformed_events_are_refused(key: bytes | None, value: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_order_event(key, value)
    assert caught.value.reason == reason
