"""Running the ceiling and the Quix peer as subprocesses (one process each, like the worker)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from bench.measure import rate
from bench.readback import check_budgets

REPO = Path(__file__).resolve().parents[1]


async def _run_json(args: list[str], log: Path, timeout: float) -> dict:
    """Run ``python -m <args>`` in the repo; its last stdout line is a JSON result.
    ``started`` is when it was spawned (its interpreter start-up counts as start-up)."""
    with log.open("ab") as err:
        spawned = time.time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=err
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise TimeoutError(f"{args[0]} did not finish in {timeout:.0f}s (log: {log})") from None
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{args[0]} exited {proc.returncode} (log: {log}):\n{tail}")
    return {**json.loads(out.decode().strip().splitlines()[-1]), "started": spawned}


def _rates(result: dict, events: int) -> dict:
    result["eps"] = rate(events, result["end"] - result["first"])
    result["eps_from_start"] = rate(events, result["end"] - result["started"])
    return result


async def ceiling(
    bootstrap: str, topics: list[str], out: str, events: int, log: Path, timeout: float
) -> dict:
    args = ["bench.ceiling", "--bootstrap", bootstrap, "--out", out, "--expect", str(events)]
    for t in topics:
        args += ["--topic", t]
    return _rates(await _run_json(args, log, timeout), events)


async def quix(
    bootstrap: str,
    topics: tuple[str, str],
    out: str,
    partitions: int,
    oracle: dict,
    events: int,
    state_dir: Path,
    log: Path,
    timeout: float,
) -> dict:
    funding, clicks = topics
    args = [
        "bench.quix_peer",
        "--bootstrap",
        bootstrap,
        "--budget-topic",
        funding,
        "--clicks-topic",
        clicks,
        "--out",
        out,
        "--state-dir",
        str(state_dir),
        "--expect",
        str(events),
    ]
    result = _rates(await _run_json(args, log, timeout), events)
    result["diffs"] = await check_budgets(bootstrap, out, partitions, oracle, events)
    return result
