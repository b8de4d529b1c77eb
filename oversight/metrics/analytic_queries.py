"""PostgreSQL settings for the figures' aggregations, for one transaction.

The figures (dashboard, calibration, watch, reports, percentiles) aggregate a period's rows.
Two of PostgreSQL's defaults suit the gate's short statements and not them, so
`analytic_queries()` changes them until the transaction ends, never for the connection:

- `plan_cache_mode`: the product binds parameters on the server and psycopg prepares a statement
  run five times on one connection (`hitl_project.env`). PostgreSQL may then plan it once for
  any parameters (a generic plan), and for a period's aggregation that plan can be many times
  slower than the one for the period asked: at 10M gate calls the dashboard's query of the
  period's partial days took 1.8 s instead of 46 ms, and the page 2.3-2.7 s instead of
  0.7-0.9 s, from its sixth view on one connection. Custom plans are made for the values
  given, every time. (A statement without parameters has one plan whatever this says.)
- `work_mem`: a percentile sorts every value of the period (900,000 decided cases at 10M gate
  calls); with the default 4 MB that sort spills to disk, 0.6 s instead of 0.25 s (issue #17).
"""

from contextlib import contextmanager

from django.db import connection, transaction

ANALYTIC_SETTINGS = {
    "plan_cache_mode": "force_custom_plan",
    "work_mem": "32MB",
}
# Set on the connection's wrapper while `analytic_queries()` holds its settings in force.
_IN_FORCE = "hitl_analytic_queries"


@contextmanager
def analytic_queries():
    """On PostgreSQL, ANALYTIC_SETTINGS until the transaction ends: the caller's if there is one
    (no savepoint), else one of its own around the block. One statement, and none when an
    enclosing `analytic_queries()` already set them. Elsewhere nothing."""
    if connection.vendor != "postgresql" or getattr(connection, _IN_FORCE, False):
        yield
        return
    with transaction.atomic(savepoint=False):
        names = list(ANALYTIC_SETTINGS)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names),
                [value for name in names for value in (name, ANALYTIC_SETTINGS[name])],
            )
        setattr(connection, _IN_FORCE, True)
        try:
            yield
        finally:
            setattr(connection, _IN_FORCE, False)
