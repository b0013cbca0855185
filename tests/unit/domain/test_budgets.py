"""CPC budget arithmetic (domain/budgets.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest

from domain.budgets import (
    ACTIVE,
    EXHAUSTED,
    Budget,
    BudgetEvent,
    Click,
    ClickSchema,
    LedgerEntry,
    StatusChange,
    add_daily,
    apply_click,
    apply_funding,
    kst_day,
    kst_day_name,
    parse_budget_event,
    parse_click,
    public_view,
)
from domain.errors import InvalidRecord

TS = "2026-11-24T03:00:00+00:00"


def funding(amount: int, type_: str = "top_up", event_id: str = "t-1", adv: str = "a-1") -> BudgetEvent:
    body = {"event_id": event_id, "advertiser_id": adv, "type": type_, "amount": amount, "ts": TS}
    return parse_budget_event(adv.encode(), orjson.dumps(body))


def click(cpc: int, click_id: str = "k-1", adv: str = "a-1", campaign: str = "c-1", ts: str = TS) -> Click:
    body = {"click_id": click_id, "advertiser_id": adv, "campaign_id": campaign, "cpc": cpc, "ts": ts}
    return parse_click(adv.encode(), orjson.dumps(body))


def funded(balance: int) -> Budget:
    budget = Budget()
    apply_funding(budget, funding(balance, event_id="seed"))
    return budget


# --- charging ------------------------------------------------------------------------------


def test_click_costing_exactly_the_balance_is_charged_and_leaves_zero() -> None:
    budget = funded(500)
    outcome = apply_click(budget, click(500))
    assert outcome.entry == LedgerEntry("a-1", "k-1", "click", -500, 0, TS, "c-1")
    assert outcome.change is None and outcome.rejection is None
    assert (budget.balance, budget.spent, budget.charged, budget.rejected) == (0, 500, 1, 0)
    assert budget.status == ACTIVE
    assert type(budget.balance) is int and type(budget.spent) is int


def test_click_one_won_over_the_balance_is_rejected_and_balance_does_not_move() -> None:
    budget = funded(499)
    outcome = apply_click(budget, click(500))
    assert outcome.entry is None
    # Not a charge, but on the ledger: the lake's daily report counts it.
    assert outcome.rejection == LedgerEntry("a-1", "k-1", "rejected", 0, 499, TS, "c-1")
    assert budget.balance == 499
    assert budget.spent == 0
    assert budget.charged == 0
    assert budget.rejected == 1
    assert budget.last_rejected_cpc == 500


def test_first_rejection_exhausts_second_emits_no_change() -> None:
    budget = funded(100)
    first = apply_click(budget, click(300, click_id="k-1"))
    assert first.change == StatusChange("a-1", EXHAUSTED, 100, "k-1", TS)
    assert budget.status == EXHAUSTED
    second = apply_click(budget, click(200, click_id="k-2"))
    assert second.entry is None
    assert second.change is None
    assert budget.status == EXHAUSTED
    assert budget.rejected == 2
    assert budget.last_rejected_cpc == 200


def test_rejection_on_a_new_budget_exhausts_it_at_zero() -> None:
    budget = Budget()
    outcome = apply_click(budget, click(100))
    assert outcome.change is not None
    assert (outcome.change.status, outcome.change.balance) == (EXHAUSTED, 0)


def test_top_up_that_covers_last_rejected_cpc_reactivates() -> None:
    budget = funded(100)
    apply_click(budget, click(300))
    outcome = apply_funding(budget, funding(200, event_id="t-2"))  # 300 == last rejected cpc
    assert outcome.change == StatusChange("a-1", ACTIVE, 300, "t-2", TS)
    assert outcome.entry == LedgerEntry("a-1", "t-2", "top_up", 200, 300, TS)
    assert budget.status == ACTIVE


def test_top_up_short_of_last_rejected_cpc_stays_exhausted() -> None:
    budget = funded(100)
    apply_click(budget, click(300))
    outcome = apply_funding(budget, funding(199, event_id="t-2"))  # 299 < 300
    assert outcome.change is None
    assert outcome.entry is not None and outcome.entry.balance_after == 299
    assert budget.status == EXHAUSTED


def test_top_up_while_active_emits_no_change() -> None:
    budget = funded(100)
    outcome = apply_funding(budget, funding(50, event_id="t-2"))
    assert outcome.change is None
    assert budget.status == ACTIVE


def test_adjust_with_a_negative_amount() -> None:
    budget = funded(1000)
    outcome = apply_funding(budget, funding(-300, type_="adjust", event_id="j-1"))
    assert outcome.entry == LedgerEntry("a-1", "j-1", "adjust", -300, 700, TS)
    assert budget.balance == 700
    assert budget.funded == 700  # funded sums top-ups and adjustments
    assert budget.spent == 0


def test_ledger_amounts_are_signed_with_running_balance() -> None:
    budget = Budget()
    entries = [
        apply_funding(budget, funding(1000, event_id="t-1")).entry,
        apply_click(budget, click(300, click_id="k-1")).entry,
        apply_funding(budget, funding(-200, type_="adjust", event_id="j-1")).entry,
        apply_click(budget, click(400, click_id="k-2")).entry,
        apply_click(budget, click(200, click_id="k-3")).entry,  # 100 left: rejected
    ]
    assert [(e.kind, e.amount, e.balance_after) if e else None for e in entries] == [
        ("top_up", 1000, 1000),
        ("click", -300, 700),
        ("adjust", -200, 500),
        ("click", -400, 100),
        None,
    ]
    assert budget.balance == budget.funded - budget.spent == 100
    assert all(type(e.amount) is int and type(e.balance_after) is int for e in entries if e)


# --- parsing ---------------------------------------------------------------------------------


def _funding_bytes(**overrides: object) -> bytes:
    body = {"event_id": "t-1", "advertiser_id": "a-1", "type": "top_up", "amount": 500, "ts": TS}
    body.update(overrides)
    return orjson.dumps(body)


def _click_bytes(**overrides: object) -> bytes:
    body = {"click_id": "k-1", "advertiser_id": "a-1", "campaign_id": "c-1", "cpc": 300, "ts": TS}
    body.update(overrides)
    return orjson.dumps(body)


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": 0},
        {"amount": -500},
        {"type": "adjust", "amount": 0},
        {"type": "refund"},
        {"amount": "500"},
        {"amount": 500.0},
        {"ts": "2026-11-24T03:00:00"},
        {"extra": 1},
    ],
    ids=[
        "top_up 0",
        "top_up negative",
        "adjust 0",
        "unknown type",
        "str amount",
        "float amount",
        "naive ts",
        "unknown field",
    ],  # fmt: skip
)
def test_bad_budget_events_are_schema_errors(overrides: dict) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_budget_event(b"a-1", _funding_bytes(**overrides))
    assert caught.value.reason == "schema"


def test_good_budget_events_parse() -> None:
    assert parse_budget_event(b"a-1", _funding_bytes()).amount == 500
    adjust = parse_budget_event(b"a-1", _funding_bytes(type="adjust", amount=-1))
    assert (adjust.type, adjust.amount) == ("adjust", -1)


@pytest.mark.parametrize(
    "overrides",
    [{"cpc": 0}, {"cpc": -100}, {"cpc": 320.5}, {"cpc": "320"}, {"ts": "yesterday"}, {"extra": 1}],
    ids=["cpc 0", "cpc negative", "cpc float", "cpc str", "bad ts", "unknown field"],
)
def test_bad_clicks_are_schema_errors(overrides: dict) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_click(b"a-1", _click_bytes(**overrides))
    assert caught.value.reason == "schema"


def test_click_and_budget_key_must_be_advertiser() -> None:
    for parse, raw in ((parse_click, _click_bytes()), (parse_budget_event, _funding_bytes())):
        for key in (b"a-nobody", None):
            with pytest.raises(InvalidRecord) as caught:
                parse(key, raw)
            assert caught.value.reason == "key_mismatch"


def test_a_key_that_only_decodes_to_the_advertiser_is_not_its_key() -> None:
    # b"\xff" decodes (with replacement) to U+FFFD, yet hashes to its own partition.
    for parse, raw in ((parse_click, _click_bytes(advertiser_id="\ufffd")),
                       (parse_budget_event, _funding_bytes(advertiser_id="\ufffd"))):  # fmt: skip
        with pytest.raises(InvalidRecord) as caught:
            parse(b"\xff", raw)
        assert caught.value.reason == "key_mismatch"
        assert parse("\ufffd".encode(), raw).advertiser_id == "\ufffd"


def test_click_not_json() -> None:
    for raw in (b"\xff\xfe not json", None):
        with pytest.raises(InvalidRecord) as caught:
            parse_click(b"a-1", raw)
        assert caught.value.reason == "not_json"


# --- KST days and daily statistics ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2026-11-24T16:30:00Z", date(2026, 11, 25)),
        ("2026-11-24T14:59:59Z", date(2026, 11, 24)),
        ("2026-11-24T15:00:00Z", date(2026, 11, 25)),
        ("2026-11-25T00:30:00+09:00", date(2026, 11, 25)),
    ],
)
def test_kst_day_boundary(instant: str, day: date) -> None:
    assert kst_day(click(100, ts=instant).ts) == day
    assert kst_day(datetime.fromisoformat(instant)) == day
    assert kst_day_name(datetime.fromisoformat(instant)) == day.isoformat()


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+10:00", "9999-12-31T23:00:00-05:00"])
def test_click_whose_kst_day_is_outside_the_calendar_is_invalid(ts: str) -> None:
    # Valid to pydantic, but its KST day is before 0001-01-01 or after 9999-12-31:
    # it used to raise OverflowError in the handler, a poison pill crashing the worker.
    with pytest.raises(InvalidRecord) as caught:
        click(100, ts=ts)
    assert caught.value.reason == "ts_out_of_range"


def test_click_carries_its_kst_day() -> None:
    assert click(100, ts="2026-11-24T15:00:00Z").day == "2026-11-25"
    assert click(100, ts="2026-11-24 15:00:00Z").day == "2026-11-25"  # pydantic's path


def test_kst_day_name_matches_kst_day_across_a_year_of_hours() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hours in range(0, 366 * 24, 7):
        instant = start + timedelta(hours=hours, seconds=hours % 60)
        assert kst_day_name(instant) == kst_day(instant).isoformat(), instant


def test_add_daily_counts_per_campaign() -> None:
    stats: dict = {}
    add_daily(stats, click(300, campaign="c-1"), charged=True)
    add_daily(stats, click(200, campaign="c-1"), charged=True)
    add_daily(stats, click(900, campaign="c-1"), charged=False)
    add_daily(stats, click(100, campaign="c-2"), charged=False)
    assert stats == {
        "c-1": {"charged": 2, "spend": 500, "rejected": 1},
        "c-2": {"charged": 0, "spend": 0, "rejected": 1},
    }
    assert type(stats["c-1"]["spend"]) is int


# --- version ------------------------------------------------------------------------------------


def test_every_applied_event_and_counted_duplicate_is_one_more_version() -> None:
    budget = Budget()
    apply_funding(budget, funding(300))
    assert budget.version == 1
    apply_click(budget, click(100, "k-1"))  # charged
    apply_click(budget, click(900, "k-2"))  # rejected: exhausts
    apply_click(budget, click(900, "k-3"))  # rejected again: no status change, still a change
    apply_funding(budget, funding(-50, "adjust", "j-1"))
    budget.count_duplicate()
    assert (budget.version, budget.duplicates) == (6, 1)
    assert public_view("a-1", budget)["version"] == 6


def test_a_budget_stored_before_versions_reads_as_version_0() -> None:
    old = {k: v for k, v in funded(500).to_dict().items() if k != "version"}
    budget = Budget.from_dict(old)
    assert budget.version == 0
    apply_click(budget, click(100))
    assert budget.to_dict()["version"] == 1


# --- views and serialisation ----------------------------------------------------------------------


def test_budget_dict_round_trip_and_public_view() -> None:
    budget = funded(1000)
    apply_click(budget, click(2000))
    data = budget.to_dict()
    assert Budget.from_dict(data) == budget
    assert Budget.from_dict(None) == Budget()
    view = public_view("a-1", budget)
    assert view["advertiser_id"] == "a-1"
    assert view["status"] == EXHAUSTED
    assert view["balance"] == 1000
    assert "last_rejected_cpc" not in view
    assert "last_rejected_cpc" in budget.to_dict()  # the view did not mutate the budget


def test_budget_to_dict_names_every_field() -> None:
    budget = Budget(**{f.name: f"v-{f.name}" for f in dataclasses.fields(Budget)})
    assert budget.to_dict() == dataclasses.asdict(budget)


def test_ledger_entry_serialises_with_orjson() -> None:
    entry = apply_funding(Budget(), funding(700)).entry
    assert orjson.loads(orjson.dumps(entry)) == {
        "advertiser_id": "a-1",
        "entry_id": "t-1",
        "kind": "top_up",
        "amount": 700,
        "balance_after": 700,
        "ts": TS,
        "campaign_id": None,
    }


def test_click_ts_is_aware_utc() -> None:
    assert click(100).ts == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


# --- the plain-click fast path agrees with pydantic --------------------------------------------

_TS_SPELLINGS = [
    TS,
    "2026-11-24T03:00:00Z",
    "2026-11-24T12:00:00+09:00",
    "2026-11-24T03:00:00-00:00",
    "2026-11-24T03:00:00.5+00:00",
    "2026-11-24T03:00:00.000000+00:00",
    "2026-11-24T03:00:00.123456Z",
    "2026-11-24T03:00:00.1234567Z",
    "2026-11-24t03:00:00Z",
    "2026-11-24 03:00:00Z",
    "2026-11-24T03:00:00",
    "2026-11-24T03:00Z",
    "2026-328T03:00:00Z",
    "2026-02-30T03:00:00Z",
    "2026-11-24T24:00:00Z",
    "2026-11-24T23:59:60Z",
    "2026-11-24T03:00:00+24:00",
    "2026-11-24T03:00:00+05:60",
    "2026-11-24T03:00:00+23:59",
    "0000-01-01T00:00:00Z",
    "2026-11-24T03:00:00+0900",
    "yesterday",
    "",
    "\u0662026-11-24T03:00:00Z",
]
_BODY_VARIANTS = [
    {"cpc": 0},
    {"cpc": -1},
    {"cpc": 1},
    {"cpc": 1.0},
    {"cpc": True},
    {"cpc": "300"},
    {"cpc": None},
    {"click_id": ""},
    {"click_id": "k" * 200},
    {"click_id": "k" * 201},
    {"click_id": 7},
    {"advertiser_id": "a" * 201},
    {"campaign_id": ""},
    {"campaign_id": ["c"]},
    {"extra": 1},
    {"click_id": "\u00e9\U0001f600"},
]
_CLICK_HEAD = b'{"click_id":"k-1","advertiser_id":"a-1","campaign_id":"c-1",'
_RAW_VARIANTS = [
    b"[]",
    b"300",
    b'"click"',
    b"{}",
    b"null",
    b"\xff\xfe",
    b"{not json",
    _CLICK_HEAD + b'"cpc":300,"ts":"' + TS.encode() + b'","ts":"x"}',
    _CLICK_HEAD + b'"cpc":99999999999999999999999,"ts":"' + TS.encode() + b'"}',
    b'{"click_id":"k-1","advertiser_id":"a-1","campaign_id":"c-1","cpc":300}',
]


def _by_pydantic(raw: bytes) -> tuple:
    """What the strict schema alone makes of ``raw``: the fields, or the reason it is invalid."""
    try:
        parsed = ClickSchema.model_validate_json(raw)
    except ValueError:
        return ("invalid",)
    return ("valid", parsed.click_id, parsed.advertiser_id, parsed.campaign_id, parsed.cpc,
            parsed.ts, parsed.ts.isoformat())  # fmt: skip


def _by_parse_click(raw: bytes) -> tuple:
    try:
        c = parse_click(b"a-1", raw)
    except InvalidRecord as error:
        return ("invalid",) if error.reason in ("schema", "not_json", "key_mismatch") else ("?",)
    assert c.ts_text == c.ts.isoformat()
    return ("valid", c.click_id, c.advertiser_id, c.campaign_id, c.cpc, c.ts, c.ts_text)


@pytest.mark.parametrize(
    "raw",
    [_click_bytes(ts=ts) for ts in _TS_SPELLINGS]
    + [_click_bytes(**v) for v in _BODY_VARIANTS]
    + _RAW_VARIANTS,
)
def test_parse_click_accepts_and_rejects_exactly_what_the_schema_does(raw: bytes) -> None:
    expected = _by_pydantic(raw)
    if expected[0] == "valid" and expected[2] != "a-1":
        expected = ("invalid",)  # keyed by another advertiser than the record key b"a-1"
    assert _by_parse_click(raw) == expected
    assert _by_parse_click(raw) == expected  # again, its timestamp remembered


def test_remembered_timestamps_stay_a_few_thousand() -> None:
    from domain import budgets

    start = datetime(2026, 11, 24, tzinfo=UTC)
    for second in range(3 * budgets._TIMESTAMPS_MAX):
        ts = (start + timedelta(seconds=second)).isoformat()
        assert click(100, ts=ts).ts == start + timedelta(seconds=second)
        assert len(budgets._timestamps) <= budgets._TIMESTAMPS_MAX


def test_parse_click_gives_the_instant_and_its_isoformat() -> None:
    parsed = click(100, ts="2026-11-24T12:00:00.25+09:00")
    assert parsed.ts == datetime(2026, 11, 24, 3, 0, 0, 250000, tzinfo=UTC)
    assert parsed.ts_text == "2026-11-24T12:00:00.250000+09:00"
    assert click(100, ts="2026-11-24T03:00:00Z").ts_text == TS
