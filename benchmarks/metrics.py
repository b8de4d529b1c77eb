"""How long the oversight metrics and the dashboard take on a large PostgreSQL data set.

    .venv/bin/python benchmarks/metrics.py            # or: make bench (runs every benchmark)
    .venv/bin/python benchmarks/metrics.py --evaluations 1000000 --cases 100000

What it does, in order:

1. creates a throw-away PostgreSQL database (default hitl_metrics_bench on 127.0.0.1:5432, or
   --database-url / BENCH_DATABASE_URL; it must not exist), migrates it;
2. seeds two AI systems, six journeys, twelve judgement points, 50 reviewers through the ORM,
   then with INSERT ... SELECT FROM generate_series: N gate evaluations over 90 days (20 % to a
   person), M cases (90 % decided, 5 % sample audits, some SLA breaches), one decision per
   decided case (about one in seven an override, timed), one judgement point per case, an
   outcome for half of the decided cases and for one in twenty automated gate calls; then
   ANALYZE, and summarises the closed days of gate calls, decisions, outcomes and decided
   cases as the quarter-hourly task does, then VACUUM (ANALYZE) as autovacuum would (also
   with --reuse). Bulk SQL writes no history rows: the
   metrics never read history;
3. times each metric of oversight.metrics for the last --days days (default 90; best of
   --repeat runs), the dashboard's data and the dashboard page itself (its query count included);
4. prints a Markdown table (paste it under "Metrics" in docs/performance.md) and drops the
   database.

With --reuse the database must exist and hold a seeded data set (one kept with --keep, or a
copy of one): the run migrates it, runs the quarter-hourly summaries, skips creating, seeding
and dropping, and measures (seeding 10 M rows takes long on a small machine):

    .venv/bin/python benchmarks/metrics.py --reuse --database-url postgres://…/hitl_bench_10m

Exit status 0 when the run completed; 2 when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hitl_metrics_bench"


def admin_url(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def create_database(database_url: str) -> None:
    import psycopg

    url, name = admin_url(database_url)
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        print(f"PostgreSQL is not reachable: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def drop_database(database_url: str) -> None:
    import psycopg

    url, name = admin_url(database_url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


AUTOMATED_OUTCOMES_SQL = """
    INSERT INTO oversight_outcome (id, evaluation_id, case_id, customer_effort, repeat_contact,
        complaint, reversed, note, reported_at, reported_by_id)
    SELECT gen_random_uuid(), g.id, NULL, 1 + abs(hashtext(g.id::text)) %% 7,
        abs(hashtext(g.id::text)) %% 6 = 0, NULL, abs(hashtext(g.id::text)) %% 60 = 0, '',
        g.created_at + interval '1 day', NULL
    FROM oversight_gateevaluation AS g
    WHERE g.route = 'automate' AND abs(hashtext(g.id::text)) %% 20 = 0
"""

SEED_SQL = [
    # Gate evaluations: journey by g % 6, spread over 90 days, 20 % to a person, 2 % blocked;
    # written in the order of created_at, as the gate writes them (a day's calls in adjacent
    # pages: reading the period's partial days then reads those pages, not the whole table).
    """
    WITH j AS (
        SELECT id, ai_system_id, (row_number() OVER (ORDER BY slug)) - 1 AS n
        FROM oversight_journey
    )
    INSERT INTO oversight_gateevaluation (id, ai_system_id, journey_id, created_at, action_type,
        irreversible, amount, currency, signals, server_signals, matched, route, reasons,
        subject_ref, sampled)
    SELECT gen_random_uuid(), j.ai_system_id, j.id,
        now() - ((g %% 90) * interval '1 day') - ((g %% 86399) * interval '1 second'),
        'refund', false, NULL, '', '{"confidence": 0.8}', '{}', '[]',
        CASE WHEN g %% 50 = 0 THEN 'blocked' WHEN g %% 5 = 0 THEN 'human' ELSE 'automate' END,
        '[]', 'cust-' || (g %% 50000), false
    FROM generate_series(1, %(evaluations)s) AS g JOIN j ON j.n = g %% 6
    ORDER BY 4
    """,
    # Cases: 90 % decided after 1 to 120 minutes; every 20th a sample audit; every 30th breached.
    """
    WITH j AS (
        SELECT id, (row_number() OVER (ORDER BY slug)) - 1 AS n FROM oversight_journey
    )
    INSERT INTO oversight_case (id, journey_id, evaluation_id, route_reason, status, priority,
        required_level_id, four_eyes, context, proposal, action_type, irreversible, amount,
        currency, confidence, confidence_reasons, options, subject_ref, callback_url,
        sla_deadline, sla_breached_at, claimed_by_id, claimed_at, claim_expires_at,
        review_round, escalation_note, opened_at, updated_at, decided_at)
    SELECT gen_random_uuid(), j.id, NULL,
        CASE WHEN g %% 20 = 0 THEN 'sample_audit' ELSE 'trigger' END,
        CASE WHEN g %% 10 = 0 THEN 'open' ELSE 'decided' END,
        2, %(level)s, false, '{}', '{}', 'refund', false, 40.00, 'EUR',
        (g %% 100) / 100.0, '[]', '[]', 'cust-' || (g %% 50000), '',
        opened + interval '4 hours',
        CASE WHEN g %% 30 = 0 THEN opened + interval '4 hours' END,
        NULL, NULL, NULL, 1, '', opened, opened,
        CASE WHEN g %% 10 <> 0 THEN opened + ((1 + g %% 120) * interval '1 minute') END
    FROM generate_series(1, %(cases)s) AS g
    JOIN j ON j.n = g %% 6
    CROSS JOIN LATERAL (
        SELECT now() - ((g %% 90) * interval '1 day') - interval '3 hours' AS opened
    ) AS t
    """,
    # One decision per decided case; about one in seven live decisions overrides the AI.
    """
    WITH r AS (
        SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS n FROM auth_user
        WHERE username LIKE 'bench-reviewer-%%'
    ), c AS (
        SELECT id, route_reason, decided_at, (row_number() OVER (ORDER BY id)) AS g
        FROM oversight_case WHERE status = 'decided'
    )
    INSERT INTO oversight_decision (id, case_id, review_round, stage, reviewer_id, outcome,
        final_action, is_override, override_reason_id, rationale, authority_level_id, grant_id,
        time_spent_seconds, decided_at)
    SELECT gen_random_uuid(), c.id, 1, 'first', r.id,
        CASE
            WHEN c.route_reason = 'sample_audit' THEN
                CASE WHEN c.g %% 4 = 0 THEN 'disagree' ELSE 'agree' END
            WHEN c.g %% 7 = 0 THEN 'modify'
            WHEN c.g %% 11 = 0 THEN 'escalate'
            ELSE 'approve'
        END,
        NULL,
        c.route_reason <> 'sample_audit' AND c.g %% 7 = 0,
        CASE WHEN c.route_reason <> 'sample_audit' AND c.g %% 7 = 0 THEN %(reason)s END,
        CASE WHEN c.route_reason <> 'sample_audit' AND c.g %% 7 = 0 THEN 'Policy.' ELSE '' END,
        %(level)s, NULL, 20 + c.g %% 400, c.decided_at
    FROM c JOIN r ON r.n = c.g %% 50
    """,
    """
    WITH p AS (
        SELECT id, journey_id, (row_number() OVER (PARTITION BY journey_id ORDER BY slug)) - 1
            AS n
        FROM oversight_judgementpoint
    )
    INSERT INTO oversight_case_judgement_points (case_id, judgementpoint_id)
    SELECT c.id, p.id FROM oversight_case AS c
    JOIN p ON p.journey_id = c.journey_id AND p.n = abs(hashtext(c.id::text)) %% 2
    """,
    """
    INSERT INTO oversight_outcome (id, evaluation_id, case_id, customer_effort, repeat_contact,
        complaint, reversed, note, reported_at, reported_by_id)
    SELECT gen_random_uuid(), NULL, c.id, 1 + abs(hashtext(c.id::text)) %% 7,
        abs(hashtext(c.id::text)) %% 5 = 0, NULL, abs(hashtext(c.id::text)) %% 40 = 0, '',
        c.decided_at + interval '1 day', NULL
    FROM oversight_case AS c
    WHERE c.status = 'decided' AND abs(hashtext(c.id::text)) %% 2 = 0
    """,
    # Outcomes of automated gate calls (no case): one in twenty, a day later.
    AUTOMATED_OUTCOMES_SQL,
]


def seed(evaluations: int, cases: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from oversight.models import AISystem, AuthorityLevel, Journey, JudgementPoint, OverrideReason

    level = AuthorityLevel.objects.create(name="Reviewer", rank=1, may_override=True)
    reason = OverrideReason.objects.create(code="policy", label="Policy")
    for s in range(2):
        system = AISystem.objects.create(
            slug=f"system-{s}", name=f"System {s}", provider="Bench", intended_purpose="Bench"
        )
        for j in range(3):
            journey = Journey.objects.create(
                ai_system=system,
                slug=f"journey-{s}-{j}",
                name=f"Journey {s}-{j}",
                automation_state="running",  # live: new journeys start in shadow
            )
            for p in range(2):
                JudgementPoint.objects.create(
                    journey=journey, slug=f"point-{p}", name=f"Point {p}", required_level=level
                )
    users = get_user_model()
    users.objects.bulk_create(
        [users(username=f"bench-reviewer-{n:02d}", is_staff=True) for n in range(50)]
    )
    users.objects.create_superuser("bench-admin", "bench@example.com", "bench")
    params = {
        "evaluations": evaluations,
        "cases": cases,
        "level": level.pk,
        "reason": reason.pk,
    }
    with connection.cursor() as cursor:
        for statement in SEED_SQL:
            cursor.execute(statement, params)
        cursor.execute("ANALYZE")


def settle() -> None:
    """VACUUM (ANALYZE): the state autovacuum leaves tables in soon after bulk inserts
    (PostgreSQL 13+ vacuums insert-only tables too). Its visibility map lets the decided cases
    of a period be read from an index alone, as they are on a running deployment."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def seeded_counts() -> tuple[int, int]:
    """The gate evaluations and cases of a reused database (planner estimates would do, but
    an exact count says what was measured)."""
    from oversight.models import Case, GateEvaluation

    return GateEvaluation.objects.count(), Case.objects.count()


def best_of(repeat: int, call) -> tuple[float, object]:
    best, result = None, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def measure(repeat: int, days: int) -> list[tuple[str, float, str]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from oversight import metrics
    from oversight.admin.dashboard import dashboard_context

    period = metrics.Period.last_days(days)
    rows = []

    def run(label, call, describe=lambda result: ""):
        elapsed, result = best_of(repeat, call)
        rows.append((label, elapsed, describe(result)))

    run("figures (all counts and rates)", lambda: metrics.figures(period=period))
    run(
        "breakdown (overall, per AI system, journey, day; daily summaries)",
        lambda: metrics.breakdown(period=period),
        lambda result: f"{result.overall.gate_calls:,} gate calls, {len(result.day)} days",
    )
    for dimension in metrics.DIMENSIONS:
        run(
            f"figures_by {dimension}",
            lambda d=dimension: metrics.figures_by(d, period=period),
            lambda result: f"{len(result)} groups",
        )
    run(
        "time_to_decision (median, p90)",
        lambda: metrics.time_to_decision(period=period),
        lambda r: f"{r.count} cases, median {r.median:.0f} s, p90 {r.p90:.0f} s",
    )
    run(
        "customer_effort_by_route",
        lambda: metrics.customer_effort_by_route(period=period),
        lambda r: ", ".join(f"{k} {v.median} ({v.count})" for k, v in r.items()),
    )
    run("calibration_by_confidence", lambda: metrics.calibration_by_confidence(period=period))
    run(
        "automation_bias_watch",
        lambda: metrics.automation_bias_watch(period=period),
        lambda r: f"{len(r.reviewers)} reviewers, {len(r.flagged)} flagged",
    )
    run(f"dashboard data ({days} days)", lambda: dashboard_context(days=days, ai_system=None))

    client = Client()
    client.login(username="bench-admin", password="bench")
    url = f"/admin/oversight/dashboard/?days={days}"
    client.get(url)

    def page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    run(f"dashboard page ({days} days)", page, lambda n: f"{n} queries")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--evaluations", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--days", type=int, default=90, help="the period measured: the last N days (default 90)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (to EXPLAIN queries)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use an existing, already seeded database: migrate it and run the summaries, but "
        "do not create, seed or drop it (--evaluations and --cases are ignored)",
    )
    args = parser.parse_args()

    if not args.reuse:
        create_database(args.database_url)
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hitl_project.settings",
            "DATABASE_URL": args.database_url,
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings

        settings.ALLOWED_HOSTS = ["*"]
        if args.reuse:
            evaluations, cases = seeded_counts()
            done = f"Reused {evaluations:,} gate evaluations and {cases:,} cases"
        else:
            start = time.perf_counter()
            seed(args.evaluations, args.cases)
            seeded = time.perf_counter() - start
            done = (
                f"Seeded {args.evaluations:,} gate evaluations and {args.cases:,} cases "
                f"in {seeded:.1f} s"
            )
        from oversight.services.day_summaries import KINDS, roll_up
        from oversight.services.rollups import roll_up_gate_days

        start = time.perf_counter()
        days = roll_up_gate_days()
        others = sum(roll_up(kind) for kind in KINDS)
        rolled = time.perf_counter() - start
        settle()
        print(
            f"{done}; the quarter-hourly task summarised {days} closed days of gate "
            f"calls and {others} of decisions, outcomes and decided cases in {rolled:.1f} s "
            f"(PostgreSQL, best of {args.repeat} runs below)."
        )
        print()
        print(f"| metric (last {args.days} days) | time | result |")
        print("| --- | --- | --- |")
        for label, elapsed, note in measure(args.repeat, args.days):
            print(f"| {label} | {elapsed * 1000:.0f} ms | {note} |")
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            drop_database(args.database_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
