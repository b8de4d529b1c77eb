"""PostgreSQL timestamps are read by psycopg's compiled loader (hitl_project/timestamp_loader.py)
and come out exactly as Django's own loader gives them: the same wall-clock values, the same
time zones, the same errors, whatever the session's TimeZone."""

import datetime
import zoneinfo

import psycopg
import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.postgres import types
from psycopg.pq import Format

from hitl_project.timestamp_loader import fast_tz_loader
from oversight.models import GateEvaluation
from tests.factories import GateEvaluationFactory
from tests.processes import database_url, run_django

pytestmark = pytest.mark.django_db

TIMESTAMPTZ = types["timestamptz"].oid
# About 9,000 instants from year 2 to 9999 (year 1 is BC in some zones), with microseconds,
# none on a round second.
SERIES = (
    "SELECT t FROM generate_series(timestamptz '0002-01-01 00:00:00.000001+00', "
    "timestamptz '9999-12-31 23:59:59.999999+00', "
    "interval '9731 hours 17 minutes 3.123457 seconds') t"
)


def read_series(register) -> list:
    """The series read with the loader `register(psycopg_cursor)` puts on the cursor."""
    with connection.cursor() as cursor:
        register(cursor.cursor)
        cursor.execute(SERIES)
        rows = cursor.fetchall()
    return [(value.replace(tzinfo=None), value.tzinfo) for (value,) in rows]


def test_each_connection_reads_timestamps_with_it(postgres_only):
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert loader is fast_tz_loader(connection.timezone)
    with connection.cursor() as cursor:
        # Django's create_cursor found the connection agreeing and registered nothing over it.
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is loader
        cursor.execute("SELECT now()")
        (now,) = cursor.fetchone()
    assert now.tzinfo is datetime.UTC
    assert abs(now - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=5)


def test_the_product_registers_it_at_start_up(postgres_only):
    """A fresh process that never imports the module itself: the app registry connects it."""
    code = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "from psycopg.pq import Format\n"
        "connection.ensure_connection()\n"
        "loader = connection.connection.adapters.get_loader(1184, Format.TEXT)\n"
        "print(loader.__module__, loader.__qualname__)\n"
    )
    done = run_django({"DATABASE_URL": database_url(), "DEBUG": "1"}, code)
    assert done.stdout.split() == [
        "hitl_project.timestamp_loader",
        "fast_tz_loader.<locals>.FastTzLoader",
    ], done.stderr


def test_it_holds_psycopgs_compiled_loader(postgres_only):
    connection.ensure_connection()
    loader = fast_tz_loader(connection.timezone)(TIMESTAMPTZ, connection.connection)
    held = type(loader._load.__self__)
    assert held is psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    if psycopg.pq.__impl__ in ("c", "binary"):
        assert held.__module__.startswith(("psycopg_c", "psycopg_binary")), held


@pytest.mark.parametrize("session_zone", ["UTC", "America/St_Johns", "Asia/Kathmandu"])
@pytest.mark.parametrize(
    "timezone",
    [datetime.UTC, zoneinfo.ZoneInfo("Europe/Paris"), None],
    ids=["utc", "paris", "naive"],
)
def test_the_same_values_as_djangos_loader(postgres_only, session_zone, timezone):
    with connection.cursor() as cursor:
        # SET LOCAL: undone with the test's transaction.
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])
        cursor.execute("SELECT now()::text")
        assert cursor.fetchone()[0].endswith(
            {"UTC": "+00", "America/St_Johns": "-03:30"}.get(session_zone, "+05:45")
        )
    djangos = read_series(lambda cursor: register_tzloader(timezone, cursor))
    ours = read_series(
        lambda cursor: cursor.adapters.register_loader("timestamptz", fast_tz_loader(timezone))
    )
    assert len(ours) > 8900
    assert ours == djangos


@pytest.mark.parametrize("value", ["infinity", "-infinity", "0001-01-01 00:00:00+14"])
def test_the_same_error_as_djangos_loader(postgres_only, value):
    for register in (
        lambda cursor: register_tzloader(datetime.UTC, cursor),
        lambda cursor: cursor.adapters.register_loader("timestamptz", fast_tz_loader(datetime.UTC)),
    ):
        with connection.cursor() as cursor, pytest.raises(DataError):
            register(cursor.cursor)
            cursor.execute("SELECT %s::timestamptz", [value])
            cursor.fetchone()


def test_a_model_reads_back_what_it_wrote():
    written = datetime.datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=datetime.UTC)
    evaluation = GateEvaluationFactory(created_at=written)
    read = GateEvaluation.objects.get(pk=evaluation.pk).created_at
    assert read == written
    assert read.tzinfo is datetime.UTC
