"""GET /advertisers/{advertiser_id}/budget and /advertisers/{advertiser_id}/daily."""

from __future__ import annotations

from datetime import date, timedelta

from faust.web import Request, Response, View

from domain.budgets import Budget, daily_key, public_view
from domain.errors import BadQuery
from domain.retention import first_day_kept
from tables._declare import text_key
from web.blueprint import views
from web.retention import GONE, stream_time_of
from web.routing import across_workers, at_owner, bad_request

MAX_DAYS = 366


@views.route("/advertisers")
class Advertisers(View):
    async def get(self, request: Request) -> Response:
        budgets = self.app.runtime.tables.budgets

        def local() -> dict:
            return {text_key(k): public_view(text_key(k), Budget.from_dict(v)) for k, v in budgets.items()}

        def present(parts: list[dict]) -> dict:
            merged = {k: v for part in parts for k, v in part.items()}
            return {"advertisers": [merged[k] for k in sorted(merged)]}

        return await across_workers(self, request, local, present)


@views.route("/advertisers/{advertiser_id}/budget")
class AdvertiserBudget(View):
    async def get(self, request: Request, advertiser_id: str) -> Response:
        budgets = self.app.runtime.tables.budgets

        async def local() -> Response:
            data = budgets.get(advertiser_id)
            if data is None:
                return self.error(404, f"unknown advertiser {advertiser_id!r}")
            return self.json(public_view(advertiser_id, Budget.from_dict(data)))

        return await at_owner(self, request, budgets, advertiser_id, local)


@views.route("/advertisers/{advertiser_id}/daily")
class AdvertiserDaily(View):
    async def get(self, request: Request, advertiser_id: str) -> Response:
        try:
            first, last = day_range(request.query.get("from"), request.query.get("to"))
        except BadQuery as exc:
            return bad_request(self, str(exc))
        app = self.app
        tables = app.runtime.tables

        async def local() -> Response:
            retention = app.settings.retention_daily_stats
            clicks = app.runtime.topics.ad_clicks.get_topic_name()
            kept = first_day_kept(stream_time_of(app, clicks, advertiser_id), retention)
            available = {
                "available_from": None if kept is None else kept.isoformat(),
                "retention_s": retention,
            }
            if kept is not None and last < kept:
                return self.error(GONE, f"days before {kept} are past retention ({retention} s)", **available)
            days = []
            day = first if kept is None else max(first, kept)
            while day <= last:
                stats = tables.daily_stats.get(daily_key(advertiser_id, day.isoformat()))
                if stats:
                    days.append({"day": day.isoformat(), "campaigns": stats})
                day += timedelta(days=1)
            return self.json({"advertiser_id": advertiser_id, "days": days, **available})

        return await at_owner(self, request, tables.budgets, advertiser_id, local)


def _day(name: str, raw: str | None) -> date:
    if raw is None:
        raise BadQuery(f"{name} is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


def day_range(raw_from: str | None, raw_to: str | None) -> tuple[date, date]:
    first, last = _day("from", raw_from), _day("to", raw_to)
    if first > last:
        raise BadQuery("from must not be after to")
    if (last - first).days >= MAX_DAYS:
        raise BadQuery(f"range too long: at most {MAX_DAYS} days")
    return first, last
