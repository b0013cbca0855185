"""GET /orders/{order_id}?user_id=, GET /users/{user_id}/orders (both at the user's
owner) and /lifecycle (counts over every worker)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.web import Request, Response, View

from domain.errors import BadQuery
from domain.lifecycle import STATUSES
from web.blueprint import views
from web.routing import across_workers, at_owner, bad_request

MAX_ID = 200  # as in the events (domain/lifecycle.py): a longer id names nothing


@views.route("/orders/{order_id}")
class OrderStatus(View):
    """One order's committed state. Orders live in their user's value (the table's
    key, the topic's partitioning), so the user is required to find the owner."""

    async def get(self, request: Request, order_id: str) -> Response:
        try:
            user_id = user_id_param(request.query)
            _check_id("order_id", order_id)
        except BadQuery as exc:
            return bad_request(self, str(exc))
        order_lifecycle = self.app.runtime.tables.order_lifecycle

        async def local() -> Response:
            order = (order_lifecycle.get(user_id) or {}).get("orders", {}).get(order_id)
            if order is None:
                return self.error(
                    404, f"no order {order_id!r} for user {user_id!r} (or dropped after retention)"
                )
            return self.json({"order_id": order_id, "user_id": user_id, **order})

        return await at_owner(self, request, order_lifecycle, user_id, local)


def user_id_param(query: Mapping[str, str]) -> str:
    user_id = query.get("user_id")
    if user_id is None:
        raise BadQuery("user_id is required: ?user_id=<the order's user> (orders are kept per user)")
    return _check_id("user_id", user_id)


def _check_id(name: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_ID:
        raise BadQuery(f"{name} must be 1 to {MAX_ID} characters, got {len(value)}")
    return value


@views.route("/users/{user_id}/orders")
class UserOrders(View):
    async def get(self, request: Request, user_id: str) -> Response:
        order_lifecycle = self.app.runtime.tables.order_lifecycle

        async def local() -> Response:
            state = order_lifecycle.get(user_id)
            if state is None:
                return self.error(404, f"no order events for user {user_id!r}")
            return self.json({"user_id": user_id, **state})

        return await at_owner(self, request, order_lifecycle, user_id, local)


@views.route("/lifecycle")
class Lifecycle(View):
    """How many orders are in each status, over every user (finished ones included)."""

    async def get(self, request: Request) -> Response:
        return await across_workers(self, request, lambda: local_totals(self.app), merge_totals)


def local_totals(app: Any) -> dict:
    """Counts by status over the users of this worker's active partitions (committed)."""
    counts = dict.fromkeys(STATUSES, 0)
    users = 0
    for state in app.runtime.tables.order_lifecycle.values():
        users += 1
        for status, n in state["counts"].items():
            counts[status] += n
    return {"users": users, "counts": counts}


def merge_totals(parts: list[dict]) -> dict:
    counts = dict.fromkeys(STATUSES, 0)
    for part in parts:
        for status, n in part["counts"].items():
            counts[status] += n
    return {"users": sum(p["users"] for p in parts), "counts": counts}
