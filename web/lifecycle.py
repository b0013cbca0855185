"""GET /users/{user_id}/orders (at the user's owner) and /lifecycle (counts over every worker)."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app
from domain.lifecycle import STATUSES
from tables import order_lifecycle
from web.routing import across_workers, at_owner


@app.page("/users/{user_id}/orders")
class UserOrders(View):
    async def get(self, request: Request, user_id: str) -> Response:
        async def local() -> Response:
            state = order_lifecycle.get(user_id)
            if state is None:
                return self.error(404, f"no order events for user {user_id!r}")
            return self.json({"user_id": user_id, **state})

        return await at_owner(self, request, order_lifecycle, user_id, local)


@app.page("/lifecycle")
class Lifecycle(View):
    """How many orders are in each status, over every user (finished ones included)."""

    async def get(self, request: Request) -> Response:
        return await across_workers(self, request, local_totals, merge_totals)


def local_totals() -> dict:
    """Counts by status over the users of this worker's active partitions (committed)."""
    counts = dict.fromkeys(STATUSES, 0)
    users = 0
    for state in order_lifecycle.values():
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
