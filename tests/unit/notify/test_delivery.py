from __future__ import annotations

import pytest

from notify.delivery import classify


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, "ok"), (204, "ok"), (500, "retry"), (503, "retry"), (408, "retry"), (429, "retry"),
     (400, "reject"), (404, "reject"), (422, "reject")],
)  # fmt: skip
def test_classify(status: int, verdict: str) -> None:
    assert classify(status) == verdict
