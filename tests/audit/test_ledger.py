"""The ledger chains every event to the one before; any edit or gap is found."""

import pytest

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import GENESIS_HASH, Actor, append_event, verify_ledger
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_events_are_numbered_and_chained_from_genesis():
    user = UserFactory()
    case = CaseFactory()
    first = append_event(actor=Actor.for_user(user), action="case.claimed", obj=case)
    second = append_event(
        actor=Actor.system(), action="case.sla_breached", obj=case, payload={"late_by_s": 90}
    )
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.object_type == "oversight.case"
    assert first.object_id == str(case.pk)
    assert first.actor_user == user
    head = LedgerHead.objects.get()
    assert (head.sequence, head.hash) == (2, second.hash)
    result = verify_ledger()
    assert result.ok
    assert result.count == 2
    assert result.head_hash == second.hash


def test_an_edited_payload_is_detected_at_its_sequence():
    for n in range(3):
        append_event(actor=Actor.system(), action="test.event", payload={"n": n})
    AuditEvent.objects.filter(sequence=2).update(payload={"n": 99})
    result = verify_ledger()
    assert not result.ok
    assert result.broken_at == 2
    assert "changed" in result.reason


def test_a_deleted_event_is_detected():
    for n in range(3):
        append_event(actor=Actor.system(), action="test.event", payload={"n": n})
    AuditEvent.objects.filter(sequence=2).delete()
    result = verify_ledger()
    assert not result.ok
    assert result.broken_at == 2
    assert "missing" in result.reason


def test_payload_values_are_stored_as_hashed():
    import datetime
    from decimal import Decimal

    event = append_event(
        actor=Actor.system(),
        action="test.event",
        payload={"amount": Decimal("12.50"), "on": datetime.date(2026, 3, 3)},
    )
    event.refresh_from_db()
    assert event.payload == {"amount": "12.50", "on": "2026-03-03"}
    assert verify_ledger().ok
