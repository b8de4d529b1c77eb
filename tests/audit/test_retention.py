"""Retention: old ledger events and gate evaluations go by the sanctioned path, on the record."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent, CheckpointKind, LedgerCheckpoint
from audit.services.ledger import Actor, append_event, ledger_head, verify_ledger
from audit.services.retention import RetentionRefused, purge_expired
from oversight.models import GateEvaluation
from tests.factories import CaseFactory, GateEvaluationFactory, OutcomeFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
OLD = NOW - datetime.timedelta(days=800)  # past the default 730 days
RECENT = NOW - datetime.timedelta(days=10)
PURGER = Actor.system("purge_retention")


def events_at(moment, count: int, action: str = "test.event"):
    with time_machine.travel(moment, tick=False):
        return [append_event(actor=Actor.system(), action=action) for _ in range(count)]


def snapshot():
    return (
        AuditEvent.objects.count(),
        GateEvaluation.objects.count(),
        LedgerCheckpoint.objects.count(),
        ledger_head(),
    )


def test_a_retention_under_six_months_is_refused_and_nothing_is_deleted(settings):
    settings.RETENTION_LEDGER_DAYS = 90
    events_at(OLD, 3)
    GateEvaluationFactory(created_at=OLD)
    before = snapshot()

    with pytest.raises(RetentionRefused) as refused:
        purge_expired(now=NOW, actor=PURGER)

    assert refused.value.message == (
        "RETENTION_LEDGER_DAYS=90: audit events must be kept at least 183 days (six months). "
        "Nothing was purged."
    )
    assert snapshot() == before


def test_a_retention_under_six_months_stops_the_project_at_startup(settings):
    settings.RETENTION_GATE_EVALUATIONS_DAYS = 182
    errors = [error for error in run_checks() if error.id == "audit.E001"]

    assert [error.msg for error in errors] == [
        "RETENTION_GATE_EVALUATIONS_DAYS=182: gate evaluations must be kept at least 183 days "
        "(six months)."
    ]
    assert errors[0].is_serious()


def test_the_default_retention_passes_the_startup_check():
    assert not [error for error in run_checks() if error.id == "audit.E001"]


def test_old_events_are_purged_behind_a_checkpoint_and_the_chain_still_verifies():
    old = events_at(OLD, 4)
    recent = events_at(RECENT, 2)

    report = purge_expired(now=NOW, actor=PURGER)

    assert (report.ledger_deleted, report.ledger_first, report.ledger_through) == (4, 1, 4)
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == [5, 6, 7]
    checkpoint = LedgerCheckpoint.objects.get()
    assert (checkpoint.kind, checkpoint.sequence, checkpoint.head_hash) == (
        CheckpointKind.PURGE,
        4,
        old[-1].hash,
    )
    purge_event = AuditEvent.objects.get(sequence=7)
    assert (purge_event.action, purge_event.actor_label) == ("retention.purged", "purge_retention")
    assert purge_event.payload["ledger"] == {
        "retention_days": 730,
        "cutoff": (NOW - datetime.timedelta(days=730)).isoformat().replace("+00:00", "Z"),
        "deleted": 4,
        "first_sequence": 1,
        "through_sequence": 4,
        "through_hash": old[-1].hash,
    }
    assert purge_event.prev_hash == recent[-1].hash
    result = verify_ledger()
    assert result.ok, result.summary()
    assert (result.from_sequence, result.head_sequence, result.count) == (5, 7, 3)
    assert result.checkpoint == checkpoint


def test_a_tampered_event_after_the_purge_is_still_detected(tamper):
    events_at(OLD, 3)
    events_at(RECENT, 3)
    purge_expired(now=NOW, actor=PURGER)
    with tamper():
        AuditEvent.objects.filter(sequence=5).update(payload={"forged": True})

    result = verify_ledger()

    assert (result.ok, result.broken_at) == (False, 5)
    assert "changed" in result.reason


def test_a_deleted_first_event_after_the_purge_is_detected(tamper):
    events_at(OLD, 3)
    events_at(RECENT, 3)
    purge_expired(now=NOW, actor=PURGER)
    with tamper():
        AuditEvent.objects.filter(sequence=4).delete()

    result = verify_ledger()

    assert (result.ok, result.broken_at) == (False, 4)
    assert "missing" in result.reason


def test_a_forged_purge_checkpoint_cannot_hide_tampering(tamper):
    events = events_at(OLD, 3) + events_at(RECENT, 3)
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(action="test.forged")
    # To skip the edited event, the intruder adds a purge checkpoint past it.
    LedgerCheckpoint.objects.create(sequence=3, head_hash=events[2].hash, kind=CheckpointKind.PURGE)

    result = verify_ledger()

    assert (result.ok, result.broken_at) == (False, 3)
    assert "no retention.purged event in the ledger confirms the purge checkpoint" in result.reason


def test_the_prefix_stops_at_the_first_event_young_enough_to_keep():
    events_at(OLD, 2)
    events_at(RECENT, 1)
    events_at(OLD, 1)  # a server with a wrong clock: old time, later in the chain

    report = purge_expired(now=NOW, actor=PURGER)

    assert (report.ledger_deleted, report.ledger_through) == (2, 2)
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == [3, 4, 5]
    assert verify_ledger().ok


def test_a_second_purge_starts_from_the_first_ones_checkpoint():
    events_at(OLD, 2)
    events_at(NOW - datetime.timedelta(days=740), 2)
    events_at(RECENT, 1)
    purge_expired(now=NOW - datetime.timedelta(days=20), actor=PURGER)  # cutoff 750 days back
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == [3, 4, 5, 6]

    report = purge_expired(now=NOW, actor=PURGER)

    assert (report.ledger_first, report.ledger_through, report.ledger_deleted) == (3, 4, 2)
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == [5, 6, 7]
    result = verify_ledger()
    assert result.ok, result.summary()
    assert result.from_sequence == 5


def test_gate_evaluations_a_case_or_outcome_refers_to_are_kept():
    unreferenced = GateEvaluationFactory(created_at=OLD)
    opened_a_case = GateEvaluationFactory(created_at=OLD)
    CaseFactory(evaluation=opened_a_case)
    has_an_outcome = GateEvaluationFactory(created_at=OLD)
    OutcomeFactory(evaluation=has_an_outcome, case=None)
    recent = GateEvaluationFactory(created_at=RECENT)

    report = purge_expired(now=NOW, actor=PURGER)

    assert (report.gate_deleted, report.gate_kept_referenced) == (1, 2)
    assert set(GateEvaluation.objects.values_list("pk", flat=True)) == {
        opened_a_case.pk,
        has_an_outcome.pk,
        recent.pk,
    }
    assert not GateEvaluation.objects.filter(pk=unreferenced.pk).exists()
    event = AuditEvent.objects.get(action="retention.purged")
    assert event.payload["gate_evaluations"]["deleted"] == 1
    assert event.payload["gate_evaluations"]["kept_referenced"] == 2
    assert event.payload["ledger"]["deleted"] == 0
    assert not LedgerCheckpoint.objects.exists()  # no ledger event was deleted
    assert verify_ledger().ok


def test_a_dry_run_reports_and_deletes_nothing():
    events_at(OLD, 3)
    events_at(RECENT, 1)
    GateEvaluationFactory(created_at=OLD)
    CaseFactory(evaluation=GateEvaluationFactory(created_at=OLD))
    before = snapshot()

    report = purge_expired(now=NOW, actor=PURGER, dry_run=True)

    assert (report.ledger_deleted, report.ledger_through) == (3, 3)
    assert (report.gate_deleted, report.gate_kept_referenced) == (1, 1)
    assert report.lines()[0].startswith("Would delete 3 audit events older than 2024-11-25")
    assert snapshot() == before


def test_nothing_to_purge_records_nothing():
    events_at(RECENT, 2)
    before = snapshot()

    report = purge_expired(now=NOW, actor=PURGER)

    assert not report.deleted_anything
    assert report.event is None
    assert snapshot() == before


def test_a_ledger_that_does_not_verify_is_not_purged(tamper):
    events_at(OLD, 3)
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(action="test.forged")
    GateEvaluationFactory(created_at=OLD)
    before = snapshot()

    with pytest.raises(RetentionRefused, match=r"does not verify \(BROKEN at #2: .*Nothing"):
        purge_expired(now=NOW, actor=PURGER)

    assert snapshot() == before


@pytest.mark.postgres
def test_on_postgresql_the_purge_window_closes_with_the_purge(postgres_only):
    events_at(OLD, 2)
    events_at(RECENT, 1)

    purge_expired(now=NOW, actor=PURGER)

    assert AuditEvent.objects.count() == 2
    with (
        pytest.raises(DatabaseError, match="refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 2


def test_the_command_purges_and_prints_what_it_did():
    events_at(NOW - datetime.timedelta(days=1000), 2)
    out = StringIO()

    with time_machine.travel(NOW, tick=False):
        call_command("purge_retention", "--dry-run", stdout=out)
        assert AuditEvent.objects.count() == 2
        call_command("purge_retention", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == ("Would delete 2 audit events older than 2024-11-25 12:00 UTC (#1–#2).")
    assert "Deleted 2 audit events older than 2024-11-25 12:00 UTC (#1–#2)." in lines
    assert "Recorded as ledger event #3 (retention.purged)." in lines
    assert AuditEvent.objects.count() == 1


def test_the_command_explains_a_refusal(settings):
    settings.RETENTION_LEDGER_DAYS = 30
    with pytest.raises(CommandError, match="RETENTION_LEDGER_DAYS=30: audit events must be kept"):
        call_command("purge_retention")


def test_the_daily_summaries_of_purged_days_count_what_is_left():
    from oversight.metrics import Period, breakdown, figures
    from oversight.services.rollups import roll_up_gate_days

    GateEvaluationFactory(created_at=OLD)
    CaseFactory(evaluation=GateEvaluationFactory(created_at=OLD))
    GateEvaluationFactory(created_at=RECENT)
    roll_up_gate_days(now=NOW)
    everything = Period(start=OLD - datetime.timedelta(days=2), end=NOW)
    assert breakdown(period=everything).overall.gate_calls == 3

    purge_expired(now=NOW, actor=PURGER)

    assert breakdown(period=everything).overall == figures(period=everything)
    assert breakdown(period=everything).overall.gate_calls == 2


def test_anchors_older_than_the_purge_stay_valid_and_the_purge_is_recorded():
    from audit.models import PurgeRecord
    from audit.services.verification import create_daily_checkpoint
    from tests.factories import IssuedReportFactory

    old = events_at(OLD, 4)
    with time_machine.travel(OLD, tick=False):
        create_daily_checkpoint()  # signed, at #4: about to be purged
    IssuedReportFactory(ledger_sequence=2, ledger_hash=old[1].hash)
    events_at(RECENT, 2)

    report = purge_expired(now=NOW, actor=PURGER)

    assert report.ledger_deleted == 4
    check = verify_ledger()
    assert check.ok, check.summary()
    assert check.anchors.checkpoints == 2  # the daily one and the purge's own, both signed
    [record] = PurgeRecord.objects.filter(table="audit_auditevent")
    assert (record.deleted, record.through_sequence, record.retention_days) == (4, 4, 730)
