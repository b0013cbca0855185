"""One notification's HTTP call, retried per record with exponential backoff and full jitter.

A 2xx is delivered. A 5xx, 408, 429 or a timeout is retried and counts as an attempt; past
``max_attempts`` it is given up (dead-lettered). A receiver that cannot be reached at all
(connection refused, DNS) is retried without limit: it is down, it has not refused this
event, and giving up would dead-letter everything during an outage. Any other 4xx is a refusal
of this event: dead-lettered at once. Retries run on tenacity (``AsyncRetrying``), built only
once a first call has failed: the usual delivery is one call and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

RETRYABLE_STATUS = frozenset({408, 429})


class Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int  # calls made, unreachable ones included
    reason: str = ""  # why it was given up: "http_404", "attempts_exhausted: http_503"...
    status: int | None = None


def classify(status: int) -> str:
    """'ok', 'retry' or 'reject' for an HTTP status."""
    if 200 <= status < 300:
        return "ok"
    if status >= 500 or status in RETRYABLE_STATUS:
        return "retry"
    return "reject"


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    timeout: float
    backoff_initial: float
    backoff_max: float


class _Tally:
    """Calls made and calls that count against ``max_attempts`` (refused connections do not)."""

    __slots__ = ("calls", "counted", "status")

    def __init__(self) -> None:
        self.calls = self.counted = 0
        self.status: int | None = None


async def _call(
    session: aiohttp.ClientSession,
    url: Any,
    body: bytes,
    headers: dict[str, str],
    timeout: Any,
    tally: _Tally,
) -> Outcome:
    """One attempt: the outcome of a 2xx or a refusal, or ``Retryable`` raised."""
    tally.calls += 1
    try:
        async with session.post(url, data=body, headers=headers, timeout=timeout) as resp:
            tally.status = resp.status
            await resp.read()
    except TimeoutError:
        tally.counted += 1
        raise Retryable("timeout") from None
    except aiohttp.ClientConnectorError:
        raise Retryable("unreachable") from None  # not counted
    except aiohttp.ClientError:
        # Dropped mid-call (reset, disconnected): the receiver was reached and may keep failing
        # on this very request, so it counts.
        tally.counted += 1
        raise Retryable("disconnected") from None
    verdict = classify(resp.status)
    if verdict == "retry":
        tally.counted += 1
        raise Retryable(f"http_{resp.status}")
    if verdict == "reject":
        return Outcome(False, tally.calls, f"http_{resp.status}", resp.status)
    return Outcome(True, tally.calls, status=resp.status)


async def deliver(
    session: aiohttp.ClientSession,
    url: Any,  # str or a prepared yarl.URL
    body: bytes,
    headers: dict[str, str],
    policy: Policy,
    on_retry: Callable[[str], None] = lambda reason: None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> Outcome:
    tally = _Tally()
    timeout = timeout or aiohttp.ClientTimeout(total=policy.timeout)
    try:  # the usual case, a first call that succeeds, builds no retry machinery
        return await _call(session, url, body, headers, timeout, tally)
    except Retryable as exc:
        failed: Retryable | None = exc

    def stop(state: RetryCallState) -> bool:
        return tally.counted >= policy.max_attempts

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        on_retry(exc.reason if isinstance(exc, Retryable) else "error")

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait_random_exponential(multiplier=policy.backoff_initial, max=policy.backoff_max),
        retry=retry_if_exception_type(Retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                if failed is not None:  # tenacity's first attempt is the call made above
                    first, failed = failed, None
                    raise first
                return await _call(session, url, body, headers, timeout, tally)
    except Retryable as exc:
        return Outcome(False, tally.calls, f"attempts_exhausted: {exc.reason}", tally.status)
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
