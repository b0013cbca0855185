"""One record's journey: parse, call the receiver (retried), or dead-letter it with the reason."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer, TopicPartition
from yarl import URL

from config import Settings
from domain.errors import InvalidRecord
from notify import events
from notify.delivery import Outcome, Policy, deliver
from notify.metrics import NotifyMetrics
from notify.offsets import PartitionOffsets
from streaming.deadletter import dlq_headers


@dataclass(slots=True)
class Job:
    tp: TopicPartition
    record: Any  # aiokafka ConsumerRecord
    state: PartitionOffsets  # its partition's offsets at fetch time (a revoked one is forgotten)


class Worker:
    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        metrics: NotifyMetrics,
        session: aiohttp.ClientSession,
        producer: AIOKafkaProducer,
    ) -> None:
        self.url = URL(settings.notify_url)  # parsed once, not per call
        self.timeout = aiohttp.ClientTimeout(total=policy.timeout)
        self.dlq = settings.topic_notify_dlq
        self.policy, self.metrics, self.session, self.producer = policy, metrics, session, producer
        self.in_flight = 0  # the gauge reads it when scraped: no lock taken per call
        metrics.in_flight.set_function(lambda: self.in_flight)
        self._delivered: dict[str, Any] = {}  # topic -> its labelled counter, resolved once

    async def process(self, job: Job) -> None:
        r = job.record
        try:
            event = events.parse(r.value)
        except events.Malformed as exc:
            await self._dead_letter(job, "malformed", str(exc), Outcome(False, 0, "malformed"))
            return
        key = events.idempotency_key(r.topic, r.partition, r.offset, event)
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        payload = events.body(r.topic, r.partition, r.offset, r.key, event)
        self.in_flight += 1
        started = time.monotonic()
        try:
            outcome = await deliver(
                self.session, self.url, payload, headers, self.policy, self._retried, self.timeout
            )
        finally:
            self.in_flight -= 1
        if outcome.delivered:
            self.metrics.latency.observe(time.monotonic() - started)
            counter = self._delivered.get(r.topic)
            if counter is None:
                counter = self._delivered[r.topic] = self.metrics.records.labels(r.topic, "delivered")
            counter.inc()
            return
        reason = "attempts_exhausted" if outcome.reason.startswith("attempts_exhausted") else outcome.reason
        await self._dead_letter(job, reason, outcome.reason, outcome, key)

    def _retried(self, reason: str) -> None:
        self.metrics.retries.labels(reason).inc()

    async def _dead_letter(self, job: Job, reason: str, detail: str, outcome: Outcome, key: str = "") -> None:
        r = job.record
        headers = dlq_headers(r, InvalidRecord(reason, detail)) + [
            ("dlq.attempts", str(outcome.attempts).encode()),
            ("notify.idempotency_key", key.encode()),
        ]
        if outcome.status is not None:
            headers.append(("notify.status", str(outcome.status).encode()))
        # Awaited: the offset counts as done only once its dead letter is on the broker.
        await self.producer.send_and_wait(self.dlq, r.value, key=r.key, headers=headers)
        self.metrics.dead_letters.labels(reason).inc()
        self.metrics.records.labels(r.topic, "dead_letter").inc()
