"""On PostgreSQL the ledger's row trigger lets exactly one UPDATE through: sealing a pending
event (empty chain fields filled in, once, nothing else changed). Everything else stays refused.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services.ledger import Actor, append_event, record_event, verify_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

REFUSED = "UPDATE on audit_auditevent refused: its rows are evidence"
FAKE = "f" * 64


def refused(sql: str, params=()) -> str:
    """Run SQL that must fail (in a savepoint, so the test's transaction goes on)."""
    with pytest.raises(DatabaseError) as failure, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    return str(failure.value)


def row(event: AuditEvent) -> dict:
    return AuditEvent.objects.filter(pk=event.pk).values().get()


@pytest.fixture
def sealed():
    return append_event(actor=Actor.system(), action="test.sealed", payload={"n": 1})


@pytest.fixture
def pending(sealed):
    return record_event(actor=Actor.system(), action="test.pending", payload={"n": 2})


SEAL = "sequence = 2, prev_hash = %s, hash = %s"
REFUSALS = {
    "changing a sealed event's hash": ("sealed", "hash = %s", lambda s: [FAKE]),
    "renumbering a sealed event": ("sealed", "sequence = 7", lambda s: []),
    "sealing a sealed event again": ("sealed", SEAL, lambda s: [s.hash, FAKE]),
    "unsealing a sealed event": (
        "sealed",
        "sequence = NULL, prev_hash = '', hash = NULL",
        lambda s: [],
    ),
    "changing a pending event's content": ("pending", "payload = '{}'", lambda s: []),
    "sealing and changing content at once": (
        "pending",
        SEAL + ", action = 'test.forged'",
        lambda s: [s.hash, FAKE],
    ),
    "sealing and changing the time at once": (
        "pending",
        SEAL + ", occurred_at = occurred_at - interval '1 day'",
        lambda s: [s.hash, FAKE],
    ),
    "sealing half (no hash)": ("pending", "sequence = 2, prev_hash = %s", lambda s: [s.hash]),
    "sealing half (no sequence)": (
        "pending",
        "prev_hash = %s, hash = %s",
        lambda s: [s.hash, FAKE],
    ),
}


@pytest.mark.parametrize("what", REFUSALS)
def test_every_update_but_a_clean_seal_is_refused(postgres_only, sealed, pending, what):
    target_name, assignments, params = REFUSALS[what]
    target = {"sealed": sealed, "pending": pending}[target_name]
    before = row(target)

    message = refused(
        f"UPDATE audit_auditevent SET {assignments} WHERE id = %s", [*params(sealed), target.pk]
    )

    assert REFUSED in message
    assert row(target) == before
    assert verify_ledger().ok


def test_deleting_a_pending_event_is_refused(postgres_only, pending):
    message = refused("DELETE FROM audit_auditevent WHERE id = %s", [pending.pk])

    assert "DELETE on audit_auditevent refused" in message
    assert AuditEvent.objects.filter(pk=pending.pk, sequence__isnull=True).exists()


def test_a_clean_seal_passes_the_trigger(postgres_only, sealed, pending):
    from audit.services.ledger import seal_pending

    assert seal_pending() == 1

    assert row(pending)["sequence"] == 2
    check = verify_ledger()
    assert check.ok and check.count == 2, check.summary()
