"""How long the PDF reports take, and how much memory, on a large PostgreSQL data set.

    .venv/bin/python benchmarks/reports.py            # or: make bench (runs every benchmark)
    .venv/bin/python benchmarks/reports.py --evaluations 1000000 --cases 100000 --keep

What it does, in order:

1. creates a throw-away PostgreSQL database (default hitl_reports_bench on 127.0.0.1:5432, or
   --database-url / BENCH_DATABASE_URL; it must not exist) and migrates it, with
   benchmarks/metrics.py's own functions;
2. seeds it with metrics.py's `seed()` (N gate evaluations over 90 days, M cases with their
   decisions, judgement points and outcomes; see that file), then moves the second AI system's
   three journeys and their gate evaluations to the first, so one AI system holds the whole
   data set, ANALYZEs and summarises the closed days of gate calls as the quarter-hourly task
   does;
3. issues the oversight report of that AI system over the seeded days in a child process,
   through `oversight.services.reports.issue_report_now` (what `manage.py oversight_report`
   calls: the request, the audit events, rendering, the stored IssuedReport), and prints its
   wall time, the child's peak RSS (getrusage of that one child, read with os.wait4), pages,
   PDF size and the time of each progress stage; the targets are under 30 s and under 500 MB;
4. issues the other three reports once each in the same way: the authority register and the
   literacy register as of the last day, and the dossier of one seeded case;
5. drops the database (unless --keep).

With --reuse the database must exist and hold metrics.py's seed (kept with --keep, or a copy):
the run migrates it, skips creating, seeding and dropping, moves the data to one AI system
unless that was done already (it says which), and brings the daily summaries up to date.

Exit status 0 when the run completed (the targets are reported, not enforced); 1 when a report
could not be issued; 2 when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import metrics as metrics_bench  # noqa: E402  (benchmarks/metrics.py: database and seed)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hitl_reports_bench"
TARGET_SECONDS = 30
TARGET_MB = 500
SYSTEM = "system-0"  # metrics.py's first AI system; it receives the second one's journeys
CHILD_FLAG = "--child"


def django_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hitl_project.settings",
        "DATABASE_URL": database_url,
        # As in production: DEBUG off (no query log kept in memory), so a key is needed.
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "benchmark-only-" + "x" * 40,
        # Required with DEBUG off (audit.E002): a fixed benchmark-only ledger signing key.
        "LEDGER_SIGNING_KEY": os.environ.get("LEDGER_SIGNING_KEY")
        or "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        # Required with DEBUG off (oversight.E010): reports are signed; a throw-away demo
        # certificate, made on first use outside the checkout.
        "REPORT_SIGNING_GENERATE_DEV_CERT": "1",
        "REPORT_SIGNING_DEV_DIR": str(Path(tempfile.gettempdir()) / "hitl-bench-report-signing"),
    }


# --------------------------------------------------------------------------- the child


def child(kind: str, params_json: str) -> int:
    """Issue one report in this process and print what happened as one JSON line."""
    import resource

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from oversight.models import RequestedVia
    from oversight.reports import rendering
    from oversight.services.reports import issue_report_now

    stages: list[tuple[float, int, str]] = []
    original = rendering.render_report

    def timed_render(*args, progress=None, **kwargs):
        def noting(percent: int, message: str) -> None:
            stages.append((time.perf_counter(), percent, message))
            if progress is not None:
                progress(percent, message)

        return original(*args, progress=noting, **kwargs)

    rendering.render_report = timed_render  # generate_report looks it up on the module
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    report = issue_report_now(
        user=None, kind=kind, params=json.loads(params_json), via=RequestedVia.COMMAND
    )
    wall = time.perf_counter() - start
    # Each stage lasts until the next one starts; after the renderer's "Done" the report is
    # stored. The stages' times add up to the wall time.
    marks = [(start, 0, "Requesting (validation, request row, audit event)")]
    for at, percent, message in stages:
        if message == "Done":
            message = "Storing the PDF (IssuedReport, request, audit event)"
        marks.append((at, percent, message))
    marks.append((start + wall, 100, "end"))
    timings = [
        {"stage": message, "seconds": marks[i + 1][0] - at}
        for i, (at, _percent, message) in enumerate(marks[:-1])
    ]
    print(
        json.dumps(
            {
                "wall": wall,
                "pages": report.page_count,
                "bytes": report.size,
                "baseline_mb": baseline_mb,
                "self_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "stages": timings,
            }
        )
    )
    return 0


def issue_in_child(database_url: str, kind: str, params: dict, warnings: list[str]) -> dict:
    """Run `child` in a fresh interpreter; its peak RSS comes from os.wait4 on that one pid.

    What the child writes to stderr (WeasyPrint's font warnings) is added to `warnings`."""
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, __file__, CHILD_FLAG, kind, json.dumps(params)],
            cwd=ROOT,
            env=django_env(database_url),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        output = process.stdout.read()
        process.stdout.close()
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        errors = stderr.read()
    for line in errors.splitlines():
        if line.strip() and line not in warnings:
            warnings.append(line)
    if process.returncode != 0:
        sys.stderr.write(errors)
        raise RuntimeError(f"the {kind} report failed (exit status {process.returncode})")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    result["cpu"] = usage.ru_utime + usage.ru_stime
    return result


# --------------------------------------------------------------------------- the parent


def concentrate_on_one_system() -> bool:
    """Move the second AI system's journeys and gate calls to the first: one system, all data.
    Idempotent: returns False (and changes nothing) when everything is on the first already.

    Gate evaluations are evidence: a trigger refuses every UPDATE. This throw-away database lets
    the move pass by setting session_replication_role (which skips triggers) for its
    transaction only.
    """
    from django.db import connection, transaction

    from oversight.models import AISystem, GateEvaluation, Journey

    target = AISystem.objects.get(slug=SYSTEM)
    if (
        not Journey.objects.exclude(ai_system=target).exists()
        and not GateEvaluation.objects.exclude(ai_system=target).exists()
    ):
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE oversight_journey SET ai_system_id = %s WHERE ai_system_id <> %s",
            [target.pk, target.pk],
        )
        cursor.execute(
            "UPDATE oversight_gateevaluation SET ai_system_id = %s WHERE ai_system_id <> %s",
            [target.pk, target.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return True


def recompute_summaries() -> None:
    """Every daily summary written afresh from the rows (after the data moved)."""
    from oversight.services.rollups import recompute_gate_days

    recompute_gate_days(None, datetime.date.max)


def seeded_period() -> tuple[datetime.date, datetime.date, int, int]:
    """First and last local day holding gate calls, and the gate calls and cases in them."""
    from django.db.models import Max, Min
    from django.utils import timezone

    from oversight.models import Case, GateEvaluation

    span = GateEvaluation.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    first = timezone.localtime(span["first"]).date()
    last = min(timezone.localtime(span["last"]).date(), timezone.localdate())
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min)
    )
    calls = GateEvaluation.objects.filter(created_at__gte=start, created_at__lt=end).count()
    cases = Case.objects.filter(opened_at__gte=start, opened_at__lt=end).count()
    return first, last, calls, cases


def print_report(label: str, result: dict, *, stages: bool) -> None:
    print(
        f"  {label:<44} {result['wall']:6.1f} s  peak RSS {result['peak_mb']:6.0f} MB  "
        f"{result['pages']:4d} pages  {result['bytes'] / 1024:7.0f} KiB"
    )
    if stages:
        for stage in result["stages"]:
            print(f"      {stage['seconds']:6.2f} s  {stage['stage']}")
        print(
            f"      (CPU {result['cpu']:.1f} s in the child; its RSS after start-up, before the "
            f"report: {result['baseline_mb']:.0f} MB)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Targets (reported, not enforced): the oversight report in under "
        f"{TARGET_SECONDS} s and under {TARGET_MB} MB peak memory.",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL URL of a database to create, use and drop (default: "
        f"BENCH_DATABASE_URL or {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--evaluations", type=int, default=1_000_000, help="gate evaluations (default 1,000,000)"
    )
    parser.add_argument("--cases", type=int, default=100_000, help="cases (default 100,000)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (to EXPLAIN queries)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use an existing database seeded by metrics.py: migrate it, bring the summaries up "
        "to date, but do not create, seed or drop it (--evaluations and --cases are ignored)",
    )
    args = parser.parse_args()

    if not args.reuse:
        metrics_bench.create_database(args.database_url)
    try:
        env = django_env(args.database_url)
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
        from django.db import connection

        from oversight.models import Case
        from oversight.services.day_summaries import KINDS, roll_up
        from oversight.services.rollups import roll_up_gate_days

        started = time.perf_counter()
        if args.reuse:
            evaluations, cases = metrics_bench.seeded_counts()
            moved = concentrate_on_one_system()
            if moved:
                # The summaries written before the move name the second system: write them anew.
                recompute_summaries()
            how = "reused (moved to one AI system now)" if moved else "reused"
            if not moved:
                print("  (reused database: the move to one AI system was applied before)")
        else:
            evaluations, cases = args.evaluations, args.cases
            metrics_bench.seed(args.evaluations, args.cases)
            concentrate_on_one_system()
            how = "seeded"
        roll_up_gate_days()
        for kind in KINDS:
            roll_up(kind)
        seeded = time.perf_counter() - started
        first, last, calls, cases = seeded_period()
        case = (
            Case.objects.filter(status="decided", journey__ai_system__slug=SYSTEM)
            .order_by("-opened_at")
            .values_list("pk", flat=True)
            .first()
        )
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
        connection.close()  # the children have the database to themselves
        print("Report benchmark (benchmarks/reports.py)")
        print(
            f"  machine   {os.cpu_count()} CPUs ({platform.machine()}); load average before the "
            f"reports {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        print(
            f"  software  Python {platform.python_version()}, Django {django.get_version()}, "
            f"PostgreSQL {server.split()[0]}"
        )
        print(
            f"  data      {evaluations:,} gate evaluations and {cases:,} cases {how} "
            f"and summarised in {seeded:.0f} s; all on AI system {SYSTEM}"
        )
        print(
            f"  period    {first} to {last} ({(last - first).days + 1} days): {calls:,} gate "
            f"calls, {cases:,} cases opened"
        )
        print("  each report issued in a fresh child process via issue_report_now")
        print()

        database_url = args.database_url
        warnings: list[str] = []
        oversight = issue_in_child(
            database_url,
            "oversight",
            {"system": SYSTEM, "start": first.isoformat(), "end": last.isoformat()},
            warnings,
        )
        print_report("oversight report", oversight, stages=True)
        others = [
            ("authority register (as of last day)", "authority", {"as_of": last.isoformat()}),
            ("literacy register (as of last day)", "literacy", {"as_of": last.isoformat()}),
            ("case dossier (one seeded case)", "dossier", {"case": str(case)}),
        ]
        for label, kind, params in others:
            print_report(label, issue_in_child(database_url, kind, params, warnings), stages=False)
        print()
        time_ok = oversight["wall"] < TARGET_SECONDS
        memory_ok = oversight["peak_mb"] < TARGET_MB
        print(
            f"  oversight report: {oversight['wall']:.1f} s (target < {TARGET_SECONDS} s: "
            f"{'met' if time_ok else 'NOT met'}), peak RSS {oversight['peak_mb']:.0f} MB "
            f"(target < {TARGET_MB} MB: {'met' if memory_ok else 'NOT met'}), "
            f"{oversight['pages']} pages"
        )
        if warnings:
            print()
            print("  the children warned (each line once):")
            for line in warnings:
                print(f"    {line}")
    except RuntimeError as error:
        print(f"Benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not (args.keep or args.reuse):
            metrics_bench.drop_database(args.database_url)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == CHILD_FLAG:
        raise SystemExit(child(sys.argv[2], sys.argv[3]))
    raise SystemExit(main())
