"""A caller whose event a running batch is sealing waits for that batch, not for the head lock.

On PostgreSQL a sealing batch holds an exclusive advisory lock; the after-commit seal takes the
same lock first, then reads its event with a new statement, and seals only if it is still
pending: a caller the running batch sealed leaves with that read (issue #17).
"""

import threading

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services.ledger import Actor, record_event
from audit.services.sealing import SEALING_LOCK, seal_recorded
from tests.audit.raw_connection import raw_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_caller_waits_for_the_running_batch_then_finds_its_event_sealed(postgres_only):
    with transaction.atomic():
        event = record_event(actor=Actor.system(), action="test.recorded", payload={})
    # Committed, and sealed right after by its on-commit seal.
    assert AuditEvent.objects.get(pk=event.pk).sequence is not None

    batch = raw_connection()
    try:
        batch.execute("SELECT pg_advisory_lock(%s)", [SEALING_LOCK])  # a batch is running
        waiter_done = threading.Event()

        def wait_for_seal() -> None:
            try:
                seal_recorded(event)
            finally:
                connection.close()
                waiter_done.set()

        thread = threading.Thread(target=wait_for_seal)
        thread.start()
        assert not waiter_done.wait(0.5), "the caller did not wait for the running batch"
        batch.execute("SELECT pg_advisory_unlock(%s)", [SEALING_LOCK])
        assert waiter_done.wait(10), "the caller was not released when the batch ended"
        thread.join(5)
    finally:
        batch.close()
    assert event.sequence is not None
