"""``faust -A app replay``: rebuild all state from the source topics.

Kafka Streams' application reset tool, for this app: with every worker
stopped, the group's offsets on the source topics go back (to the earliest
offset, or to a point in time), the changelog and repartition topics are
deleted (workers recreate them), the local state directory is wiped and the
replay generation is bumped, so workers on other hosts wipe theirs at start.
The next ``faust -A app worker`` rebuilds everything.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import datetime
from typing import Any

import click
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from faust.cli import option
from tqdm import tqdm

from cli.replay_ops import (
    Move,
    ReplayError,
    commit_moves,
    delete_topics,
    live_members,
    partitions,
    plan_moves,
)
from config.kafka import client_kwargs
from streaming import replay_generation


def parse_since(raw: str) -> int:
    """RFC 3339 with an offset -> epoch milliseconds (record timestamps)."""
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"not an RFC 3339 timestamp: {raw!r}", param_hint="--to-datetime") from None
    if when.tzinfo is None:
        raise click.BadParameter(f"needs a UTC offset, e.g. +09:00: {raw!r}", param_hint="--to-datetime")
    return int(when.timestamp() * 1000)


def internal_topics(app: Any) -> list[str]:
    """Topics holding derived state: every table's changelog, the repartition topic."""
    names = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    return sorted(names) + [app.runtime.topics.orders_by_category.get_topic_name()]


def describe(moves: list[Move]) -> list[str]:
    by_topic: dict[str, list[Move]] = defaultdict(list)
    for move in moves:
        by_topic[move.tp.topic].append(move)
    lines = []
    for topic, ms in by_topic.items():
        before = sum(m.before or 0 for m in ms)
        after = sum(m.after for m in ms)
        moved = sum(abs((m.before or 0) - m.after) for m in ms)
        lines.append(f"  {topic}: {len(ms)} partitions, committed {before} -> {after}, {moved} offsets moved")
    return lines


OPTIONS = (
    option("--to-earliest", is_flag=True, help="Replay everything the source topics hold (default)."),
    option("--to-datetime", default=None, help="Replay records timestamped at or after this RFC 3339 time."),
    option("--dry-run", is_flag=True, help="Print what would be done; change nothing."),
    option("--yes", is_flag=True, help="Do not ask for confirmation."),
)


def register(app: Any) -> None:
    app.command(*OPTIONS)(replay)


async def replay(self, to_earliest: bool, to_datetime: str | None, dry_run: bool, yes: bool) -> None:  # type: ignore[no-untyped-def]
    """Reset the app to reprocess its source topics from scratch (all workers stopped)."""
    try:
        if to_earliest and to_datetime:
            raise click.UsageError("--to-earliest and --to-datetime exclude each other")
        since_ms = parse_since(to_datetime) if to_datetime else None
        await _connected(self.app, since_ms, to_datetime, dry_run, yes)
    except (ReplayError, click.ClickException) as exc:
        click.echo(
            f"replay: {exc.format_message() if isinstance(exc, click.ClickException) else exc}", err=True
        )
        raise SystemExit(1) from None


async def _connected(
    app: Any, since_ms: int | None, to_datetime: str | None, dry_run: bool, yes: bool
) -> None:
    kwargs = client_kwargs(app.settings)
    admin = AIOKafkaAdminClient(**kwargs)
    await admin.start()
    try:
        consumer = AIOKafkaConsumer(**kwargs, enable_auto_commit=False)
        await consumer.start()
        try:
            await _replay(app, admin, consumer, kwargs, since_ms, to_datetime, dry_run, yes)
        finally:
            await consumer.stop()
    finally:
        await admin.close()


async def _replay(app, admin, consumer, kwargs, since_ms, to_datetime, dry_run, yes) -> None:  # type: ignore[no-untyped-def]
    settings = app.settings
    group = settings.app_id
    members = await live_members(admin, group)
    if members:
        alive = f"{len(members)} worker(s) of group {group!r} alive: " + ", ".join(members)
        if not dry_run:
            raise ReplayError(
                f"refusing to replay, {alive}. Stop every worker first; a killed worker stays a"
                " member until its session times out (SESSION_TIMEOUT)."
            )
        click.echo(f"warning: {alive}; the replay would refuse")
    sources = [t.get_topic_name() for t in app.runtime.topics.SOURCES]
    moves = await plan_moves(admin, consumer, group, await partitions(admin, sources), since_ms)
    doomed = sorted(set(internal_topics(app)) & set(await admin.list_topics()))
    directory = replay_generation.state_dir(settings)
    generation = await replay_generation.read_generation(settings) + 1
    start = f"from {to_datetime}" if to_datetime else "from the earliest offsets"
    click.echo(f"replay of {group!r} {start}:")
    click.echo("\n".join(describe(moves)))
    click.echo(f"  delete {len(doomed)} topics: {', '.join(doomed) or '-'}")
    click.echo(f"  wipe {directory}; replay generation -> {generation}")
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    if not yes and not click.confirm("Go ahead?"):
        raise ReplayError("not confirmed; nothing changed")
    with tqdm(total=3 + len(doomed), desc="replay", unit="step") as bar:
        # Generation first: from here on any worker that starts wipes its state,
        # so a replay that fails half-way leaves no stale tables behind.
        await replay_generation.write_generation(settings, generation)
        bar.update()
        await commit_moves(kwargs, group, moves)
        bar.update()
        deleted = await delete_topics(admin, group, doomed)
        bar.update(len(deleted))
        shutil.rmtree(directory, ignore_errors=True)
        bar.update()
    click.echo(f"replay: generation {generation}")
    click.echo("\n".join(describe(moves)))
    click.echo(f"  deleted {len(deleted)} topics; wiped {directory}")
    click.echo("replay: done; start the workers (faust -A app worker) to rebuild the state")
