"""No case opening waits for another's seal on PostgreSQL (issue #17).

The after-commit seal tries the exclusive sealing lock. If a batch is being sealed, it leaves
at once and its event to that batch's sealer, which looks for pending events after its own
commit and seals again while any are left. These tests hold a sealer mid-batch with real
threads and show that a second caller returns without waiting, and that its event is still
chained, in order, by the sealer that was at work, whether that sealer is another case
opening's seal or the schedule's.
"""

import threading

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import own_batch, sealing
from audit.services.ledger import (
    Actor,
    append_event,
    ledger_head,
    record_event,
    seal_pending,
    verify_ledger,
)
from tests.audit.raw_connection import raw_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def stored(event: AuditEvent) -> tuple:
    return AuditEvent.objects.values_list("sequence", "prev_hash", "hash").get(pk=event.pk)


def recorded(n: int) -> AuditEvent:
    """An event recorded and committed; its on-commit seal runs before this returns."""
    with transaction.atomic():
        return record_event(actor=Actor.system(), action="test.recorded", payload={"n": n})


def in_thread(target, failures: list) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_case_opening_leaves_at_once_when_a_batch_is_being_sealed(postgres_only):
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    batch = raw_connection()
    try:
        batch.execute("SELECT pg_advisory_lock(%s)", [sealing.SEALING_LOCK])  # a batch runs
        done, failures, events = threading.Event(), [], []
        opener = in_thread(lambda: (events.append(recorded(1)), done.set()), failures)
        answered = done.wait(5)
    finally:
        batch.close()  # the batch ends (its lock with its session)
    opener.join(10)
    assert answered, "the case opening waited for the batch being sealed"
    assert not failures
    [event] = events
    assert event.sequence is None and stored(event)[0] is None  # left to the sealer at work
    assert seal_pending() == 1  # here no sealer of ours held it: the schedule's seal chains it
    assert stored(event)[0] == 2
    assert verify_ledger().ok


def hold_first_batch(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Pause the first sealing batch after its read, holding the sealing lock (the hash of its
    first row waits), until `release` is set; `holding` is set once it does."""
    holding, release = threading.Event(), threading.Event()
    event_hash = sealing.event_hash
    sealer = []

    def paused(**fields):
        if not sealer:
            sealer.append(threading.get_ident())
        if sealer == [threading.get_ident()] and not release.is_set():
            holding.set()
            assert release.wait(10)
        return event_hash(**fields)

    monkeypatch.setattr(sealing, "event_hash", paused)  # a batch's (the schedule's)
    monkeypatch.setattr(own_batch, "event_hash", paused)  # a case opening's own batch
    return holding, release


def left_pending(monkeypatch, n: int) -> AuditEvent:
    with monkeypatch.context() as patched:
        patched.setattr("audit.services.ledger.seal_recorded", lambda event: None)
        return recorded(n)


@pytest.mark.parametrize("sealer", ["a case opening's seal", "the schedule's seal"])
def test_the_sealer_at_work_chains_the_event_left_to_it(postgres_only, monkeypatch, sealer):
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    holding, release = hold_first_batch(monkeypatch)
    failures, first, second = [], [], []
    if sealer == "the schedule's seal":
        left_pending(monkeypatch, 1)
        holder = in_thread(seal_pending, failures)
    else:
        holder = in_thread(lambda: first.append(recorded(1)), failures)
    try:
        assert holding.wait(10), "the first batch never took the sealing lock"
        done = threading.Event()
        opener = in_thread(lambda: (second.append(recorded(2)), done.set()), failures)
        answered = done.wait(5)
        still_pending = bool(second) and stored(second[0])[0] is None
    finally:
        release.set()
    holder.join(10)
    opener.join(10)
    assert not failures
    assert answered, "the second case opening waited for the batch being sealed"
    assert still_pending and second[0].sequence is None  # it answered before its seal
    # The sealer at work sealed again after its commit: both are chained, in order.
    assert AuditEvent.objects.filter(sequence__isnull=True).count() == 0
    assert stored(second[0])[0] == 3
    assert ledger_head()[0] == 3
    if first:
        assert (first[0].sequence, first[0].prev_hash, first[0].hash) == stored(first[0])
    assert verify_ledger().ok


def test_a_sealer_leaves_after_its_rounds_and_the_next_seal_takes_over(postgres_only, monkeypatch):
    """A sealer does not seal forever under a stream of case openings: after `_ROUNDS` rounds
    it leaves what is pending, and the next seal (here the schedule's) chains it."""
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    rounds = []
    seal_own_batch = sealing.seal_own_batch

    def another_arrives_each_round(event_id):
        rounds.append(event_id)
        sealed = seal_own_batch(event_id)
        left_pending(monkeypatch, 100 + len(rounds))  # committed meanwhile, left to us
        return sealed

    monkeypatch.setattr(sealing, "seal_own_batch", another_arrives_each_round)
    event = recorded(1)
    assert len(rounds) == sealing._ROUNDS
    assert event.sequence == 2
    assert AuditEvent.objects.filter(sequence__isnull=True).count() == 1  # the last arrival
    monkeypatch.setattr(sealing, "seal_own_batch", seal_own_batch)
    assert seal_pending() == 1
    assert verify_ledger().ok
