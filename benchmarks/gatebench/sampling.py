"""What the machine does during each slice: CPU per process group, database sessions and locks."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from .database import admin_connect, dbname


def cpu_of(pid: int) -> float | None:
    """User+system CPU seconds of one process (all its threads) so far; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def workers_cpu(master: int) -> dict[int, float]:
    """CPU seconds so far of each worker (child process) of a gunicorn master, by pid."""
    children = Path(f"/proc/{master}/task/{master}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    found = {pid: cpu_of(pid) for pid in pids}
    return {pid: used for pid, used in found.items() if used is not None}


class CpuMeter:
    """CPU used by gunicorn, PostgreSQL and the load tool, and by the machine as a whole.

    The load tool's CPU comes from `load_cpu` (cumulative seconds): the Python client's process,
    or the finished wrk runs (children of this process); `load_pid`, if any, is not "other".

    PostgreSQL means this database's backends plus the server's background processes, not other
    databases' sessions. Process lists are refreshed at every reading, so a backend opened
    between two readings counts in full and one that exits keeps what it had used when last
    seen.
    """

    GROUPS = ("gunicorn", "postgres", "load")

    def __init__(
        self,
        server_pids: list[int],
        database_url: str,
        load_cpu: Callable[[], float],
        load_pid: int | None = None,
    ):
        self.server_pids, self.database_url = server_pids, database_url
        self.load_cpu, self.load_pid = load_cpu, load_pid
        self.seen: dict[int, tuple[str, float]] = {}

    def _pids(self) -> dict[str, list[int]]:
        servers = list(self.server_pids)
        for pid in self.server_pids:
            children = Path(f"/proc/{pid}/task/{pid}/children")
            servers += [int(p) for p in children.read_text().split()] if children.exists() else []
        with admin_connect(self.database_url) as conn:
            postgres = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = %s OR backend_type <> 'client backend'",
                    [dbname(self.database_url)],
                )
            ]
        return {"gunicorn": servers, "postgres": postgres}

    def read(self) -> dict[str, float]:
        for group, pids in self._pids().items():
            for pid in pids:
                used = cpu_of(pid)
                if used is not None:
                    self.seen[pid] = (group, used)
        reading = dict.fromkeys(self.GROUPS, 0.0)
        reading["load"] = self.load_cpu()
        for group, used in self.seen.values():
            reading[group] += used
        for entry in Path("/proc").iterdir():  # everything else, to name what competed
            pid = int(entry.name) if entry.name.isdigit() else None
            if pid is not None and pid not in self.seen and pid not in (os.getpid(), self.load_pid):
                used = cpu_of(pid)
                if used is not None:
                    with contextlib.suppress(OSError):
                        comm = (entry / "comm").read_text().strip()
                        reading[f"other:{pid}:{comm}"] = used
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        tick = os.sysconf("SC_CLK_TCK")
        reading["machine_busy"] = (sum(fields) - fields[3] - fields[4]) / tick  # not idle/iowait
        reading["machine_total"] = sum(fields) / tick
        return reading


class LockSampler(threading.Thread):
    """Samples the benchmark database's sessions every 20 ms: how many are running a statement
    and how many of those wait for a lock (a row lock: the ledger head, for case openings).
    Samples count for the slice named in `kind` (set by drive() as each slice starts)."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.database_url = database_url
        self.kind: str | None = None
        self.samples: dict[str, list[int]] = {}  # kind -> [samples, active, waiting on a lock]
        self.done = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.done.wait(0.02):
                kind = self.kind
                if kind is None:
                    continue
                active, waiting = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'), "
                    "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                counts = self.samples.setdefault(kind, [0, 0, 0])
                counts[0] += 1
                counts[1] += active
                counts[2] += waiting

    def mean(self, kind: str) -> tuple[float, float]:
        """Mean (running, waiting on a lock) sessions during the kind's slices."""
        samples, active, waiting = self.samples.get(kind, [0, 0, 0])
        return (active / samples, waiting / samples) if samples else (0.0, 0.0)
