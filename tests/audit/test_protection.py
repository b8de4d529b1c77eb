"""On PostgreSQL the database refuses UPDATE and DELETE on evidence, whatever the caller.

Python-level guards stop only callers that use them; these triggers stop a `QuerySet.update()`,
raw SQL and a console alike. Only the retention purge opens DELETE, on purgeable tables, inside
its own transaction.
"""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from simple_history.models import HistoricalChanges

from audit.models import AuditEvent, LedgerCheckpoint
from audit.protection import (
    INSERT_ONLY_MODELS,
    TRIGGER_NAME,
    allow_retention_purge,
    end_retention_purge,
    install_protection,
    missing_protection,
    protected_tables,
)
from audit.services.ledger import Actor, append_event, verify_ledger
from oversight.models import GateEvaluation, Journey
from tests.factories import GateEvaluationFactory, JourneyFactory

pytestmark = pytest.mark.django_db

REFUSED = "refused: its rows are evidence"


def run_sql(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refused(sql: str, params=()) -> str:
    """Run SQL that must fail; return the database's message. The savepoint keeps the test's
    transaction usable afterwards."""
    with pytest.raises(DatabaseError) as failure, transaction.atomic():
        run_sql(sql, params)
    return str(failure.value)


def test_every_insert_only_model_named_exists():
    for label in INSERT_ONLY_MODELS:
        apps.get_model(label)  # LookupError: renamed or removed, update the list


def test_every_history_table_and_insert_only_table_is_listed():
    tables = {table.table: table.purgeable for table in protected_tables()}
    history_tables = {
        model._meta.db_table for model in apps.get_models() if issubclass(model, HistoricalChanges)
    }
    assert history_tables  # every evidence model has one
    assert history_tables <= set(tables)
    assert tables["audit_auditevent"] is True
    assert tables["oversight_gateevaluation"] is True
    assert tables["audit_ledgercheckpoint"] is False
    assert tables["audit_ledgerverification"] is False
    assert tables["oversight_guardrailevaluation"] is False
    assert not any(tables[table] for table in history_tables)


def test_on_sqlite_installing_is_a_no_op():
    if connection.vendor == "postgresql":
        pytest.skip("checks the SQLite behaviour")
    assert install_protection() == []
    assert missing_protection() == []


@pytest.mark.postgres
def test_every_evidence_table_has_the_trigger_after_migrate(postgres_only):
    # Fails when a new model's history table (or a new insert-only table) is left unguarded.
    assert missing_protection() == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND t.tgenabled = 'O'",
            [TRIGGER_NAME],
        )
        guarded = {name for (name,) in cursor.fetchall()}
    assert {table.table for table in protected_tables()} <= guarded


@pytest.mark.postgres
def test_a_raw_update_of_an_audit_event_is_refused(postgres_only):
    event = append_event(actor=Actor.system(), action="test.event", payload={"n": 1})

    message = refused("UPDATE audit_auditevent SET payload = '{}' WHERE id = %s", [event.pk])

    assert f"UPDATE on audit_auditevent {REFUSED}" in message
    event.refresh_from_db()
    assert event.payload == {"n": 1}
    assert verify_ledger().ok


@pytest.mark.postgres
def test_deleting_an_audit_event_is_refused_even_through_the_orm(postgres_only):
    append_event(actor=Actor.system(), action="test.event")

    with (
        pytest.raises(DatabaseError, match=f"DELETE on audit_auditevent {REFUSED}"),
        transaction.atomic(),
    ):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.count() == 1
    assert verify_ledger().ok


@pytest.mark.postgres
def test_changing_a_history_row_is_refused(postgres_only):
    journey = JourneyFactory(name="Refunds")
    journey.name = "Refunds (EU)"
    journey.save()
    history_table = Journey.history.model._meta.db_table
    rows = Journey.history.filter(id=journey.pk).count()

    update = refused(f"UPDATE {history_table} SET name = 'Forged' WHERE id = %s", [journey.pk])
    delete = refused(f"DELETE FROM {history_table} WHERE id = %s", [journey.pk])

    assert f"UPDATE on {history_table} {REFUSED}" in update
    assert f"DELETE on {history_table} {REFUSED}" in delete
    assert Journey.history.filter(id=journey.pk).count() == rows
    assert not Journey.history.filter(name="Forged").exists()


@pytest.mark.postgres
def test_changing_or_deleting_a_gate_evaluation_is_refused(postgres_only):
    evaluation = GateEvaluationFactory(action_type="refund")

    update = refused(
        "UPDATE oversight_gateevaluation SET route = 'automate' WHERE id = %s", [evaluation.pk]
    )
    with (
        pytest.raises(DatabaseError, match=f"DELETE on oversight_gateevaluation {REFUSED}"),
        transaction.atomic(),
    ):
        GateEvaluation.objects.filter(pk=evaluation.pk).delete()

    assert f"UPDATE on oversight_gateevaluation {REFUSED}" in update
    assert GateEvaluation.objects.get(pk=evaluation.pk).route == evaluation.route


@pytest.mark.postgres
def test_checkpoints_are_kept_even_during_a_purge(postgres_only):
    checkpoint = LedgerCheckpoint.objects.create(sequence=1, head_hash="a" * 64, kind="daily")
    allow_retention_purge(connection)
    try:
        message = refused("DELETE FROM audit_ledgercheckpoint WHERE id = %s", [checkpoint.pk])
    finally:
        end_retention_purge(connection)
    assert REFUSED in message
    assert LedgerCheckpoint.objects.filter(pk=checkpoint.pk).exists()


@pytest.mark.postgres
def test_the_purge_window_lets_delete_through_but_never_update(postgres_only):
    event = append_event(actor=Actor.system(), action="test.event")
    allow_retention_purge(connection)
    try:
        update = refused("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
        deleted = run_sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    finally:
        end_retention_purge(connection)

    assert REFUSED in update
    assert deleted == 1
    # Closed again: the next delete is refused.
    append_event(actor=Actor.system(), action="test.event")
    assert REFUSED in refused("DELETE FROM audit_auditevent")


@pytest.mark.postgres
def test_a_missing_or_disabled_trigger_is_reported_and_repaired(postgres_only):
    history_table = Journey.history.model._meta.db_table
    run_sql(f"DROP TRIGGER {TRIGGER_NAME} ON {history_table}")
    run_sql(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {TRIGGER_NAME}")

    assert set(missing_protection()) == {history_table, "audit_auditevent"}
    assert set(install_protection()) == {history_table, "audit_auditevent"}
    assert missing_protection() == []
    assert install_protection() == []  # idempotent: nothing left to do
