"""What django-prometheus costs the gate: POST /api/v1/gate/ with and without its parts.

    .venv/bin/python benchmarks/metrics_overhead.py
    .venv/bin/python benchmarks/metrics_overhead.py --database-url postgres://…/hitl_ops_bench2

What it does, in order:

1. creates a throw-away PostgreSQL database (its name must contain "bench"), migrates it and
   seeds the scale-out run's journey and API key (benchmarks/scale_out.py);
2. runs --rounds rounds; each round runs, in fresh processes and in turn, four variants of
   --calls gate calls through Django's test client (in-process: no network, no gunicorn, so
   the difference is the instrumentation alone): with or without django-prometheus's two
   middlewares, and with Django's PostgreSQL backend or django-prometheus's counting one
   (METRICS_DATABASE); each round starts with a different variant;
3. prints, per variant, the median over rounds of each round's median and p90 milliseconds
   per call, and the difference to the variant without either; then drops the database.

Exit status 0; 2 when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The gate benchmark's package (benchmarks/gatebench/): its database, environment and bodies.
sys.path.insert(0, str(ROOT / "benchmarks"))
from gatebench.database import create_database, drop_database, migrate  # noqa: E402
from gatebench.in_process import setup_django  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hitl_bench_metrics_overhead"
VARIANTS = {
    "neither": {"METRICS_DATABASE": "0", "BENCH_PROMETHEUS_MIDDLEWARE": "0"},
    "middleware only": {"METRICS_DATABASE": "0", "BENCH_PROMETHEUS_MIDDLEWARE": "1"},
    "database only": {"METRICS_DATABASE": "1", "BENCH_PROMETHEUS_MIDDLEWARE": "0"},
    "both (production)": {"METRICS_DATABASE": "1", "BENCH_PROMETHEUS_MIDDLEWARE": "1"},
}


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(calls: int) -> None:
    """In a fresh process: time `calls` gate calls through the test client; print JSON."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    middleware = list(settings.MIDDLEWARE)
    if os.environ["BENCH_PROMETHEUS_MIDDLEWARE"] == "0":
        middleware = [m for m in middleware if not m.startswith("django_prometheus.")]
    from gatebench.config import AUTOMATE_BODY

    with override_settings(MIDDLEWARE=middleware, ALLOWED_HOSTS=["testserver"]):
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {os.environ['BENCH_API_KEY']}")
        body = json.dumps(AUTOMATE_BODY)
        for _ in range(30):  # warm-up: connections, caches, prepared statements
            client.post("/api/v1/gate/", body, content_type="application/json")
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            response = client.post("/api/v1/gate/", body, content_type="application/json")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:200]
    times.sort()
    print(json.dumps({"median": statistics.median(times), "p90": times[int(len(times) * 0.9)]}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.calls)
        return 0

    scale_out = load("scale_out")
    env = scale_out.environment(args.database_url, "", 0)
    env.pop("REDIS_URL")
    env["LOG_LEVEL"] = "WARNING"
    version = create_database(args.database_url, force=False)
    print(f"PostgreSQL {version}; {args.rounds} rounds of {args.calls} gate calls per variant")
    try:
        migrate(env)
        setup_django(env)
        env["BENCH_API_KEY"] = scale_out.seed()
        results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
        names = list(VARIANTS)
        for round_number in range(args.rounds):
            # A different variant goes first each round: no variant always runs last.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                variant = VARIANTS[name]
                done = subprocess.run(
                    [sys.executable, __file__, "--child", "--calls", str(args.calls)],
                    cwd=ROOT,
                    env={**env, **variant},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url)
    base = statistics.median(r["median"] for r in results["neither"])
    print()
    print(f"{'variant':<20} {'median ms':>10} {'p90 ms':>8} {'vs neither':>11}")
    for name, rounds in results.items():
        median = statistics.median(r["median"] for r in rounds)
        p90 = statistics.median(r["p90"] for r in rounds)
        print(f"{name:<20} {median:>10.2f} {p90:>8.2f} {median - base:>+10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
