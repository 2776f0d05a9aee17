"""Resident memory of processes, read from /proc (Linux): for the soak test and the benchmarks."""

from __future__ import annotations

import contextlib
from pathlib import Path


def rss_mb(pid: int, with_children: bool = False) -> float | None:
    """Resident memory of ``pid`` in MB (and of its direct children, as gunicorn's master and
    worker); None when the process is gone."""
    pids = [pid]
    if with_children:
        with contextlib.suppress(OSError):
            pids += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total_kb = 0
    found = False
    for each in pids:
        try:
            lines = Path(f"/proc/{each}/status").read_text().splitlines()
        except OSError:
            continue  # ended meanwhile
        for line in lines:
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
                found = True
    return total_kb / 1024 if found else None
