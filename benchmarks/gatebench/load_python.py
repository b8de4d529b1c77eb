"""The Python load client (used when wrk is not installed): one process, a thread per connection."""

from __future__ import annotations

import json
import multiprocessing
import queue
import threading
import time

from .config import (
    AUTOMATE_BODY,
    BARE_INSERT_PATH,
    BARE_OK_PATH,
    CASE_JOURNEYS,
    GATE_PATH,
    PING_PATH,
    case_body,
)
from .sampling import cpu_of


def _load_worker(base_urls, api_key, kind, caller, deadline, budget, out, lock, counter) -> None:
    """One client connection (requests.Session, keep-alive) until the deadline or the budget."""
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Api-Key {api_key}"})
    automate = json.dumps(AUTOMATE_BODY).encode()
    case = json.dumps(case_body(caller)).encode()
    json_header = {"Content-Type": "application/json"}
    expected = 202 if kind == "gate_case" else 200
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    unexpected = 0
    sent = 0
    while time.perf_counter() < deadline:
        with lock:
            if counter[0] >= budget:
                break
            counter[0] += 1
        sent += 1
        start = time.perf_counter()
        try:
            if kind == "bare_ok":
                response = session.get(base_urls["bare"] + BARE_OK_PATH, timeout=10)
            elif kind == "bare_insert":
                response = session.post(
                    base_urls["bare"] + BARE_INSERT_PATH,
                    data=automate,
                    headers=json_header,
                    timeout=10,
                )
            elif kind == "ping":
                response = session.get(base_urls["product"] + PING_PATH, timeout=10)
            else:
                body = case if kind == "gate_case" else automate
                response = session.post(
                    base_urls["product"] + GATE_PATH, data=body, headers=json_header, timeout=10
                )
            code = response.status_code
            response.content  # noqa: B018 -- read the whole body before stopping the clock
        except requests.RequestException:
            code = 0  # connection error or timeout
        latencies.append(time.perf_counter() - start)
        statuses[code] = statuses.get(code, 0) + 1
        if 200 <= code < 300 and code != expected:
            unexpected += 1
    session.close()
    with lock:
        out["latencies"].extend(latencies)
        out["unexpected"] += unexpected
        for code, n in statuses.items():
            out["statuses"][code] = out["statuses"].get(code, 0) + n


def run_load(base_urls, api_key, plan, concurrency, budget, results) -> None:
    """Entry point of the load process: runs the slices of the plan one after another.

    Each slice stops at its deadline or after `budget` requests, whichever comes first; every
    request has a 10 s timeout. Only 127.0.0.1 is ever addressed.
    """
    for kind, seconds in plan:
        out = {"latencies": [], "statuses": {}, "unexpected": 0}
        lock, counter = threading.Lock(), [0]
        start = time.perf_counter()
        callers = CASE_JOURNEYS if kind == "gate_case" else concurrency
        threads = [
            threading.Thread(
                target=_load_worker,
                args=(base_urls, api_key, kind, n, start + seconds, budget, out, lock, counter),
            )
            for n in range(callers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        out["seconds"] = time.perf_counter() - start
        results.put(out)


class PythonLoad:
    """The plan runs in one spawned process (no Django, no sockets inherited); each slice's
    figures come back over a queue, in the shape WrkLoad gives them."""

    name = "python"

    def __init__(self, base_urls: dict[str, str], api_key: str, concurrency: int, budget: int):
        self.base_urls, self.api_key = base_urls, api_key
        self.concurrency, self.budget = concurrency, budget
        self.process = None
        self.last_cpu = 0.0

    def describe(self) -> str:
        return (
            f"Python client (wrk not used): 1 separate process, {self.concurrency} keep-alive "
            "connections (requests.Session), about 1 ms of CPU per request"
        )

    def start(self, plan) -> None:
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        self.process = context.Process(
            target=run_load,
            args=(
                self.base_urls,
                self.api_key,
                plan,
                self.concurrency,
                self.budget,
                self.results,
            ),
            daemon=True,
        )
        self.process.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def cpu(self) -> float:
        """The load process's CPU so far (what it had used when last seen, once it is gone)."""
        if self.process is not None:
            used = cpu_of(self.process.pid)
            if used is not None:
                self.last_cpu = used
        return self.last_cpu

    def run_slice(self, kind: str, seconds: float) -> dict:
        try:
            out = self.results.get(timeout=seconds + 120)
        except queue.Empty:
            raise SystemExit(f"The load process did not finish its {kind} slice.") from None
        latencies = out.pop("latencies")
        out["samples"] = [(latency, 1.0) for latency in latencies]
        out["requests"] = len(latencies)
        out["in_flight"] = 0  # every request is answered or timed out before the slice ends
        return out

    def close(self) -> None:
        if self.process is not None:
            self.process.join(timeout=30)
            if self.process.is_alive():
                self.process.terminate()
