"""Events recorded pending and sealed into the chain after their commit (issue #17).

`record_event` inserts an event without sequence or hash and takes no lock; right after the
commit it is sealed, with every other committed pending event, under the head lock. These
tests hold the chain to one gap-free, verifiable sequence through mixed deferred and immediate
appends, rollbacks, and a process that died between its commit and the seal.
"""

import datetime

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from audit import tasks
from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import (
    GENESIS_HASH,
    Actor,
    append_event,
    hash_of,
    ledger_head,
    record_event,
    seal_pending,
    verify_ledger,
)

pytestmark = pytest.mark.django_db


def record(n: int) -> AuditEvent:
    return record_event(actor=Actor.system(), action="test.recorded", payload={"n": n})


def append(n: int) -> AuditEvent:
    return append_event(actor=Actor.system(), action="test.appended", payload={"n": n})


def pending() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(sequence__isnull=True).order_by("id"))


def chain() -> list[tuple[int, str]]:
    """(sequence, action:n) of every sealed event, in chain order."""
    return [
        (event.sequence, f"{event.action}:{event.payload['n']}")
        for event in AuditEvent.objects.filter(sequence__isnull=False).order_by("sequence")
    ]


def test_a_recorded_event_is_pending_until_its_commit_then_sealed_before_the_caller_goes_on(
    django_capture_on_commit_callbacks,
):
    append(0)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = record(1)
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (stored.sequence, stored.prev_hash, stored.hash) == (None, "", None)
        assert ledger_head()[0] == 1  # nothing locked or advanced in the transaction

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (event.sequence, event.prev_hash, event.hash) == (2, stored.prev_hash, stored.hash)
    assert stored.sequence == 2
    assert stored.prev_hash == AuditEvent.objects.get(sequence=1).hash
    assert stored.hash == hash_of(stored)
    assert ledger_head() == (2, stored.hash)
    assert pending() == []
    check = verify_ledger()
    assert check.ok and check.count == 2, check.summary()


def test_the_hash_covers_the_time_recorded_at_insert_not_the_time_of_sealing(
    django_capture_on_commit_callbacks,
):
    recorded_at = datetime.datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=datetime.UTC)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        time_machine.travel(recorded_at, tick=False),
    ):
        event = record(1)
    with time_machine.travel(recorded_at + datetime.timedelta(minutes=5), tick=False):
        callbacks[0]()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.occurred_at == recorded_at
    assert stored.hash == hash_of(stored)
    assert verify_ledger().ok


def test_pending_events_are_sealed_in_id_order_gap_free_between_immediate_appends():
    append(1)
    record(2)
    record(3)
    record(4)
    assert [e.payload["n"] for e in pending()] == [2, 3, 4]

    # An ordinary append seals what is pending first, under the same lock.
    append(5)
    record(6)
    assert seal_pending() == 1

    assert chain() == [
        (1, "test.appended:1"),
        (2, "test.recorded:2"),
        (3, "test.recorded:3"),
        (4, "test.recorded:4"),
        (5, "test.appended:5"),
        (6, "test.recorded:6"),
    ]
    assert pending() == []
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [e.prev_hash for e in events] == [GENESIS_HASH] + [e.hash for e in events[:-1]]
    check = verify_ledger()
    assert check.ok and check.count == 6 and check.head_hash == events[-1].hash, check.summary()


def test_a_rolled_back_case_opening_leaves_nothing_pending_and_no_gap(
    django_capture_on_commit_callbacks,
):
    append(1)
    head = ledger_head()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="refused later"),
        transaction.atomic(),
    ):
        record(2)
        raise RuntimeError("refused later in the same transaction")

    assert callbacks == []  # nothing to seal: the event went with its transaction
    assert AuditEvent.objects.count() == 1
    assert pending() == []
    assert ledger_head() == head
    record(3)
    seal_pending()
    assert chain() == [(1, "test.appended:1"), (2, "test.recorded:3")]
    assert verify_ledger().ok


def test_a_pending_event_left_by_a_dead_process_is_not_a_break_and_the_schedule_seals_it(
    django_capture_on_commit_callbacks,
):
    append(1)
    # The process dies after its commit and before the seal: the callback never runs.
    with django_capture_on_commit_callbacks(execute=False):
        left = record(2)

    check = verify_ledger()
    assert check.ok and check.count == 1, check.summary()
    assert check.pending.count == 0  # moments old: not worth a mention yet

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        late = verify_ledger()
        assert late.ok and late.count == 1
        assert late.pending.count == 1
        assert "1 event(s) recorded but not yet chained" in late.summary()

        assert tasks.seal_pending_events() == "1 pending ledger event(s) sealed."
        assert tasks.seal_pending_events() == "0 pending ledger event(s) sealed."

        after = verify_ledger()
    assert after.ok and after.count == 2 and after.pending.count == 0, after.summary()
    assert AuditEvent.objects.get(pk=left.pk).sequence == 2


def test_a_pending_event_left_behind_is_sealed_by_the_next_append(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        record(1)
    append(2)
    assert chain() == [(1, "test.recorded:1"), (2, "test.appended:2")]
    assert verify_ledger().ok


def test_only_pending_events_and_no_head_yet_verify_as_an_empty_ledger():
    record(1)
    assert not LedgerHead.objects.exists()

    check = verify_ledger()

    assert check.ok and check.count == 0, check.summary()


def test_the_daily_verification_seals_what_is_pending_first():
    append(1)
    record(2)

    summary = tasks.verify_audit_trail()

    assert summary.startswith("OK: 2 events")
    assert pending() == []


def test_sealing_with_nothing_pending_changes_nothing():
    append(1)
    head = LedgerHead.objects.get()

    assert seal_pending() == 0

    assert LedgerHead.objects.get().sequence == head.sequence == 1
    assert chain() == [(1, "test.appended:1")]


def test_the_sealing_schedule_runs_every_minute_for_ever():
    schedule = Schedule.objects.get(name="Seal pending ledger events")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "audit.tasks.seal_pending_events",
        Schedule.MINUTES,
        1,
        -1,
    )


def test_a_pending_event_is_listed_as_pending_in_the_admin(admin_client):
    append(1)
    event = record(2)

    response = admin_client.get(reverse("admin:audit_auditevent_changelist"))

    assert response.status_code == 200
    assert "pending" in response.content.decode()
    assert str(event) == "pending test.recorded :"
    assert (
        admin_client.get(reverse("admin:audit_auditevent_change", args=[event.pk])).status_code
        == 200
    )
