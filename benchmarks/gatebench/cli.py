"""Command line: parse the options, run the benchmark in order, clean up whatever happens."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from .config import BARE_OK_PATH, BIN, DEFAULT_DATABASE_URL, HOST
from .database import (
    bare_env,
    count_rows,
    create_bare_table,
    create_database,
    dbname,
    drop_database,
    hold_run_lock,
    migrate,
    server_env,
)
from .drive import drive
from .in_process import measure_in_process, profile_gate, seed, setup_django
from .load_python import PythonLoad
from .load_wrk import WrkLoad
from .report import machine_facts, print_report, rows_match
from .sampling import cpu_of
from .servers import free_port, start_gunicorn, start_sealer, stop, wait_until_ready


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Throughput of the gate against the ping and bare DRF endpoints (issue #17)."
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="throw-away database to create, use and drop (default: $BENCH_DATABASE_URL or "
        f"{DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--seconds", type=float, default=30, help="measured seconds per endpoint (all slices)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="interleaved slices per endpoint (the rates compared are the slices' medians)",
    )
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load tool: wrk (a C client, leaves the CPU to the server), the Python client, "
        "or auto: wrk when it is on PATH (default)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="the product's server port (the bare server takes the next one); 0: any free ports",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker (1 = sync workers)"
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=100_000,
        help="end a slice after this many requests even before its time is up",
    )
    parser.add_argument(
        "--in-process-calls", type=int, default=200, help="calls timed in-process per endpoint"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also print a cProfile of N in-process gate calls (for diagnosis)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("WARNING", "INFO"),
        help="the product server's LOG_LEVEL: WARNING (default) leaves out the request log "
        "line production writes at INFO on every call (about 20 µs each)",
    )
    parser.add_argument(
        "--no-sealer",
        dest="sealer",
        action="store_false",
        help="run without the ledger sealer (manage.py seal_ledger, which make serve starts on "
        "PostgreSQL): each case opening then seals its own batch after its commit",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--force", action="store_true", help="drop an existing database even if not *bench*"
    )
    args = parser.parse_args(argv)
    if args.load == "auto":
        args.load = "wrk" if WrkLoad.available() else "python"
    elif args.load == "wrk" and not WrkLoad.available():
        parser.error("--load wrk: no wrk on PATH (Debian: apt-get install wrk)")
    if min(args.seconds, args.rounds, args.concurrency, args.workers, args.threads) <= 0:
        parser.error("--seconds, --rounds, --concurrency, --workers and --threads must be > 0")
    return args


def _exit_on_signal(signum, frame):
    # Unwinds through the finally blocks: gunicorn is stopped and the database dropped.
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    load_before = os.getloadavg()
    if not (BIN / "gunicorn").exists():
        raise SystemExit(
            f"No gunicorn next to {sys.executable}: run it with the project's virtualenv, "
            ".venv/bin/python benchmarks/gate.py (make install creates it)."
        )
    if urlsplit(args.database_url).scheme not in ("postgres", "postgresql"):
        raise SystemExit("The benchmark needs PostgreSQL: --database-url postgres://…")
    if urlsplit(args.database_url).hostname not in (HOST, "localhost", None, ""):
        print(f"Note: the database is not on this machine ({args.database_url}).")
    run_lock = hold_run_lock(args.database_url, wait_seconds=900)
    try:
        pg_version = create_database(args.database_url, force=args.force)
    except BaseException:
        run_lock.close()
        raise
    server = None
    log_path = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    # The product's workers count their metrics in prometheus_client's multiprocess mode, as
    # under hitl_project/gunicorn.conf.py (make serve): each count written to a shared file.
    metrics_dir = tempfile.TemporaryDirectory(prefix="bench-prometheus-")
    try:
        env = server_env(args.database_url)
        print(f"Migrating {dbname(args.database_url)} …", flush=True)
        migrate(env)
        setup_django(env)
        api_key = seed()
        print("Counting and timing queries in-process …", flush=True)
        queries, expected = measure_in_process(api_key, args.in_process_calls)
        if args.profile:
            expected["evaluations"] += profile_gate(api_key, args.profile)
        expected["bare_rows"] = 0
        create_bare_table()

        port = free_port(args.port)
        server = start_gunicorn(
            {**env, "LOG_LEVEL": args.log_level, "PROMETHEUS_MULTIPROC_DIR": metrics_dir.name},
            port,
            workers=args.workers,
            threads=args.threads,
            log_path=log_path,
        )
        wait_until_ready(server, port, api_key, log_path)
        server_pids, sealer = [server.pid], None
        bare_port = free_port(args.port + 1 if args.port else 0)
        bare = start_gunicorn(
            bare_env(env),
            bare_port,
            workers=args.workers,
            threads=args.threads,
            log_path=log_path,
            app="bare.wsgi:application",
        )
        server_pids.append(bare.pid)
        try:
            wait_until_ready(bare, bare_port, api_key, log_path, path=BARE_OK_PATH)
            base_urls = {"product": f"http://{HOST}:{port}", "bare": f"http://{HOST}:{bare_port}"}
            if args.load == "wrk":
                load = WrkLoad(base_urls, api_key, args.concurrency)
            else:
                load = PythonLoad(base_urls, api_key, args.concurrency, args.max_requests)
            args.load_description = load.describe()
            if args.sealer:
                sealer = start_sealer(env, log_path)
                server_pids.append(sealer.pid)  # its CPU is counted with gunicorn's
            masters = {"product": server.pid, "bare": bare.pid}
            measured, answered, in_flight = drive(server_pids, masters, load, args)
        finally:
            stop(bare)
            sealer_cpu = cpu_of(sealer.pid) if sealer is not None else None
            stop(sealer)  # SIGTERM: it seals what is pending, then exits
        stop(server)
        server = None
        rows = count_rows()
        rows["sealer_cpu"] = sealer_cpu
        expected = {name: expected[name] + answered[name] for name in expected}
        print_report(
            machine_facts(pg_version, args, load_before),
            queries,
            measured,
            rows,
            expected,
            in_flight,
        )
        failed = any(m["errors"] or m["unexpected"] for m in measured.values())
        mismatch = not all(rows_match(rows, expected, in_flight, name) for name in expected)
        return 1 if failed or mismatch else 0
    finally:
        if server is not None:
            stop(server)
            with contextlib.suppress(OSError):
                print(log_path.read_text()[-4000:], file=sys.stderr)
        log_path.unlink(missing_ok=True)
        metrics_dir.cleanup()
        if "django.db" in sys.modules:
            from django.db import connections

            with contextlib.suppress(Exception):
                connections.close_all()
        try:
            if args.keep:
                print(f"Kept the database: {args.database_url}")
            else:
                drop_database(args.database_url)
        finally:
            run_lock.close()  # releases the advisory lock
