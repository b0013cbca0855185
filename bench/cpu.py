"""CPU seconds of process trees from /proc (Linux): where a benchmark's time went, per process.

A tree is a process and all its live descendants (PostgreSQL's backends, the order service's
processes) but another tree's root, plus what its waited-for children used (``cutime``/``cstime``).
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stats() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds of the process and its waited-for children)."""
    out: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        out[int(entry.name)] = (ppid, (utime + stime + cutime + cstime) / TICK)
    return out


def tree_seconds(roots: dict[str, int | None]) -> dict[str, float]:
    """CPU seconds so far of each named tree (a None root counts 0); a tree stops at another's root."""
    stats = _stats()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        kids.setdefault(ppid, []).append(pid)
    result: dict[str, float] = {}
    others = set(roots.values())
    for name, root in roots.items():
        total, todo = 0.0, [root] if root in stats else []
        while todo:
            pid = todo.pop()
            total += stats[pid][1]
            todo.extend(k for k in kids.get(pid, ()) if k not in others)
        result[name] = total
    return result


def per_order(before: dict[str, float], after: dict[str, float], orders: int) -> str:
    """``name a.b ms`` of CPU per order for each tree, and the total."""
    parts = {k: (after[k] - before[k]) * 1000 / orders for k in after}
    text = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    return f"{text}; total {sum(parts.values()):.2f} ms CPU/order"
