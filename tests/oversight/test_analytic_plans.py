"""The figures' queries are planned for their own period every time they run.

On PostgreSQL the product binds parameters on the server and psycopg prepares a statement run
five times on one connection (the gate's few statements, millions of times). PostgreSQL may then
keep one generic plan for it, made without the parameters' values. For an aggregation over a
period that plan can be many times slower than the one for the period asked: at 10M gate calls
the dashboard's query of the period's partial days took 1.8 s instead of 46 ms, and the page
2.3-2.7 s instead of 0.7-0.9 s, from its sixth view on one connection (a worker's connection
lives up to a minute).
"""

import datetime

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oversight.admin.calibration import calibration_context, watch_context
from oversight.admin.dashboard import dashboard_context
from oversight.metrics.analytic_queries import ANALYTIC_SETTINGS, analytic_queries
from oversight.reports.rendering import render_report
from tests.oversight import authority_world
from tests.oversight.reports.test_oversight_report import GENERATED, MAY, World
from tests.oversight.test_calibration import Calibrated
from tests.oversight.test_metrics import Data

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
VIEWS = 8  # more than psycopg's prepare_threshold (5): the last views run prepared statements


def prepared_plans() -> list[tuple[str, int]]:
    """(statement, generic plans) of this connection's prepared SELECTs of the
    product's tables that take parameters (one without has nothing to plan for: PostgreSQL
    plans it once, generically)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT%%' AND statement LIKE '%%oversight\\_%%' "
            "AND cardinality(parameter_types) > 0"
        )
        return cursor.fetchall()


def settings_now() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(f"current_setting('{name}')" for name in ANALYTIC_SETTINGS)
        )
        return dict(zip(ANALYTIC_SETTINGS, cursor.fetchone(), strict=True))


def calibrated():
    with time_machine.travel(authority_world.NOW, tick=False):
        return Calibrated(authority_world.world())


# What each figure needs made, and how it is shown from what was made.
FIGURES = {
    "dashboard": (Data, lambda made: dashboard_context(days=90, ai_system=None, now=NOW)),
    "watch": (Data, lambda made: watch_context(days=90, now=NOW)),
    "calibration": (
        calibrated,
        lambda made: calibration_context(
            user=made.w.manager, days=30, target_percent=5, now=authority_world.NOW
        ),
    ),
    "oversight report": (
        World,
        lambda made: render_report("oversight", MAY, report_id="R-42", generated_at=GENERATED),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", FIGURES)
def test_the_figures_never_run_on_a_generic_plan(postgres_only, name):
    make, show = FIGURES[name]
    made = make()
    with connection.cursor() as cursor:
        # Only the figures' statements from here on (psycopg forgets its own on seeing this).
        cursor.execute("DEALLOCATE ALL")
    for _ in range(VIEWS):
        with connection.cursor() as cursor:
            # Whether PostgreSQL picks the generic plan depends on its estimates (it did at
            # 10M rows, not on these few): before each view, the connection asks for it
            # wherever it may (until this test's transaction ends).
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        show(made)
    plans = prepared_plans()
    assert plans, "nothing was prepared: the test would prove nothing"
    generic = [(statement[:120], count) for statement, count in plans if count]
    assert generic == []


@pytest.mark.django_db(transaction=True)
def test_the_settings_last_as_long_as_the_transaction(postgres_only):
    before = settings_now()
    assert before != ANALYTIC_SETTINGS  # otherwise this test would prove nothing

    with analytic_queries():
        assert settings_now() == ANALYTIC_SETTINGS
    assert settings_now() == before  # its own transaction ended with it

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with analytic_queries(), analytic_queries():
            assert settings_now() == ANALYTIC_SETTINGS
        assert settings_now() == ANALYTIC_SETTINGS  # until the caller's transaction ends
    assert settings_now() == before
    assert sum("set_config" in query["sql"] for query in queries) == 1  # nested: set once
