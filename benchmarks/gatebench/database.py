"""The throw-away PostgreSQL database of a run, and the environment every process of it uses."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .config import BARE_TABLE, HOST, ROOT, RUN_LOCK, START_HINT


def _withdbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def dbname(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit(f"--database-url {url!r} names no database.")
    return name


def admin_connect(url: str):
    import psycopg

    try:
        return psycopg.connect(_withdbname(url, "postgres"), autocommit=True, connect_timeout=5)
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
    conn = admin_connect(url)
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

    name = dbname(url)
    with admin_connect(url) as conn:
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

    with admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname(url)))
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


def count_rows() -> dict[str, int]:
    from django.db import connection

    from audit.models import AuditEvent
    from oversight.models import Case, GateEvaluation

    counts = {"evaluations": GateEvaluation.objects.count(), "cases": Case.objects.count()}
    counts["events"] = AuditEvent.objects.count()
    counts["events_pending"] = AuditEvent.objects.filter(sequence__isnull=True).count()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {BARE_TABLE}")  # noqa: S608 - a constant
        counts["bare_rows"] = cursor.fetchone()[0]
    connection.close()
    return counts
