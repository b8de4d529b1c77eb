"""Verifications are recorded; daily checkpoints anchor the verified head; checks resume there."""

import logging

import pytest
from django_q.models import Schedule

from audit import tasks
from audit.models import (
    AuditEvent,
    CheckpointKind,
    LedgerCheckpoint,
    LedgerVerification,
    VerificationTrigger,
)
from audit.services.ledger import Actor, append_event, verify_ledger
from audit.services.verification import create_daily_checkpoint, run_verification
from oversight.models import ImmutableRecordError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def events(count: int):
    return [append_event(actor=Actor.system(), action="test.event") for _ in range(count)]


def test_a_verification_is_recorded_with_who_asked_and_what_was_checked():
    *_, last = events(3)
    officer = UserFactory(username="cora")

    check, record = run_verification(triggered_by=VerificationTrigger.ADMIN, user=officer)

    assert check.ok
    record.refresh_from_db()
    assert record.ok
    assert (record.from_sequence, record.head_sequence, record.count) == (1, 3, 3)
    assert record.head_hash == last.hash
    assert (record.broken_at, record.reason) == (None, "")
    assert (record.triggered_by, record.user) == (VerificationTrigger.ADMIN, officer)
    assert not record.since_checkpoint


def test_a_broken_chain_is_recorded_and_logged_as_an_error(tamper, caplog):
    events(3)
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(action="test.forged")

    with caplog.at_level(logging.ERROR, logger="audit.services.verification"):
        check, record = run_verification(triggered_by=VerificationTrigger.COMMAND)

    assert not check.ok
    assert (record.ok, record.broken_at, record.head_sequence) == (False, 2, 1)
    assert record.reason == "its content was changed after writing"
    assert "BROKEN at #2: its content was changed after writing" in caplog.text


def test_a_recorded_verification_cannot_be_changed_or_deleted():
    _, record = run_verification(triggered_by=VerificationTrigger.COMMAND)
    record.ok = False
    with pytest.raises(ImmutableRecordError):
        record.save()
    with pytest.raises(ImmutableRecordError):
        record.delete()
    assert LedgerVerification.objects.get().ok


def test_the_daily_checkpoint_anchors_the_verified_head_once():
    *_, last = events(4)

    checkpoint = create_daily_checkpoint()

    assert (checkpoint.sequence, checkpoint.head_hash, checkpoint.kind) == (
        4,
        last.hash,
        CheckpointKind.DAILY,
    )
    assert create_daily_checkpoint() is None  # nothing new: run twice, one checkpoint
    assert LedgerCheckpoint.objects.count() == 1
    [verification, _] = LedgerVerification.objects.order_by("pk")
    assert verification.triggered_by == VerificationTrigger.SCHEDULE
    assert verification.since_checkpoint


def test_no_checkpoint_is_made_for_a_broken_chain(tamper):
    events(3)
    with tamper():
        AuditEvent.objects.filter(sequence=3).update(payload={"forged": True})

    assert create_daily_checkpoint() is None
    assert not LedgerCheckpoint.objects.exists()
    assert not LedgerVerification.objects.get().ok


def test_an_empty_ledger_gets_no_checkpoint():
    assert create_daily_checkpoint() is None
    assert not LedgerCheckpoint.objects.exists()


def test_checking_since_the_checkpoint_reads_only_the_newer_events():
    events(5)
    create_daily_checkpoint()
    *_, last = events(3)

    result = verify_ledger(since_checkpoint=True)

    assert result.ok
    # The checkpointed event is re-hashed too: its own hash covers its link backwards.
    assert (result.from_sequence, result.head_sequence, result.count) == (5, 8, 4)
    assert result.head_hash == last.hash
    assert result.checkpoint.sequence == 5


def test_an_edit_before_the_checkpoint_is_outside_an_incremental_check_but_not_a_full_one(
    tamper,
):
    events(5)
    create_daily_checkpoint()
    events(2)
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(action="test.forged")

    assert verify_ledger(since_checkpoint=True).ok
    assert verify_ledger().broken_at == 2


def test_a_checkpointed_event_that_was_changed_fails_the_incremental_check(tamper):
    events(5)
    create_daily_checkpoint()
    events(2)
    with tamper():
        AuditEvent.objects.filter(sequence=5).update(actor_label="someone")

    result = verify_ledger(since_checkpoint=True)

    assert (result.ok, result.broken_at) == (False, 5)
    assert "changed" in result.reason


def test_a_checkpointed_event_that_was_rewritten_whole_is_caught_by_its_hash(tamper):
    events(5)
    create_daily_checkpoint()
    with tamper():
        AuditEvent.objects.filter(sequence=5).update(hash="e" * 64)

    result = verify_ledger(since_checkpoint=True)

    assert (result.ok, result.broken_at) == (False, 5)
    assert "no longer has the checkpoint's hash" in result.reason


def test_the_tasks_verify_and_checkpoint_and_say_what_they_did():
    *_, last = events(2)

    assert tasks.verify_audit_trail() == f"OK: 2 events, head {last.hash}"
    assert tasks.checkpoint_ledger() == "Daily anchor checkpoint at #2"
    assert tasks.checkpoint_ledger() == "No new checkpoint."
    assert LedgerVerification.objects.filter(triggered_by="schedule").count() == 3


def test_migrations_schedule_the_daily_verification_and_checkpoint():
    verify = Schedule.objects.get(name="Verify audit trail")
    checkpoint = Schedule.objects.get(name="Ledger checkpoint")

    assert (verify.func, verify.schedule_type, verify.repeats) == (
        "audit.tasks.verify_audit_trail",
        Schedule.DAILY,
        -1,
    )
    assert (checkpoint.func, checkpoint.schedule_type) == (
        "audit.tasks.checkpoint_ledger",
        Schedule.DAILY,
    )
    assert verify.next_run < checkpoint.next_run
