"""Throughput of POST /api/v1/gate/ against the product's ping and two bare DRF endpoints.

    .venv/bin/python benchmarks/gate.py            # or: make bench (runs every benchmark)

What it does, in order:

1. creates a throw-away PostgreSQL database (default hitl_bench on 127.0.0.1:5432), migrates it;
2. seeds an AI system, two authority levels, a refunds journey with five judgement points and
   an API key (through the real service, oversight.services.credentials.create_api_key);
3. in-process (django.test.Client + CaptureQueriesContext), counts the SQL queries of one call
   to GET /api/v1/ping/ (the trivial endpoint, the ceiling), a gate call that automates and a
   gate call routed to a person, and times each query;
4. starts two gunicorns on 127.0.0.1 with the same options (DEBUG off): the product, and the
   bare endpoints of benchmarks/bare (minimal settings, Django's default middleware, no auth:
   a DRF view answering {"ok": true} and one that INSERTs one row with one SQL statement), and
   drives them from a separate load process over keep-alive connections: a warm-up, then the
   five rows (bare view, bare insert, ping, gate that automates, gate that opens a case with
   8 callers on 8 journeys) interleaved in --rounds slices so background load hits all alike;
5. prints requests/s, p50/p99 latency, errors and CPU per request for each and the ratios of
   issue #17's targets, checks every row the answers promise was written, stops both servers
   and drops the database.

Exit status: 0 when the run completed without errors (the target is reported, not enforced),
1 on errors, 2 when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing
import os
import platform
import queue
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hitl_bench"
RUN_LOCK = 0x6761746562656E63  # pg advisory lock key ("gatebenc")
OTHER_CPU_WARNING = 10  # % of the machine's CPU used outside the benchmark's processes
HOST = "127.0.0.1"
PING_PATH = "/api/v1/ping/"
GATE_PATH = "/api/v1/gate/"
BARE_OK_PATH = "/bare/ok/"  # benchmarks/bare: the floor, outside the product
BARE_INSERT_PATH = "/bare/insert/"
BARE_TABLE = "bench_bare_row"
START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

# A refund the journey lets through: confident, calm, small, reversible, context complete, and
# a proposal without personal data (the PII judge still reads it).
AUTOMATE_BODY = {
    "journey": "refunds",
    "action": {"type": "refund", "amount": "40.00", "currency": "EUR", "irreversible": False},
    "signals": {
        "confidence": 0.93,
        "sentiment": 0.1,
        "identity_mismatch": False,
        "recent_fraud_attempts": 0,
    },
    "context": {"order_id": "A-10023", "customer_tier": "gold"},
    "proposal": {"reply": "Your refund of 40.00 EUR for order A-10023 is on its way."},
    "subject_ref": "cust-4821",
}
# The same call with low confidence and a large amount: two points fire, a case is opened.
HUMAN_BODY = {
    **AUTOMATE_BODY,
    "action": {"type": "refund", "amount": "620.00", "currency": "EUR", "irreversible": False},
    "signals": {**AUTOMATE_BODY["signals"], "confidence": 0.58},
}
CASE_JOURNEYS = 8  # the case-opening row: one journey per concurrent caller


def case_body(caller: int) -> dict:
    """A call that opens a case on journey cases-<n>, n from the caller's number."""
    return {**HUMAN_BODY, "journey": f"cases-{caller % CASE_JOURNEYS + 1}"}


# --------------------------------------------------------------------------- database


def _with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def _dbname(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit(f"--database-url {url!r} names no database.")
    return name


def _admin_connect(url: str):
    import psycopg

    try:
        return psycopg.connect(_with_dbname(url, "postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        parts = urlsplit(url)
        print(
            f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} "
            f"({str(exc).strip().splitlines()[0]}).\n"
            f"Start it, e.g.:  {START_HINT}\n"
            "or point --database-url (or BENCH_DATABASE_URL) at a server where the user may "
            "create databases.",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def hold_run_lock(url: str, wait_seconds: float):
    """One benchmark run at a time per PostgreSQL server: a second run would drop the first
    one's database and share its CPUs. Returns the connection that holds the lock."""
    conn = _admin_connect(url)
    deadline = time.monotonic() + wait_seconds
    announced = False
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK]).fetchone()[0]:
        if time.monotonic() > deadline:
            conn.close()
            raise SystemExit("Another benchmarks/gate.py run is still going; try again later.")
        if not announced:
            print("Another benchmarks/gate.py run is going; waiting for it to finish …")
            announced = True
        time.sleep(2)
    return conn


def create_database(url: str, *, force: bool) -> str:
    """Create the throw-away database (dropping a leftover one); returns the server version."""
    from psycopg import sql

    name = _dbname(url)
    with _admin_connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            if "bench" not in name and not force:
                raise SystemExit(
                    f"Database {name!r} exists and does not look like a benchmark database; "
                    "refusing to drop it. Name another one, or pass --force."
                )
            print(f"Dropping leftover database {name!r}.")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return version


def drop_database(url: str) -> None:
    from psycopg import sql

    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_dbname(url)))
        )


def server_env(database_url: str) -> dict[str, str]:
    """Production-like settings for every Django process of the run (this one included)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="hitl_project.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="bench-" + secrets.token_urlsafe(40),
        # Required with DEBUG off (audit.E002): a throw-away ledger signing key.
        LEDGER_SIGNING_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
        # Required with DEBUG off (oversight.E010); no report is signed during the run.
        REPORT_SIGNING_GENERATE_DEV_CERT="1",
        REPORT_SIGNING_DEV_DIR=str(Path(tempfile.gettempdir()) / "hitl-bench-report-signing"),
    )
    return env


def bare_env(env: dict[str, str]) -> dict[str, str]:
    """The bare endpoints' server (benchmarks/bare): same database and secret, own settings."""
    paths = [str(ROOT / "benchmarks"), str(ROOT), env.get("PYTHONPATH", "")]
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "bare.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, paths)),
    }


def create_bare_table() -> None:
    """The table the bare INSERT view writes to: an id, a time and the body, like a small log."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, "
            "created_at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)"
        )


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit("manage.py migrate failed against the benchmark database.")


# --------------------------------------------------------------------------- Django, in-process


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed() -> str:
    """The journey under test; returns the plain API key."""
    from audit.services.ledger import Actor
    from oversight.models import AISystem, AuthorityLevel, Journey, JudgementPoint, TriggerCondition
    from oversight.services.credentials import create_api_key

    system = AISystem.objects.create(
        slug="support-assistant",
        name="Support assistant",
        provider="Benchmark",
        intended_purpose="Answers customer questions and proposes refunds.",
    )
    reviewer = AuthorityLevel.objects.create(name="Reviewer", rank=1)
    lead = AuthorityLevel.objects.create(
        name="Team lead", rank=2, may_override=True, may_approve_irreversible=True
    )
    journey = Journey.objects.create(
        ai_system=system,
        slug="refunds",
        name="Refunds",
        required_context_keys=["order_id", "customer_tier"],
        automation_state="running",  # live: new journeys start in shadow
    )
    points = [
        # slug, name, level, combinator, conditions (signal, operator, value)
        ("low-confidence", "Low confidence", reviewer, "any", [("confidence", "lt", 0.7)]),
        ("irreversible-action", "Irreversible action", lead, "any", [("irreversible", "is_true")]),
        ("high-amount", "High amount", lead, "any", [("amount", "gt", 500)]),
        ("upset-customer", "Upset customer", reviewer, "any", [("sentiment", "lt", -0.5)]),
        (
            "identity-fraud",
            "Identity mismatch with recent fraud",
            lead,
            "all",
            [("identity_mismatch", "is_true"), ("recent_fraud_attempts", "gte", 1)],
        ),
    ]
    for slug, name, level, combinator, conditions in points:
        point = JudgementPoint.objects.create(
            journey=journey,
            slug=slug,
            name=name,
            required_level=level,
            combinator=combinator,
            four_eyes=slug == "identity-fraud",
        )
        for position, (signal_name, operator, *value) in enumerate(conditions):
            TriggerCondition.objects.create(
                judgement_point=point,
                signal=signal_name,
                operator=operator,
                value=value[0] if value else None,
                position=position,
            )
    # Eight journeys for the case-opening row: one per concurrent caller, each routing every
    # call to a person, so the callers contend only on what all case openings share.
    for number in range(1, CASE_JOURNEYS + 1):
        case_journey = Journey.objects.create(
            ai_system=system,
            slug=f"cases-{number}",
            name=f"Cases {number}",
            automation_state="running",  # live: the low-confidence point opens the cases
        )
        point = JudgementPoint.objects.create(
            journey=case_journey,
            slug="low-confidence",
            name="Low confidence",
            required_level=reviewer,
        )
        TriggerCondition.objects.create(
            judgement_point=point, signal="confidence", operator="lt", value=0.7, position=0
        )
    _, plain = create_api_key(ai_system=system, name="benchmark", actor=Actor.system("benchmark"))
    return plain


class _QueryTimer:
    """connection.execute_wrapper: wall time of every statement sent through a cursor."""

    def __init__(self):
        self.calls: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, time.perf_counter() - start))


# Transaction control is logged by CaptureQueriesContext but bypasses execute wrappers.
_NOT_WRAPPED = ("BEGIN", "COMMIT", "ROLLBACK")


def _short_sql(sql: str) -> str:
    sql = " ".join(sql.split())
    if '"oversight_aisystemapikey" k ' in sql:  # oversight.api.key_lookup
        with_journey = '"oversight_journey" j ' in sql
        return "SELECT … key, AI system" + (", journey + rules stamp (one read)" * with_journey)
    head = sql.split(" WHERE ")[0]
    if head.startswith("SELECT "):
        return "SELECT … " + head[head.find(" FROM ") + 1 :][:62]
    return head[:71]


def measure_in_process(api_key: str, calls: int) -> tuple[dict, dict[str, int]]:
    """Queries per call (exact) and the time of each (mean over `calls` calls); also returns
    how many gate evaluations and cases these calls created."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    senders = {
        "ping": (200, lambda: client.get(PING_PATH)),
        "gate_automate": (200, lambda: client.post(GATE_PATH, AUTOMATE_BODY, "application/json")),
        "gate_human": (202, lambda: client.post(GATE_PATH, HUMAN_BODY, "application/json")),
        "gate_case": (202, lambda: client.post(GATE_PATH, case_body(0), "application/json")),
        "gate_idempotent": (
            200,
            lambda: client.post(
                GATE_PATH,
                AUTOMATE_BODY,
                "application/json",
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ),
        ),
    }
    result = {}
    for name, (expected, send) in senders.items():
        send()  # warm caches (URL resolver, serializers) before counting
        with CaptureQueriesContext(connection) as captured:
            response = send()
        # Read now: the next request's request_started signal empties the connection's log.
        sqls = [_short_sql(q["sql"]) for q in captured.captured_queries]
        if response.status_code != expected:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:500]!r}")
        timer = _QueryTimer()
        with connection.execute_wrapper(timer):
            start = time.perf_counter()
            for _ in range(calls):
                send()
            elapsed = time.perf_counter() - start
        wrapped = [i for i, sql in enumerate(sqls) if sql not in _NOT_WRAPPED]
        per_query: list[float | None] = [None] * len(sqls)
        if len(timer.calls) == calls * len(wrapped):  # same statements every call: by position
            for slot, index in enumerate(wrapped):
                samples = [t for _, t in timer.calls[slot :: len(wrapped)]]
                per_query[index] = statistics.fmean(samples) * 1000
        result[name] = {
            "queries": len(sqls),
            "sql": sqls,
            "ms_per_call": elapsed / calls * 1000,
            "db_ms_per_call": sum(t for _, t in timer.calls) / calls * 1000,
            "per_query_ms": per_query,
        }
    connection.close()
    made = {"evaluations": 4 * (calls + 2), "cases": 2 * (calls + 2)}  # 4 gate senders, 2 cases
    return result, made


def profile_gate(api_key: str, calls: int) -> int:
    """--profile: cProfile of in-process gate calls that automate, by cumulative time."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    client.post(GATE_PATH, AUTOMATE_BODY, "application/json")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        client.post(GATE_PATH, AUTOMATE_BODY, "application/json")
    profiler.disable()
    connection.close()
    print(f"\ncProfile of {calls} in-process gate calls (automate), by cumulative time:")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative")
    stats.print_stats(r"views|authentication|idempotency|serializers|gate|triggers|pii|query", 30)
    return calls + 1  # gate evaluations created


def count_rows() -> dict[str, int]:
    from django.db import connection

    from oversight.models import Case, GateEvaluation

    counts = {"evaluations": GateEvaluation.objects.count(), "cases": Case.objects.count()}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {BARE_TABLE}")  # noqa: S608 - a constant
        counts["bare_rows"] = cursor.fetchone()[0]
    connection.close()
    return counts


# --------------------------------------------------------------------------- server


def free_port(wanted: int = 0) -> int:
    """`wanted` if it is free (0: any free port)."""
    with socket.socket() as sock:
        sock.bind((HOST, wanted))
        return sock.getsockname()[1]


def _gunicorn_help() -> str:
    done = subprocess.run(
        [str(BIN / "gunicorn"), "--help"], capture_output=True, text=True, check=False
    )
    return done.stdout


def start_gunicorn(
    env, port, *, workers, threads, log_path, app="hitl_project.wsgi:application"
) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--timeout",
        "60",
        "--error-logfile",
        str(log_path),
    ]
    if "--no-control-socket" in _gunicorn_help():  # gunicorn >= 24: not a shared ~/.gunicorn
        command.append("--no-control-socket")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True
    )


def wait_until_ready(
    proc: subprocess.Popen, port: int, api_key: str, log_path: Path, path: str = PING_PATH
) -> None:
    import requests

    deadline = time.monotonic() + 60
    url = f"http://{HOST}:{port}{path}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}):\n{log_path.read_text()}")
        try:
            response = requests.get(
                url, headers={"Authorization": f"Api-Key {api_key}"}, timeout=10
            )
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            return
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:500]}")
    raise SystemExit(f"gunicorn did not answer within 60 s:\n{log_path.read_text()}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the master and its workers only
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# --------------------------------------------------------------------------- load (own process)


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


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def _cpu_of(pid: int) -> float | None:
    """User+system CPU seconds of one process (all its threads) so far; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class CpuMeter:
    """CPU used by gunicorn, PostgreSQL and the load process, and by the machine as a whole.

    PostgreSQL means this database's backends plus the server's background processes, not other
    databases' sessions. Process lists are refreshed at every reading, so a backend opened
    between two readings counts in full and one that exits keeps what it had used when last
    seen.
    """

    GROUPS = ("gunicorn", "postgres", "load")

    def __init__(self, server_pids: list[int], loader_pid: int, database_url: str):
        self.server_pids, self.loader_pid, self.database_url = server_pids, loader_pid, database_url
        self.seen: dict[int, tuple[str, float]] = {}

    def _pids(self) -> dict[str, list[int]]:
        servers = list(self.server_pids)
        for pid in self.server_pids:
            children = Path(f"/proc/{pid}/task/{pid}/children")
            servers += [int(p) for p in children.read_text().split()] if children.exists() else []
        with _admin_connect(self.database_url) as conn:
            postgres = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = %s OR backend_type <> 'client backend'",
                    [_dbname(self.database_url)],
                )
            ]
        return {
            "gunicorn": servers,
            "postgres": postgres,
            "load": [self.loader_pid],
        }

    def read(self) -> dict[str, float]:
        for group, pids in self._pids().items():
            for pid in pids:
                used = _cpu_of(pid)
                if used is not None:
                    self.seen[pid] = (group, used)
        reading = dict.fromkeys(self.GROUPS, 0.0)
        for group, used in self.seen.values():
            reading[group] += used
        for entry in Path("/proc").iterdir():  # everything else, to name what competed
            pid = int(entry.name) if entry.name.isdigit() else None
            if pid is not None and pid not in self.seen and pid != os.getpid():
                used = _cpu_of(pid)
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


def drive(
    server_pids: list[int], base_urls: dict[str, str], api_key: str, args
) -> tuple[dict, dict[str, int]]:
    """Warm up, then run the interleaved slices from a separate process; returns the figures
    per endpoint and how many gate evaluations and cases the server's answers promise."""
    slice_seconds = args.seconds / args.rounds
    plan = [(kind, args.warmup) for kind in KINDS]
    plan += [(kind, slice_seconds) for _ in range(args.rounds) for kind in KINDS]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no Django, no sockets
    results = context.Queue()
    loader = context.Process(
        target=run_load,
        args=(base_urls, api_key, plan, args.concurrency, args.max_requests, results),
        daemon=True,
    )
    print(
        f"Load: {args.warmup:g} s warm-up per endpoint, then {args.rounds} rounds of "
        f"{slice_seconds:.3g} s per endpoint, {args.concurrency} connections "
        f"({CASE_JOURNEYS} callers on {CASE_JOURNEYS} journeys for the cases) …",
        flush=True,
    )
    loader.start()
    sampler = LockSampler(args.database_url)
    try:
        meter = CpuMeter(server_pids, loader.pid, args.database_url)
        previous = meter.read()
        totals = {
            kind: {"latencies": [], "statuses": {}, "unexpected": 0, "seconds": 0.0, "cpu": {}}
            for kind in KINDS
        }
        answered = {"evaluations": 0, "cases": 0, "bare_rows": 0}  # what must have been written
        sampler.start()
        for index, (kind, seconds) in enumerate(plan):
            sampler.kind = kind if index >= len(KINDS) else None
            try:
                out = results.get(timeout=seconds + 120)
            except queue.Empty:
                raise SystemExit(f"The load process did not finish its {kind} slice.") from None
            reading = meter.read()
            used = {name: reading[name] - previous[name] for name in reading if name in previous}
            previous = reading
            answered_ok = sum(n for code, n in out["statuses"].items() if 200 <= code < 300)
            if kind.startswith("gate"):
                answered["evaluations"] += answered_ok
                answered["cases"] += out["statuses"].get(202, 0)
            elif kind == "bare_insert":
                answered["bare_rows"] += answered_ok
            if index < len(KINDS):  # warm-up: not counted
                continue
            total = totals[kind]
            total["latencies"].extend(out["latencies"])
            total["unexpected"] += out["unexpected"]
            total["seconds"] += out["seconds"]
            for code, n in out["statuses"].items():
                total["statuses"][code] = total["statuses"].get(code, 0) + n
            for name, value in used.items():
                total["cpu"][name] = total["cpu"].get(name, 0.0) + value
            ok = sum(n for code, n in out["statuses"].items() if 200 <= code < 300)
            print(f"  {kind:<14} {ok / out['seconds']:6.0f} req/s", flush=True)
        loader.join(timeout=30)
    finally:
        sampler.done.set()
        if loader.is_alive():
            loader.terminate()
    summaries = {kind: _summarise(total) for kind, total in totals.items()}
    for kind, summary in summaries.items():
        summary["sessions"] = sampler.mean(kind)
    return summaries, answered


def _summarise(total: dict) -> dict:
    latencies = sorted(total["latencies"])
    ok = sum(n for code, n in total["statuses"].items() if 200 <= code < 300)
    cpu = total["cpu"]
    per_ok = {name: cpu[name] / max(ok, 1) * 1000 for name in ("gunicorn", "postgres", "load")}
    others = cpu["machine_busy"] - sum(cpu[name] for name in ("gunicorn", "postgres", "load"))
    competitors: dict[str, float] = {}
    for name, used in cpu.items():
        if name.startswith("other:"):
            comm = name.split(":", 2)[2]
            competitors[comm] = competitors.get(comm, 0.0) + used
    return {
        "requests": len(latencies),
        "rps": ok / total["seconds"] if total["seconds"] else 0.0,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "errors": len(latencies) - ok,
        "unexpected": total["unexpected"],
        "statuses": dict(sorted(total["statuses"].items())),
        "cpu_ms": per_ok,
        "busy_pct": 100 * cpu["machine_busy"] / max(cpu["machine_total"], 1e-9),
        # CPU that none of the three took: kernel work on their behalf, and anything else
        # running on the machine (another test run, say).
        "other_pct": 100 * max(others, 0.0) / max(cpu["machine_total"], 1e-9),
        "competitors": {
            comm: 100 * used / max(cpu["machine_total"], 1e-9)
            for comm, used in sorted(competitors.items(), key=lambda item: -item[1])[:3]
            if used > 0
        },
    }


# --------------------------------------------------------------------------- report

KINDS = ("bare_ok", "bare_insert", "ping", "gate_automate", "gate_case")
LABELS = {
    "bare_ok": "GET  bare DRF {ok: true}",
    "bare_insert": "POST bare DRF, one INSERT",
    "ping": "GET  /api/v1/ping/",
    "gate_automate": "POST /api/v1/gate/ automate",
    "gate_case": "POST /api/v1/gate/ opens case",
}
# (numerator, denominator, target): the targets (#17), as throughput ratios.
TARGETS = (
    ("ping", "bare_ok", 0.5),
    ("gate_automate", "ping", 0.5),
    ("gate_automate", "bare_insert", 0.5),
    ("gate_case", "bare_insert", 0.25),
)


def machine_facts(pg_version: str, args, load_before) -> list[tuple[str, str]]:
    import django
    import gunicorn

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    worker_class = f"gthread × {args.threads} threads" if args.threads > 1 else "sync"
    load = " ".join(f"{x:.2f}" for x in load_before)
    return [
        ("machine", f"{os.cpu_count()} CPUs, {cpu}; load average before the run {load}"),
        (
            "software",
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"PostgreSQL {pg_version}, gunicorn {gunicorn.__version__}",
        ),
        (
            "server",
            f"gunicorn {args.workers} workers ({worker_class}), DEBUG=0, "
            f"127.0.0.1, DB on 127.0.0.1 over TCP",
        ),
        (
            "load",
            f"1 separate process, {args.concurrency} keep-alive connections "
            f"(requests.Session), {args.seconds:g} s per endpoint in {args.rounds} rounds",
        ),
    ]


def print_report(facts, queries, measured, rows, expected) -> None:
    print()
    print("Gate throughput benchmark (benchmarks/gate.py)")
    for label, value in facts:
        print(f"  {label:<9} {value}")
    print()
    print("SQL per call, in-process (django.test.Client + CaptureQueriesContext):")
    labels = {
        "ping": "GET  /api/v1/ping/",
        "gate_automate": "POST /api/v1/gate/ → automate",
        "gate_human": "POST /api/v1/gate/ → person",
        "gate_case": "… → person, one-point journey",
        "gate_idempotent": "… → automate, Idempotency-Key",
    }
    for name, label in labels.items():
        q = queries[name]
        print(
            f"  {label:<31}{q['queries']:>3} queries  {q['ms_per_call']:6.2f} ms per call, "
            f"{q['db_ms_per_call']:5.2f} ms of it in statements"
        )
    for name in ("gate_automate", "gate_human"):
        print(f"  {labels[name]} (mean ms per statement):")
        for number, (sql, ms) in enumerate(
            zip(queries[name]["sql"], queries[name]["per_query_ms"], strict=True), 1
        ):
            timing = f"{ms:5.2f}" if ms is not None else "    –"
            print(f"    {number:>2}. {timing}  {sql}")
    print()
    print("Through gunicorn, from the load process (errors = non-2xx or no answer):")
    print(
        f"  {'':<31}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'requests':>9}"
        f"   CPU ms per request: gunicorn postgres load"
    )
    for kind in KINDS:
        m = measured[kind]
        print(
            f"  {LABELS[kind]:<31}{m['rps']:>7.0f}{m['p50_ms']:>8.1f}{m['p99_ms']:>8.1f}"
            f"{m['errors']:>7}{m['requests']:>9}{'':>23}{m['cpu_ms']['gunicorn']:>8.2f}"
            f"{m['cpu_ms']['postgres']:>9.2f}{m['cpu_ms']['load']:>5.2f}"
        )
    busy = ", ".join(f"{measured[k]['busy_pct']:.0f}%" for k in KINDS)
    other = ", ".join(f"{measured[k]['other_pct']:.0f}%" for k in KINDS)
    print(f"  machine CPU busy during each: {busy}; of it outside these processes: {other}")
    sessions = ", ".join(
        f"{measured[k]['sessions'][0]:.1f} ({measured[k]['sessions'][1]:.1f})" for k in KINDS
    )
    print(
        f"  database sessions running a statement, mean of 20 ms samples (of them waiting on a "
        f"lock): {sessions}"
    )
    worst = max(KINDS, key=lambda k: measured[k]["other_pct"])
    if measured[worst]["other_pct"] > OTHER_CPU_WARNING:
        names = ", ".join(f"{c} {pct:.0f}%" for c, pct in measured[worst]["competitors"].items())
        print(
            f"  WARNING: up to {measured[worst]['other_pct']:.0f}% of the machine's CPU went to "
            f"other work during the run ({names or 'kernel'}): the figures are low and noisy; "
            "rerun on a quiet machine."
        )
    print()
    print("Ratios of throughput in this run (the issue's targets):")
    for top, bottom, target in TARGETS:
        ratio = measured[top]["rps"] / measured[bottom]["rps"] if measured[bottom]["rps"] else 0.0
        cpu = {
            k: measured[k]["cpu_ms"]["gunicorn"] + measured[k]["cpu_ms"]["postgres"]
            for k in (top, bottom)
        }
        verdict = "met" if ratio >= target else "NOT met"
        print(
            f"  {LABELS[top].strip():<30} / {LABELS[bottom].strip():<30} {ratio:5.2f} "
            f"(target >= {target}: {verdict}); server CPU per call {cpu[top]:.1f} vs "
            f"{cpu[bottom]:.1f} ms"
        )
    checks = [
        f"{rows[name]} {label} (expected {expected[name]}: "
        f"{'ok' if rows[name] == expected[name] else 'MISMATCH'})"
        for name, label in (
            ("evaluations", "gate evaluations"),
            ("cases", "cases"),
            ("bare_rows", "bare rows"),
        )
    ]
    print(f"  rows written in the whole run: {'; '.join(checks)}")
    for kind in KINDS:
        m = measured[kind]
        if m["errors"] or m["unexpected"]:
            print(
                f"  {kind}: {m['errors']} errors, {m['unexpected']} answers with the wrong route; "
                f"HTTP statuses {m['statuses']} (0 = no answer)"
            )


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="throw-away database to create, use and drop (default: $BENCH_DATABASE_URL or "
        f"{DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved slices per endpoint")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections")
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
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--force", action="store_true", help="drop an existing database even if not *bench*"
    )
    args = parser.parse_args(argv)
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
    try:
        env = server_env(args.database_url)
        print(f"Migrating {_dbname(args.database_url)} …", flush=True)
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
            env, port, workers=args.workers, threads=args.threads, log_path=log_path
        )
        wait_until_ready(server, port, api_key, log_path)
        bare_port = free_port(args.port + 1 if args.port else 0)
        bare = start_gunicorn(
            bare_env(env),
            bare_port,
            workers=args.workers,
            threads=args.threads,
            log_path=log_path,
            app="bare.wsgi:application",
        )
        try:
            wait_until_ready(bare, bare_port, api_key, log_path, path=BARE_OK_PATH)
            base_urls = {"product": f"http://{HOST}:{port}", "bare": f"http://{HOST}:{bare_port}"}
            measured, answered = drive([server.pid, bare.pid], base_urls, api_key, args)
        finally:
            stop(bare)
        stop(server)
        server = None
        rows = count_rows()
        expected = {name: expected[name] + answered[name] for name in expected}
        print_report(
            machine_facts(pg_version, args, load_before), queries, measured, rows, expected
        )
        failed = any(m["errors"] or m["unexpected"] for m in measured.values())
        return 1 if failed or any(rows[name] != expected[name] for name in expected) else 0
    finally:
        if server is not None:
            stop(server)
            with contextlib.suppress(OSError):
                print(log_path.read_text()[-4000:], file=sys.stderr)
        log_path.unlink(missing_ok=True)
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


if __name__ == "__main__":
    sys.exit(main())
