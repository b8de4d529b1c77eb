"""How fast the audit ledger verifies, and that its memory does not grow with the ledger.

    .venv/bin/python benchmarks/audit_verify.py                  # or: make bench
    .venv/bin/python benchmarks/audit_verify.py --events 1000000
    .venv/bin/python benchmarks/audit_verify.py \
        --database-url postgres://postgres@127.0.0.1:5432/hitl_audit_bench

What it does, in order:

1. migrates a throw-away database: by default a SQLite file in a temporary directory; with
   --database-url a PostgreSQL database that it creates (it must not exist) and drops after;
2. writes N/10 correctly chained events: a generator computes each hash with the ledger's own
   event_hash() and feeds a bulk insert, then the ledger head is moved to the last event;
3. verifies the ledger with verify_ledger() --repeat times (best wall time and its CPU time ->
   events/s), then once in a fresh process to read that process's peak RSS before and after
   verifying, and once under tracemalloc for the peak of Python allocations;
4. extends the same chain to N events and measures again;
5. prints both rows and checks the targets: at least 50,000 events/s, and memory at N no more
   than at N/10 (within 10 %, or 2 MiB for the RSS rise).

Exit status 0 when both verifications were OK (targets are reported, not enforced); 1 otherwise.
The machine may be shared: CPU time is printed next to wall time, and the CPU-time rate is what
the verifier itself achieves.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_EVENTS_PER_SECOND = 50_000
INSERT_BATCH = 5_000
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def payload_for(action: str, sequence: int, at: datetime.datetime) -> dict:
    """A payload shaped like the one the service writing `action` appends (see oversight/)."""
    ref = str(uuid.UUID(int=sequence))
    if action == "case.opened":
        return {
            "journey": "refunds",
            "route_reason": "trigger",
            "evaluation": ref,
            "required_level": "Senior reviewer",
            "reasons": ["confidence below 0.7", "amount above 500.00 EUR"],
            "sla_deadline": (at + datetime.timedelta(hours=4)).isoformat(),
        }
    if action == "case.claimed":
        return {"until": (at + datetime.timedelta(minutes=30)).isoformat(), "renewed": False}
    if action == "case.decided":
        return {
            "decision": ref,
            "outcome": "approve" if sequence % 4 else "reject",
            "stage": "first",
            "round": 1,
            "override": sequence % 10 == 0,
            "override_reason": "policy_exception" if sequence % 10 == 0 else None,
            "level": "Reviewer — niveau 1",
            "grant": ref,
        }
    if action == "outcome.recorded":
        return {"case": ref, "customer_effort": 2, "repeat_contact": False, "complaint": None}
    return {"case": ref, "event": "case.decided", "attempt": 1, "status_code": 204}


ACTIONS = ["case.opened", "case.claimed", "case.decided", "outcome.recorded", "webhook.delivered"]


def configure_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    # DEBUG off: with it on, Django keeps the text of every query (the inserts are large).
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "audit-verify-benchmark-" + "x" * 40)
    os.environ["DJANGO_SETTINGS_MODULE"] = "hitl_project.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --------------------------------------------------------------------------- the ledger


def chained_rows(first: int, count: int, prev_hash: str):
    """Rows for events first..first+count-1, each chained to the one before (a generator)."""
    from django.db import connection

    from audit.services.ledger import event_hash

    adapt_time = connection.ops.adapt_datetimefield_value
    for sequence in range(first, first + count):
        at = START + datetime.timedelta(milliseconds=37 * sequence)
        action = ACTIONS[sequence % len(ACTIONS)]
        fields = {
            "sequence": sequence,
            "occurred_at": at,
            "actor_type": "user" if sequence % 3 else "ai_system",
            "actor_id": str(sequence % 50),
            "actor_label": f"reviewer-{sequence % 50:02d}",
            "action": action,
            "object_type": "oversight.case",
            "object_id": str(uuid.UUID(int=sequence % 20_000)),
            "payload": json.loads(json.dumps(payload_for(action, sequence, at))),
            "prev_hash": prev_hash,
        }
        prev_hash = event_hash(**fields)
        yield (
            sequence,
            adapt_time(fields["occurred_at"]),
            fields["actor_type"],
            fields["actor_id"],
            fields["actor_label"],
            fields["action"],
            fields["object_type"],
            fields["object_id"],
            json.dumps(fields["payload"]),  # as Django's JSONField writes it
            fields["prev_hash"],
            prev_hash,
        )


def extend_ledger(to_events: int) -> float:
    """Append chained events until the ledger holds `to_events`; returns the seconds taken."""
    from django.db import connection, transaction

    from audit.models import AuditEvent, LedgerHead
    from audit.services.ledger import ledger_head

    started = time.perf_counter()
    head_sequence, head_hash = ledger_head()
    table = AuditEvent._meta.db_table
    payload = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = (
        f"INSERT INTO {table} (sequence, occurred_at, actor_type, actor_id, actor_label, action, "
        f"object_type, object_id, payload, prev_hash, hash) VALUES "
        f"(%s, %s, %s, %s, %s, %s, %s, %s, {payload}, %s, %s)"
    )
    rows = chained_rows(head_sequence + 1, to_events - head_sequence, head_hash)
    last = None
    with transaction.atomic(), connection.cursor() as cursor:
        while batch := [row for _, row in zip(range(INSERT_BATCH), rows, strict=False)]:
            cursor.executemany(sql, batch)
            last = batch[-1]
        if last is not None:
            LedgerHead.objects.update_or_create(
                singleton=1, defaults={"sequence": last[0], "hash": last[10]}
            )
    if connection.vendor == "sqlite":
        # One big transaction leaves every page in the write-ahead log; SQLite folds it back
        # into the database file after ordinary small commits, so do that here too.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


# --------------------------------------------------------------------------- measuring


def time_verification(repeat: int) -> dict:
    from audit.services.ledger import verify_ledger

    best = None
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        result = verify_ledger()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best["wall"]:
            best = {"wall": wall, "cpu": cpu, "result": result}
    return best


def traced_peak() -> int:
    from audit.services.ledger import verify_ledger

    tracemalloc.start()
    try:
        verify_ledger()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss_in_fresh_process(database_url: str) -> dict:
    """Peak RSS of a new process before and after it verifies (nothing else in it grows)."""
    output = subprocess.run(
        [sys.executable, __file__, "--verify-only", "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def verify_only() -> None:
    from audit.models import AuditEvent
    from audit.services.ledger import verify_ledger

    AuditEvent.objects.order_by("sequence").values_list("hash", flat=True).first()  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = verify_ledger()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ok": result.ok, "before_kib": before, "after_kib": after}))


def measure(events: int, database_url: str, repeat: int) -> dict:
    timing = time_verification(repeat)
    result = timing["result"]
    rss = rss_in_fresh_process(database_url)
    return {
        "events": events,
        "ok": result.ok and rss["ok"],
        "summary": result.summary(),
        "wall": timing["wall"],
        "cpu": timing["cpu"],
        "rate_wall": result.count / timing["wall"],
        "rate_cpu": result.count / timing["cpu"],
        "traced_peak": traced_peak(),
        "rss_before": rss["before_kib"],
        "rss_after": rss["after_kib"],
    }


# --------------------------------------------------------------------------- databases


def create_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            sys.exit(f"Database {name} exists: give the name of a database to create and drop.")
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(events: int, database_url: str, repeat: int) -> int:
    configure_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    rows = []
    for size in (events // 10, events):
        seconds = extend_ledger(size)
        print(f"wrote {size:,} chained events in {seconds:.1f} s", flush=True)
        rows.append(measure(size, database_url, repeat))
    connection.close()

    print()
    print(f"Audit ledger verification — {vendor}, Python {sys.version.split()[0]}, ")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")
    header = (
        f"{'events':>10} {'wall s':>7} {'cpu s':>7} {'events/s (wall)':>16} "
        f"{'events/s (cpu)':>15} {'tracemalloc peak':>17} {'RSS before→after verify':>25}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['events']:>10,} {row['wall']:>7.2f} {row['cpu']:>7.2f} "
            f"{row['rate_wall']:>16,.0f} {row['rate_cpu']:>15,.0f} "
            f"{row['traced_peak'] / 1024:>13,.0f} KiB "
            f"{row['rss_before'] / 1024:>10.1f} → {row['rss_after'] / 1024:.1f} MiB"
        )
    small, large = rows
    print()
    print(f"result at {large['events']:,}: {large['summary']}")
    rate_ok = large["rate_wall"] >= TARGET_EVENTS_PER_SECOND
    print(
        f"target >= {TARGET_EVENTS_PER_SECOND:,} events/s: "
        f"{'met' if rate_ok else 'NOT met'} on wall time ({large['rate_wall']:,.0f}), "
        f"{'met' if large['rate_cpu'] >= TARGET_EVENTS_PER_SECOND else 'NOT met'} "
        f"on CPU time ({large['rate_cpu']:,.0f})"
    )
    traced_flat = large["traced_peak"] <= small["traced_peak"] * 1.1
    rise_small = small["rss_after"] - small["rss_before"]
    rise_large = large["rss_after"] - large["rss_before"]
    rss_flat = rise_large <= max(rise_small * 1.1, rise_small + 2048)
    print(
        f"memory flat from {small['events']:,} to {large['events']:,} events: "
        f"tracemalloc peak {'yes' if traced_flat else 'NO'}, "
        f"RSS rise {rise_small / 1024:.1f} → {rise_large / 1024:.1f} MiB "
        f"{'yes' if rss_flat else 'NO'}"
    )
    return 0 if small["ok"] and large["ok"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (best kept)")
    parser.add_argument("--database-url", help="a PostgreSQL database to create and drop")
    parser.add_argument("--verify-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.verify_only:
        configure_django(args.database_url)
        verify_only()
        return 0
    if args.database_url:
        create_postgres_database(args.database_url)
        try:
            return run(args.events, args.database_url, args.repeat)
        finally:
            drop_postgres_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="hitl-audit-bench-") as directory:
        return run(args.events, f"sqlite:///{directory}/ledger.sqlite3", args.repeat)


if __name__ == "__main__":
    sys.exit(main())
