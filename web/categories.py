"""GET /categories, /categories/{category}, /categories/{category}/hourly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faust.web import Request, Response, View

from domain.errors import BadQuery
from domain.orders import HOUR, hour_start, iso_hour
from domain.retention import first_hour_kept
from tables._declare import text_key
from web.blueprint import views
from web.retention import GONE, stream_time_of
from web.routing import across_workers, at_owner, bad_request

MAX_HOURS = 24 * 8


@views.route("/categories")
class Categories(View):
    async def get(self, request: Request) -> Response:
        category_totals = self.app.runtime.tables.category_totals

        def present(parts: list[dict]) -> dict:
            rows = [{"category": k, **v} for part in parts for k, v in part.items()]
            rows.sort(key=lambda r: (-r["total_amount"], r["category"]))
            return {"categories": rows}

        return await across_workers(
            self, request, lambda: {text_key(k): v for k, v in category_totals.items()}, present
        )


@views.route("/categories/{category}")
class Category(View):
    async def get(self, request: Request, category: str) -> Response:
        category_totals = self.app.runtime.tables.category_totals

        async def local() -> Response:
            totals = category_totals.get(category)
            if totals is None:
                return self.error(404, f"unknown category {category!r}")
            return self.json({"category": category, **totals})

        return await at_owner(self, request, category_totals, category, local)


@views.route("/categories/{category}/hourly")
class CategoryHourly(View):
    async def get(self, request: Request, category: str) -> Response:
        try:
            start, end = hour_range(request.query.get("from"), request.query.get("to"))
        except BadQuery as exc:
            return bad_request(self, str(exc))
        app = self.app
        tables = app.runtime.tables

        async def local() -> Response:
            retention = app.settings.retention_category_hourly
            repartitioned = app.runtime.topics.orders_by_category.get_topic_name()
            kept = first_hour_kept(stream_time_of(app, repartitioned, category), retention)
            available = {"available_from": None if kept is None else iso_hour(kept), "retention_s": retention}
            if kept is not None and end < kept:
                return self.error(
                    GONE, f"hours before {iso_hour(kept)} are past retention ({retention} s)", **available
                )
            buckets = []
            for hour in range(start if kept is None else max(start, kept), end + 1, HOUR):
                totals = tables.category_hourly.get(f"{category}|{hour}")
                if totals is not None:
                    buckets.append({"hour": iso_hour(hour), **totals})
            return self.json({"category": category, "buckets": buckets, **available})

        return await at_owner(self, request, tables.category_totals, category, local)


def _instant(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an RFC 3339 timestamp, got {raw!r}") from None
    if value.tzinfo is None:
        raise BadQuery(f"{name} needs a UTC offset, got {raw!r}")
    return value


def hour_range(raw_from: str | None, raw_to: str | None) -> tuple[int, int]:
    """Epoch-second starts of the first and last hour bucket asked for."""
    end = _instant("to", raw_to) if raw_to else datetime.now(UTC)
    try:
        start = _instant("from", raw_from) if raw_from else end - timedelta(hours=24)
        first, last = hour_start(int(start.timestamp())), hour_start(int(end.timestamp()))
        iso_hour(first), iso_hour(last)  # each bucket's hour must be spelled in UTC
    except (OverflowError, ValueError):
        raise BadQuery("from and to must fall in years 1 to 9999 (UTC hours): outside") from None
    if start > end:
        raise BadQuery("from must not be after to")
    if (last - first) // HOUR > MAX_HOURS:
        raise BadQuery(f"range too long: at most {MAX_HOURS} hours between from and to")
    return first, last
