"""On PostgreSQL the database refuses UPDATE and DELETE on evidence, whatever the caller.

Python-level guards stop only callers that use them; these triggers stop a `QuerySet.update()`,
raw SQL and a console alike. TRUNCATE is refused on every evidence table. Only the purge
functions, owned by a role nobody logs in as, delete, and only rows past retention.
"""

import datetime

import pytest
import time_machine
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from simple_history.models import HistoricalChanges

from audit.models import AuditEvent, CheckpointKind, LedgerCheckpoint, PurgeRecord
from audit.protection import (
    INSERT_ONLY_MODELS,
    TRIGGER_NAME,
    install_protection,
    missing_protection,
    protected_tables,
    truncate_protected_tables,
)
from audit.purge_sql import PURGER_ROLE
from audit.services.checkpoints import write_checkpoint
from audit.services.ledger import Actor, append_event, verify_ledger
from oversight.models import GateEvaluation, Journey
from tests.factories import (
    AuthorityGrantFactory,
    DecisionFactory,
    GateEvaluationFactory,
    IncidentFactory,
    JourneyFactory,
    JudgementPointFactory,
    TrainingCompletionFactory,
)

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
def test_the_old_purge_setting_opens_nothing_any_more(postgres_only):
    # Issue #14: any session could set this GUC and delete the ledger's tail.
    append_event(actor=Actor.system(), action="test.event")
    append_event(actor=Actor.system(), action="test.event")
    run_sql("SELECT set_config('hitl.retention_purge', 'on', true)")

    message = refused("DELETE FROM audit_auditevent WHERE sequence > 1")

    assert f"DELETE on audit_auditevent {REFUSED}" in message
    assert AuditEvent.objects.count() == 2
    assert verify_ledger().ok


@pytest.mark.postgres
def test_checkpoints_are_never_deleted_not_even_as_the_purger(postgres_only):
    checkpoint = LedgerCheckpoint.objects.create(sequence=1, head_hash="a" * 64, kind="daily")
    run_sql(f"SET LOCAL ROLE {PURGER_ROLE}")
    try:
        message = refused("DELETE FROM audit_ledgercheckpoint WHERE id = %s", [checkpoint.pk])
    finally:
        run_sql("RESET ROLE")
    assert "permission denied" in message or REFUSED in message
    assert LedgerCheckpoint.objects.filter(pk=checkpoint.pk).exists()


@pytest.mark.postgres
def test_the_purger_may_delete_but_never_update(postgres_only):
    event = append_event(actor=Actor.system(), action="test.event")
    run_sql(f"SET LOCAL ROLE {PURGER_ROLE}")
    try:
        update = refused("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
        deleted = run_sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    finally:
        run_sql("RESET ROLE")

    assert "permission denied" in update
    assert deleted == 1
    append_event(actor=Actor.system(), action="test.event")
    assert REFUSED in refused("DELETE FROM audit_auditevent")


EVIDENCE_TABLES = [
    "audit_auditevent",
    "audit_ledgerhead",
    "audit_ledgercheckpoint",
    "audit_ledgerverification",
    "audit_purgerecord",
    "oversight_case",
    "oversight_decision",
    "oversight_authoritygrant",
    "literacy_trainingcompletion",
    "oversight_gateevaluation",
    "oversight_issuedreport",
    "oversight_judgementpoint",
    "oversight_historicaldecision",
]


@pytest.mark.postgres
@pytest.mark.parametrize("table", EVIDENCE_TABLES)
def test_truncate_is_refused_on_every_evidence_table_even_for_a_superuser(postgres_only, table):
    append_event(actor=Actor.system(), action="test.event")
    before = AuditEvent.objects.count()
    run_sql("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks to trip over

    message = refused(f"TRUNCATE {table} CASCADE")
    run_sql("SET CONSTRAINTS ALL DEFERRED")

    assert f"TRUNCATE on {table} refused: its rows are evidence" in message
    assert table in truncate_protected_tables()
    assert AuditEvent.objects.count() == before


@pytest.mark.postgres
def test_the_purge_function_refuses_a_short_retention_or_young_events(postgres_only):
    *_, last = [append_event(actor=Actor.system(), action="test.event") for _ in range(2)]
    write_checkpoint(kind=CheckpointKind.PURGE, sequence=2, head_hash=last.hash)

    short = refused("SELECT hitl_purge_ledger(2, 1)")
    young = refused("SELECT hitl_purge_ledger(2, 183)")

    assert "1 days is under the minimum of 183 days" in short
    assert "events up to #2 are not all older than 183 days" in young
    assert AuditEvent.objects.count() == 2
    assert not PurgeRecord.objects.exists()


@pytest.mark.postgres
def test_the_purge_function_needs_a_signed_purge_checkpoint(postgres_only):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=400), tick=False):
        *_, last = [append_event(actor=Actor.system(), action="test.event") for _ in range(2)]
    LedgerCheckpoint.objects.create(sequence=2, head_hash=last.hash, kind="purge")  # unsigned

    message = refused("SELECT hitl_purge_ledger(2, 183)")

    assert "no signed purge checkpoint at #2" in message
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
def test_the_purge_function_deletes_old_events_and_records_it(postgres_only):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=400), tick=False):
        *_, last = [append_event(actor=Actor.system(), action="test.event") for _ in range(2)]
    append_event(actor=Actor.system(), action="test.event")
    write_checkpoint(kind=CheckpointKind.PURGE, sequence=2, head_hash=last.hash)

    with connection.cursor() as cursor:
        cursor.execute("SELECT hitl_purge_ledger(2, 183)")
        assert cursor.fetchone() == (2,)

    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == [3]
    record = PurgeRecord.objects.get()
    assert (record.table, record.deleted, record.through_sequence, record.retention_days) == (
        "audit_auditevent",
        2,
        2,
        183,
    )
    assert record.database_user == connection.settings_dict["USER"]


def history_refusal(sql: str, params=()) -> str:
    """Run an UPDATE and force the deferred history check now, in a savepoint."""
    with pytest.raises(DatabaseError) as failure, transaction.atomic():
        run_sql(sql, params)
        run_sql("SET CONSTRAINTS ALL IMMEDIATE")
    run_sql("SET CONSTRAINTS ALL DEFERRED")
    return str(failure.value)


HISTORY_REQUIRED = {
    "oversight_decision": (lambda: DecisionFactory(rationale="as seen"), "rationale", "'forged'"),
    "oversight_authoritygrant": (
        AuthorityGrantFactory,
        "valid_until",
        "now() + interval '9 years'",
    ),
    "literacy_trainingcompletion": (TrainingCompletionFactory, "score", "100"),
    "oversight_judgementpoint": (JudgementPointFactory, "is_active", "NOT is_active"),
    "oversight_incident": (IncidentFactory, "deadline", "deadline + interval '1 day'"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("table", HISTORY_REQUIRED)
def test_a_raw_update_of_live_evidence_without_history_is_refused(postgres_only, table):
    make, column, value = HISTORY_REQUIRED[table]
    row = make()
    model = type(row)
    before = model.objects.filter(pk=row.pk).values(column).get()
    history_rows = model.history.filter(id=row.pk).count()

    message = history_refusal(f"UPDATE {table} SET {column} = {value} WHERE id = %s", [row.pk])

    assert f"UPDATE on {table} refused: row {row.pk} no longer matches its latest history row" in (
        message
    )
    assert model.objects.filter(pk=row.pk).values(column).get() == before
    assert model.history.filter(id=row.pk).count() == history_rows


@pytest.mark.postgres
def test_a_change_through_the_product_writes_history_and_passes(postgres_only):
    decision = DecisionFactory(rationale="first")
    decision.rationale = "second"
    decision.save()

    run_sql("SET CONSTRAINTS ALL IMMEDIATE")  # would raise if the check failed
    run_sql("SET CONSTRAINTS ALL DEFERRED")
    assert decision.history.count() == 2


@pytest.mark.postgres
def test_a_missing_or_disabled_trigger_is_reported_and_repaired(postgres_only):
    history_table = Journey.history.model._meta.db_table
    run_sql(f"DROP TRIGGER {TRIGGER_NAME} ON {history_table}")
    run_sql(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {TRIGGER_NAME}")

    assert set(missing_protection()) == {history_table, "audit_auditevent"}
    assert set(install_protection()) == {history_table, "audit_auditevent"}
    assert missing_protection() == []
    assert install_protection() == []  # idempotent: nothing left to do
