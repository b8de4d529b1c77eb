"""Appends from many connections at once queue on the ledger head: one chain, no gaps, no fork.

SQLite serialises writers itself, so this runs in CI's PostgreSQL pass only.
"""

import threading

import pytest
from django.db import connection

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import Actor, append_event, verify_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 4
EVENTS_PER_THREAD = 25


def test_parallel_appends_make_one_gapless_chain(postgres_only):
    # No head row yet: the first appends also race to create it.
    assert not LedgerHead.objects.exists()
    barrier = threading.Barrier(THREADS)
    errors = []

    def append_many(worker: int):
        try:
            barrier.wait(timeout=10)
            for n in range(EVENTS_PER_THREAD):
                append_event(
                    actor=Actor.system(f"worker-{worker}"),
                    action="test.parallel",
                    payload={"worker": worker, "n": n},
                )
        except Exception as error:  # reported below, with the thread that raised it
            errors.append((worker, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    total = THREADS * EVENTS_PER_THREAD
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 1))
    # Every worker's events are all there, in the order each worker wrote them.
    for worker in range(THREADS):
        written = AuditEvent.objects.filter(payload__worker=worker).order_by("sequence")
        assert [event.payload["n"] for event in written] == list(range(EVENTS_PER_THREAD))
    result = verify_ledger()
    assert result.ok, result.summary()
    assert result.count == total
    # One chain: every prev_hash is used exactly once.
    prev_hashes = AuditEvent.objects.values_list("prev_hash", flat=True)
    assert len(set(prev_hashes)) == total
    head = LedgerHead.objects.get()
    assert (head.sequence, head.hash) == (total, result.head_hash)
