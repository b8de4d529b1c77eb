"""The database backends with cheaply counted statement metrics (hitl_project/counting_backends)
count exactly what django-prometheus's own do: the same statements run through each, the
django_db_* samples' deltas equal; and they look their labelled series up once, not per
statement."""

import pytest
from django.db import DatabaseError, connection
from django.db.utils import load_backend
from prometheus_client import REGISTRY

from audit.native_placeholders import applies, native_cursor
from tests.processes import run_django

pytestmark = pytest.mark.django_db(transaction=True)  # second connections to the test database

OURS = "hitl_project.counting_backends."
UPSTREAM = "django_prometheus.db.backends."
DB_METRICS = (
    "django_db_execute_total",
    "django_db_execute_many_total",
    "django_db_errors_total",
    "django_db_query_duration_seconds_count",
)


def wrapper(prefix: str, alias: str):
    engine = prefix + connection.settings_dict["ENGINE"].rsplit(".", 1)[1]
    backend = load_backend(engine)
    return backend.DatabaseWrapper({**connection.settings_dict, "ENGINE": engine}, alias=alias)


def db_samples(alias: str) -> dict:
    found = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name in DB_METRICS and sample.labels.get("alias") == alias:
                labels = {k: v for k, v in sample.labels.items() if k != "alias"}
                found[sample.name, tuple(sorted(labels.items()))] = sample.value
    return found


def statements(database) -> None:
    """Successes and failures of execute and executemany, through Django's cursor."""
    with database.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE counted (n integer NOT NULL)")
        cursor.execute("SELECT %s", [1])
        cursor.executemany("INSERT INTO counted (n) VALUES (%s)", [[1], [2], [3]])
        with pytest.raises(DatabaseError):
            cursor.execute("SELECT * FROM no_such_table_here")
    with database.cursor() as cursor, pytest.raises(DatabaseError):
        cursor.executemany("INSERT INTO counted (n) VALUES (%s)", [[None], [None]])
    with database.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM counted")
        assert cursor.fetchone() == (3,)


def deltas(prefix: str, alias: str) -> dict:
    database = wrapper(prefix, alias)
    before = db_samples(alias)
    try:
        statements(database)
    finally:
        database.close()
    after = db_samples(alias)
    return {key: value - before.get(key, 0) for key, value in after.items()}


def test_the_same_statements_count_the_same_as_django_prometheus():
    ours = deltas(OURS, "counting-ours")
    upstream = deltas(UPSTREAM, "counting-upstream")
    assert ours == upstream
    vendor = ("vendor", connection.vendor)
    assert ours["django_db_execute_total", (vendor,)] >= 4 + 3 + 2
    assert ours["django_db_execute_many_total", (vendor,)] == 3 + 2
    assert ours["django_db_query_duration_seconds_count", (vendor,)] >= 4
    assert sum(v for (name, _), v in ours.items() if name == "django_db_errors_total") == 2


def test_labelled_series_are_looked_up_once_and_one_cursor_class_serves_every_connection(
    label_lookups,
):
    database = wrapper(OURS, "counting-once")
    classes = set()
    try:
        for n in range(5):
            database.close()  # a new connection, as CONN_MAX_AGE or a reconnect makes
            with database.cursor() as cursor:
                cursor.execute("SELECT %s", [n])
                assert cursor.fetchone() == (n,)
                classes.add(type(cursor.cursor))
    finally:
        database.close()
    assert len(classes) == 1
    # The class's three series once each; besides them only django-prometheus's count of each
    # new connection.
    class_series = (
        "django_db_execute",
        "django_db_execute_many",
        "django_db_query_duration_seconds",
    )
    looked_up = [name for name in label_lookups if name.startswith("django_db_")]
    assert sorted(name for name in looked_up if name in class_series) == sorted(class_series)
    assert set(looked_up) - set(class_series) <= {"django_db_new_connections"}


def test_native_placeholders_statements_are_counted_once(postgres_only):
    database = wrapper(OURS, "counting-native")
    labels = {"alias": "counting-native", "vendor": "postgresql"}
    try:
        database.ensure_connection()
        assert applies(database)
        before = REGISTRY.get_sample_value("django_db_execute_total", labels)
        with native_cursor(database) as cursor:
            cursor.execute("SELECT $1::int", [7])
            assert cursor.fetchone() == (7,)
        assert REGISTRY.get_sample_value("django_db_execute_total", labels) - before == 1
    finally:
        database.close()


def test_production_settings_use_the_counting_backend_and_metrics_database_0_keeps_djangos():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    production = {"DEBUG": "0", "SECRET_KEY": "a-long-enough-secret-for-this-settings-test-0123"}
    on = run_django({**production, "DATABASE_URL": "postgres://app@db/oversight"}, code)
    assert on.stdout.strip() == "hitl_project.counting_backends.postgresql", on.stderr
    sqlite = run_django({**production, "DATABASE_URL": ""}, code)
    assert sqlite.stdout.strip() == "hitl_project.counting_backends.sqlite3", sqlite.stderr
    off = run_django({**production, "METRICS_DATABASE": "0"}, code)
    assert off.stdout.strip().startswith("django.db.backends."), off.stderr
