"""GET /orders/{order_id}?user_id= (web/lifecycle.py): its answers, called on a stand-in view."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import web.lifecycle as views

HISTORY = [
    {"status": "created", "ts": 100, "event_id": "e-1"},
    {"status": "paid", "ts": 160, "event_id": "e-2"},
]
STATE = {
    "orders": {"o-1": {"status": "paid", "version": 2, "ts": 160, "history": HISTORY}},
    "counts": {"created": 0, "paid": 1, "shipped": 0, "delivered": 0, "cancelled": 0},
    "version": 2,
    "stream_time": 160,
}


class FakeView:
    # The app's tables as the view reaches them (self.app.runtime.tables); the fixture fills them.
    app = SimpleNamespace(runtime=SimpleNamespace(tables=SimpleNamespace(order_lifecycle={})))

    def json(self, body: object) -> tuple:
        return ("json", 200, body)

    def error(self, status: int, message: str) -> tuple:
        return ("error", status, message)


@pytest.fixture
def routed(monkeypatch):  # type: ignore[no-untyped-def]
    """The owner is this worker (at_owner answers locally) and its table holds u-1."""
    owners: list[str] = []

    async def at_owner(view, request, table, key, local):  # type: ignore[no-untyped-def]
        owners.append(key)
        return await local()

    monkeypatch.setattr(views, "at_owner", at_owner)
    monkeypatch.setattr(FakeView.app.runtime.tables, "order_lifecycle", {"u-1": STATE})
    return owners


async def get(order_id: str, **query: str) -> tuple:
    return await views.OrderStatus.get(FakeView(), SimpleNamespace(query=query), order_id)  # type: ignore[arg-type]


async def test_an_order_is_answered_with_its_committed_state_at_its_users_owner(routed) -> None:  # type: ignore[no-untyped-def]
    kind, status, body = await get("o-1", user_id="u-1")
    assert (kind, status) == ("json", 200)
    assert body == {
        "order_id": "o-1",
        "user_id": "u-1",
        "status": "paid",
        "version": 2,
        "ts": 160,
        "history": HISTORY,
    }
    assert routed == ["u-1"]  # routed by the user, the table's key


@pytest.mark.parametrize(
    ("order_id", "query"),
    [
        ("o-1", {}),
        ("o-1", {"user_id": ""}),
        ("o-1", {"user_id": "u" * 201}),
        ("o" * 201, {"user_id": "u-1"}),
    ],
)
async def test_a_missing_or_malformed_user_id_is_400(routed, order_id: str, query: dict) -> None:  # type: ignore[no-untyped-def]
    kind, status, message = await get(order_id, **query)
    assert (kind, status) == ("error", 400) and "_id" in message
    assert routed == []  # refused before any routing


@pytest.mark.parametrize(("order_id", "user_id"), [("o-2", "u-1"), ("o-1", "u-2")])
async def test_an_unknown_order_or_user_is_404(routed, order_id: str, user_id: str) -> None:  # type: ignore[no-untyped-def]
    kind, status, message = await get(order_id, user_id=user_id)
    assert (kind, status) == ("error", 404) and order_id in message
