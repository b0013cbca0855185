"""Process bookkeeping for broker JVMs that may belong to another (possibly gone) launcher."""

from __future__ import annotations

import os
import socket
from pathlib import Path

_HAS_PROC = Path("/proc/self/cmdline").exists()


def pid_alive(pid: int | None, marker: str | None = None) -> bool:
    """True if ``pid`` runs and (when given) its command line contains ``marker``.

    The marker guards against pid reuse: we must never signal a process we did
    not start. Zombies count as dead: a detached JVM's reaper may be slow or absent.
    """
    if pid is None:
        return False
    if not _HAS_PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    if marker is not None and marker.encode() not in cmdline:
        return False  # a zombie's cmdline is empty, so this catches those too
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports that are free right now (all held open until chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _read_end(path: Path, size: int = 256 * 1024) -> str | None:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


def tail(path: Path, lines: int = 40) -> str:
    text = _read_end(path)
    if text is None:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


def first_line_with(path: Path, needle: str) -> str | None:
    text = _read_end(path) or ""
    return next((ln.strip() for ln in text.splitlines() if needle in ln), None)


def error_lines(path: Path, limit: int = 5) -> list[str]:
    """The first ERROR/FATAL lines: the cause, which shutdown chatter pushes out of the tail."""
    text = _read_end(path) or ""
    return [ln for ln in text.splitlines() if " ERROR " in ln or " FATAL " in ln][:limit]


def find_pids(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker`` (e.g. a data dir); Linux only."""
    if not _HAS_PROC:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            if pid_alive(int(entry.name), marker):
                found.append(int(entry.name))
    return found
