"""CPU per call in-process, with the production settings, and optionally where it goes.

    cd benchmarks && ../.venv/bin/python -m gatebench.cpu_per_call \\
        --database-url postgres://postgres@127.0.0.1:5432/hitl_bench [--profile 300] [--bare]

Needs a database a run of benchmarks/gate.py kept (`--keep`): its journeys and bare table.
Calls go through django.test.Client (no gunicorn, no sockets), timed with the process's CPU
clock, best of --batches batches: on a shared machine the least disturbed batch is the closest
to what a call costs, and CPU time does not count waiting for PostgreSQL. `--bare` measures the
bare endpoints of benchmarks/bare instead (their own settings), the floor to compare with.
`--profile N` prints a cProfile of N calls of each endpoint, by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import pstats
import time

from .config import (
    AUTOMATE_BODY,
    BARE_INSERT_PATH,
    BARE_OK_PATH,
    CASE_JOURNEYS,
    GATE_PATH,
    HOST,
    PING_PATH,
    case_body,
)
from .database import bare_env, server_env
from .in_process import setup_django


def _product_calls():
    from django.test import Client

    from audit.services.ledger import Actor
    from oversight.models import AISystem
    from oversight.services.credentials import create_api_key

    system = AISystem.objects.get(slug="support-assistant")
    _, key = create_api_key(ai_system=system, name="cpu-per-call", actor=Actor.system("bench"))
    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Api-Key {key}")
    callers = itertools.count()
    # Every call opens a new case, on journeys cases-1..8 in turn as gate.py's callers do.
    case_bodies = [json.dumps(case_body(n)) for n in range(CASE_JOURNEYS)]
    return {
        "GET  /api/v1/ping/": (200, lambda: client.get(PING_PATH)),
        "POST /api/v1/gate/ automate": (
            200,
            lambda: client.post(GATE_PATH, AUTOMATE_BODY, "application/json"),
        ),
        "POST /api/v1/gate/ opens case": (
            202,
            lambda: client.post(
                GATE_PATH, case_bodies[next(callers) % CASE_JOURNEYS], "application/json"
            ),
        ),
    }


def statements_per_call(send) -> int:
    """The statements one call sends to the database (after the warm-up calls)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        send()
    return len(captured.captured_queries)


def _bare_calls():
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    return {
        "GET  bare DRF {ok: true}": (200, lambda: client.get(BARE_OK_PATH)),
        "POST bare DRF, one INSERT": (
            200,
            lambda: client.post(BARE_INSERT_PATH, AUTOMATE_BODY, "application/json"),
        ),
    }


def cpu_per_call(send, expected: int, calls: int, batches: int) -> float:
    """Milliseconds of this process's CPU per call, the best of `batches` batches."""
    for _ in range(20):  # warm caches (URL resolver, rules, prepared statements)
        response = send()
    if response.status_code != expected:
        raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(calls):
            send()
        best = min(best, (time.process_time() - start) / calls * 1000)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CPU per call in-process (see the docstring).")
    parser.add_argument("--database-url", required=True, help="a database gate.py --keep kept")
    parser.add_argument("--calls", type=int, default=200, help="calls per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches; the best one counts")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N calls")
    parser.add_argument(
        "--profile-filter",
        default="middleware|views|authentication|key_lookup|renderers|negotiation|request_log"
        "|gate|serializ|plain_gate|idempotency|csp|security|response",
        help="regular expression of the profile's functions to print",
    )
    parser.add_argument("--bare", action="store_true", help="the bare endpoints instead")
    parser.add_argument("--only", default="", help="only the endpoints whose label contains this")
    args = parser.parse_args(argv)
    env = server_env(args.database_url)
    setup_django(bare_env(env) if args.bare else env)
    calls = (_bare_calls if args.bare else _product_calls)()
    calls = {label: call for label, call in calls.items() if args.only in label}
    for label, (expected, send) in calls.items():
        ms = cpu_per_call(send, expected, args.calls, args.batches)
        print(
            f"{label:<31} {ms:6.3f} ms CPU per call (best of {args.batches} × {args.calls}),"
            f" {statements_per_call(send)} statements"
        )
    for label, (_, send) in calls.items() if args.profile else ():
        profiler = cProfile.Profile(time.process_time)  # CPU, not waits for PostgreSQL
        profiler.enable()
        for _ in range(args.profile):
            send()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.profile_filter, 45)
        print(f"\ncProfile of {args.profile} calls of {label}, by cumulative time:")
        print(out.getvalue()[-12000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
