"""A short chaos run: SIGKILL workers while both pipelines process; nothing lost or doubled."""

from __future__ import annotations

import pytest

from chaos.run import Plan, run_once

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


async def test_short_chaos_run_keeps_exactly_once(kafka_bootstrap, tmp_path):  # type: ignore[no-untyped-def]
    lines: list[str] = []
    plan = Plan(seed=7, orders=15_000, clicks=15_000, advertisers=60, rounds=3, min_kills=3)
    result = await run_once(plan, kafka_bootstrap, tmp_path, lines.append)
    report = "\n".join(lines + result.problems[:40])
    assert result.kills >= 3, report
    assert result.events >= 30_000, report
    assert result.mismatches == 0 and result.duplicates == 0, report
