"""The after-commit seal on PostgreSQL: one transaction (issue #17).

`seal_recorded` takes the exclusive sealing lock, then reads the head (locking it) and the
pending rows in one statement, and seals the batch only if its event is still pending. These
tests hold its two less travelled paths to the chain's rules: an event a batch before sealed is
read, not sealed again, and a batch that read rows an append sealed meanwhile (the append takes
the head lock without the sealing lock) rolls back whole and reads again, leaving one gap-free
chain.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import ledger, sealing
from audit.services import own_batch as own_batch_module
from audit.services.ledger import (
    Actor,
    append_event,
    ledger_head,
    record_event,
    seal_recorded,
    verify_ledger,
)
from tests.audit.raw_connection import raw_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def record_left_pending(monkeypatch, n: int) -> AuditEvent:
    """An event committed but not sealed, as if its process died right after its COMMIT."""
    with monkeypatch.context() as patched:
        patched.setattr(ledger, "seal_recorded", lambda event: None)
        with transaction.atomic():
            return record_event(actor=Actor.system(), action="test.recorded", payload={"n": n})


def stored_seal(event: AuditEvent) -> tuple:
    return AuditEvent.objects.values_list("sequence", "prev_hash", "hash").get(pk=event.pk)


def test_an_event_sealed_by_the_batch_before_is_read_and_nothing_is_written(
    postgres_only, monkeypatch, django_assert_num_queries
):
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    first = record_left_pending(monkeypatch, 1)
    second = record_left_pending(monkeypatch, 2)
    seal_recorded(first)  # its batch seals both, in id order
    assert second.sequence is None
    head = ledger_head()
    assert head[0] == 3 and stored_seal(second)[0] == 3

    # Is a sealer at work (one statement)? No: the exclusive sealing lock and the one read,
    # rolled back: no UPDATE; then, the lock released, the look for events left pending
    # meanwhile (test_sealing_never_waits.py).
    with django_assert_num_queries(6) as captured:
        seal_recorded(second)

    sql = [query["sql"] for query in captured.captured_queries]
    assert sql[0].startswith("SELECT pg_try_advisory_xact_lock(")
    assert sql[1] == "BEGIN" and sql[4] == "ROLLBACK"
    assert sql[2].startswith("SELECT pg_try_advisory_xact_lock(")
    assert sql[5].startswith("SELECT EXISTS (SELECT")
    assert sql[3].startswith("WITH h AS (SELECT") and "FOR UPDATE" in sql[3]
    assert (second.sequence, second.prev_hash, second.hash) == stored_seal(second)
    assert ledger_head() == head
    assert verify_ledger().ok


def _wait_until_a_session_waits_on_a_row_lock(watcher, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND query LIKE 'WITH h AS (SELECT%%'"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the sealer never waited for the head lock")


def test_a_batch_that_read_rows_an_append_sealed_meanwhile_rolls_back_and_reads_again(
    postgres_only, monkeypatch
):
    append_event(actor=Actor.system(), action="test.appended", payload={"n": 0})
    event = record_left_pending(monkeypatch, 1)
    tries = []
    own_batch = sealing.seal_own_batch

    def counted(event_id):
        tries.append(event_id)
        return own_batch(event_id)

    monkeypatch.setattr(sealing, "seal_own_batch", counted)
    appended, release, failures = threading.Event(), threading.Event(), []

    def append_holding_the_head() -> None:
        try:
            with transaction.atomic():
                # Locks the head and seals the pending event, then holds the lock a while.
                append_event(actor=Actor.system(), action="test.appended", payload={"n": 2})
                appended.set()
                assert release.wait(10)
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            connection.close()

    def seal() -> None:
        try:
            seal_recorded(event)
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            connection.close()

    appender = threading.Thread(target=append_holding_the_head)
    appender.start()
    assert appended.wait(10)
    sealer = threading.Thread(target=seal)
    watcher = raw_connection()
    try:
        sealer.start()  # its read began while the event was pending, then waits for the head
        _wait_until_a_session_waits_on_a_row_lock(watcher)
        release.set()
        appender.join(10)
        sealer.join(10)
    finally:
        release.set()
        watcher.close()
    assert not failures
    assert verify_ledger().ok
    assert ledger_head()[0] == 3
    assert (event.sequence, event.prev_hash, event.hash) == stored_seal(event)
    assert event.sequence == 2
    assert len(tries) == 2  # the stale batch rolled back whole, the second read found the seal


def test_the_seals_read_scans_the_pending_index_in_order_not_by_bitmap(postgres_only):
    """A plain scan of `audit_event_pending` marks the entries of rows sealed since the last
    VACUUM as dead as it passes them; a bitmap scan would visit each of their heap pages on
    every seal, however many (with autovacuum behind, thousands per seal)."""
    read_sql, _, _ = own_batch_module.own_batch_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(own_batch_module.LOCK_FOR_OWN_BATCH, [sealing.SEALING_LOCK])
        cursor.execute("SHOW enable_bitmapscan")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("EXPLAIN " + read_sql, [1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert "Bitmap" not in plan
    assert "Index Scan using audit_event_pending" in plan
    with connection.cursor() as cursor:  # for the seal's transaction only
        cursor.execute("SHOW enable_bitmapscan")
        assert cursor.fetchone()[0] == "on"
