"""Long statements with PostgreSQL's own placeholders (`audit.native_placeholders`): the INSERTs
a block sends together are not converted by psycopg on every call, they write exactly what the
ordinary cursor writes, and a database error is still Django's."""

from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.native_placeholders import applies, native_cursor, numbered
from audit.row_insert import insert_row, inserts_together
from tests import factories

pytestmark = pytest.mark.django_db


def pending_event(n: int) -> AuditEvent:
    """A pending event whose values hold what the placeholders must not touch: % and \\."""
    return factories.pending_event(
        n,
        actor_label="test ünïcode 100%",
        action="test.native",
        payload={"n": n, "text": "it's 100% \\ data", "list": [1, 2.5, None]},
    )


def test_placeholders_are_numbered_in_order():
    sql = 'INSERT INTO "t" ("a", "b") VALUES (%s, %s), (%s, %s)'
    assert numbered(sql) == 'INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4)'
    assert numbered("SELECT 1") == "SELECT 1"


@pytest.mark.parametrize(
    "sql",
    ["SELECT %s WHERE x LIKE '10%%'", "SELECT %(name)s", "SELECT %s, %b", "SELECT '%'"],
)
def test_a_statement_with_any_other_percent_sign_is_left_to_psycopg(sql):
    assert numbered(sql) is None


def psycopg_conversions_of_long_statements():
    """A spy on psycopg's own %s conversion: how many statements of over 50 parameters it saw."""
    import psycopg._queries

    seen = []
    original = psycopg._queries.PostgresQuery.convert

    def convert(self, query, params):
        if params is not None and len(params) > 50:
            seen.append(query)
        return original(self, query, params)

    return seen, mock.patch.object(psycopg._queries.PostgresQuery, "convert", convert)


def test_a_long_block_is_sent_with_native_placeholders_and_writes_every_value(postgres_only):
    assert applies(connection), "the test database binds on the server and logs no queries"
    seen, spy = psycopg_conversions_of_long_statements()
    events = [pending_event(n) for n in range(12)]  # 12 rows x 12 columns: over 50 parameters
    with spy, transaction.atomic(), inserts_together():
        for event in events:
            insert_row(event)

    assert seen == []  # without the native cursor psycopg converted it (it did before)
    stored = AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")
    assert [(e.object_id, e.actor_label, e.payload, e.sequence) for e in stored] == [
        (str(n), "test ünïcode 100%", pending_event(n).payload, None) for n in range(12)
    ]


def test_while_queries_are_logged_the_ordinary_cursor_sends_it_and_the_log_reads_it(
    postgres_only,
):
    seen, spy = psycopg_conversions_of_long_statements()
    events = [pending_event(n) for n in range(12)]
    with spy, CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert not applies(connection)
        with inserts_together():
            for event in events:
                insert_row(event)

    assert len(seen) == 1  # the ordinary cursor: psycopg's conversion, as Django logs it
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == 1 and "test ünïcode 100%" in inserts[0]
    assert AuditEvent.objects.filter(action="test.native").count() == 12


def test_client_side_binding_keeps_the_ordinary_cursor(postgres_only, monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "server_side_binding", False)
    assert not applies(connection)


def test_a_database_error_on_the_native_cursor_is_djangos_and_writes_nothing(postgres_only):
    events = [pending_event(n) for n in range(12)]
    events[-1].hash = events[0].hash = "same"  # the ledger's hash is unique
    before = AuditEvent.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic(), inserts_together():
        for event in events:
            insert_row(event)

    assert AuditEvent.objects.count() == before
    assert all(event._state.adding for event in events)  # no post_save: nothing was written


def test_sqlite_never_uses_it():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's side of it; runs in CI's SQLite pass")
    assert not applies(connection)


@pytest.mark.django_db(transaction=True)  # a second connection to the test database
def test_with_django_prometheus_each_statement_is_counted_and_cursor_classes_stay_few(
    postgres_only,
):
    """Production's backend (METRICS_DATABASE) makes a cursor class per connection: the native
    cursor is one of those (so the statement is counted), and their raw classes stay few."""
    from django_prometheus.db.backends.postgresql.base import DatabaseWrapper
    from prometheus_client import REGISTRY

    from audit import native_placeholders

    metrics = DatabaseWrapper(
        {**connection.settings_dict, "ENGINE": "django_prometheus.db.backends.postgresql"},
        alias="native-placeholders-test",
    )
    labels = {"alias": "native-placeholders-test", "vendor": "postgresql"}
    factories, counted = set(), []
    rounds = native_placeholders._MAX_CURSOR_CLASSES + 4
    try:
        for n in range(rounds):
            metrics.close()  # a new connection, as CONN_MAX_AGE or a reconnect makes
            with native_cursor(metrics) as cursor:  # connects (its own statements counted)
                before = REGISTRY.get_sample_value("django_db_execute_total", labels)
                cursor.execute("SELECT $1::int", [n])
                assert cursor.fetchone() == (n,)
                counted.append(
                    REGISTRY.get_sample_value("django_db_execute_total", labels) - before
                )
            factories.add(metrics.connection.cursor_factory)
    finally:
        metrics.close()
    assert counted == [1] * rounds
    assert len(factories) == rounds  # a cursor class per connection
    assert len(native_placeholders._cursor_classes) <= native_placeholders._MAX_CURSOR_CLASSES
