"""The ledger chains every event to the one before; any edit, gap or reordering is found."""

import datetime
import hashlib
import json

import pytest
import time_machine
from django.core.serializers.json import DjangoJSONEncoder

from audit.models import AuditEvent, LedgerHead
from audit.services.ledger import (
    GENESIS_HASH,
    Actor,
    append_event,
    check_chain,
    event_hash,
    ledger_head,
    verify_ledger,
)
from oversight.models import ImmutableRecordError
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def three_events():
    return [
        append_event(actor=Actor.system(), action="test.event", payload={"n": n}) for n in range(3)
    ]


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
    assert (result.from_sequence, result.head_sequence) == (1, 2)
    assert result.summary() == f"OK: 2 events, head {second.hash}"


def test_the_hash_is_sha256_of_the_canonical_json_it_always_was():
    # The definition is the ledger's contract: every stored hash depends on it.
    event = append_event(
        actor=Actor.system(),
        action="test.event",
        object_type="oversight.case",
        object_id="7",
        payload={"b": "ünïcode", "a": [1, {"z": None, "y": 1.5}]},
    )
    event.refresh_from_db()
    canonical = json.dumps(
        {
            "sequence": 1,
            "occurred_at": event.occurred_at.astimezone(datetime.UTC).isoformat(),
            "actor_type": "system",
            "actor_id": "",
            "actor_label": "hitl-oversight",
            "action": "test.event",
            "object_type": "oversight.case",
            "object_id": "7",
            "payload": {"b": "ünïcode", "a": [1, {"z": None, "y": 1.5}]},
            "prev_hash": GENESIS_HASH,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert event.hash == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC),  # a whole second: no fraction
        datetime.datetime(2026, 3, 1, 9, 30, 0, 120, tzinfo=datetime.UTC),
    ],
    ids=["whole-second", "microseconds"],
)
def test_awkward_values_are_hashed_by_the_verifier_exactly_as_when_written(moment):
    with time_machine.travel(moment, tick=False):
        event = append_event(
            actor=Actor(type="user", id='4"2', label='Ana "the" \\ reviewer\n\t\x01 — ü'),
            action="test.ünïcode",
            object_type='odd"type',
            object_id="</script>",
            payload={
                "z": [1, 2.5, None, True, {"b": "\u2028", "a": "\U0001f600"}],
                "A": {"nested": {"y": 0.25, "x": 10**20}},
                "quote": '"',
            },
        )
    result = verify_ledger()
    assert result.ok, result.summary()
    assert result.head_hash == event.hash


def test_an_edited_time_is_detected(tamper):
    three_events()
    with tamper():
        event = AuditEvent.objects.get(sequence=2)
        AuditEvent.objects.filter(sequence=2).update(
            occurred_at=event.occurred_at + datetime.timedelta(microseconds=1)
        )
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 2)
    assert "changed" in result.reason


def test_an_edited_payload_is_detected_at_its_sequence(tamper):
    three_events()
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(payload={"n": 99})
    result = verify_ledger()
    assert not result.ok
    assert result.broken_at == 2
    assert "changed" in result.reason
    assert result.summary() == "BROKEN at #2: its content was changed after writing"
    # What was checked before the break is reported as intact.
    assert (result.count, result.head_sequence) == (1, 1)


def test_an_edited_actor_is_detected(tamper):
    three_events()
    with tamper():
        AuditEvent.objects.filter(sequence=3).update(actor_label="someone-else")
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 3)
    assert "changed" in result.reason


def test_a_deleted_event_is_detected(tamper):
    three_events()
    with tamper():
        AuditEvent.objects.filter(sequence=2).delete()
    result = verify_ledger()
    assert not result.ok
    assert result.broken_at == 2
    assert "missing" in result.reason
    assert "next one is #3" in result.reason


def test_a_deleted_last_event_is_detected_through_the_head(tamper):
    three_events()
    with tamper():
        AuditEvent.objects.filter(sequence=3).delete()
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 3)
    assert "event #3 is missing (the ledger head is at #3)" in result.reason
    assert "end were deleted" in result.reason


def test_reordered_events_are_reported_as_reordered(tamper):
    three_events()
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(sequence=1000)
        AuditEvent.objects.filter(sequence=3).update(sequence=2)
        AuditEvent.objects.filter(sequence=1000).update(sequence=3)
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 2)
    assert "reordered" in result.reason
    assert "right after the event now at #3" in result.reason


def test_a_deletion_hidden_by_renumbering_is_detected(tamper):
    three_events()
    with tamper():
        AuditEvent.objects.filter(sequence=2).delete()
        AuditEvent.objects.filter(sequence=3).update(sequence=2)
        LedgerHead.objects.update(sequence=2)
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 2)
    assert "does not link to the event before it" in result.reason


def test_a_replaced_event_with_a_recomputed_hash_breaks_the_next_link(tamper):
    first, second, _ = three_events()
    forged = {
        "sequence": 2,
        "occurred_at": second.occurred_at,
        "actor_type": second.actor_type,
        "actor_id": second.actor_id,
        "actor_label": second.actor_label,
        "action": "test.forged",
        "object_type": "",
        "object_id": "",
        "payload": {"n": 1},
        "prev_hash": first.hash,
    }
    with tamper():
        AuditEvent.objects.filter(sequence=2).update(
            action="test.forged", hash=event_hash(**forged)
        )
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 3)
    assert "an earlier event was replaced or deleted" in result.reason


def test_an_event_inserted_past_the_head_is_detected(tamper):
    *_, last = three_events()
    fields = {
        "sequence": 4,
        "occurred_at": last.occurred_at,
        "actor_type": "system",
        "actor_id": "",
        "actor_label": "intruder",
        "action": "test.inserted",
        "object_type": "",
        "object_id": "",
        "payload": {},
        "prev_hash": last.hash,
    }
    AuditEvent.objects.bulk_create([AuditEvent(**fields, hash=event_hash(**fields))])
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 4)
    assert "past the ledger head" in result.reason


def test_a_head_that_does_not_match_the_last_event_is_detected():
    three_events()
    LedgerHead.objects.update(hash="f" * 64)
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 3)
    assert "does not match the ledger head" in result.reason


def test_a_missing_head_with_events_is_detected():
    three_events()
    LedgerHead.objects.all().delete()
    result = verify_ledger()
    assert (result.ok, result.broken_at) == (False, 1)
    assert "ledger head is missing" in result.reason


def test_an_empty_ledger_verifies_with_nothing_to_check():
    result = verify_ledger()
    assert (result.ok, result.count, result.head_hash) == (True, 0, GENESIS_HASH)
    assert ledger_head() == (0, GENESIS_HASH)


def test_verification_reads_in_chunks_and_gets_the_same_answer(tamper):
    events = [append_event(actor=Actor.system(), action="test.event") for _ in range(7)]
    assert verify_ledger(chunk_size=2).head_hash == events[-1].hash
    with tamper():
        AuditEvent.objects.filter(sequence=6).update(object_id="x")
    assert verify_ledger(chunk_size=2).broken_at == 6


def test_a_gap_wider_than_a_chunk_is_reported_where_it_starts(tamper):
    for _ in range(7):
        append_event(actor=Actor.system(), action="test.event")
    with tamper():
        AuditEvent.objects.filter(sequence__range=(2, 5)).delete()
    result = verify_ledger(chunk_size=2)
    assert (result.ok, result.broken_at) == (False, 2)
    assert "event #2 is missing (the next one is #6)" in result.reason


def test_check_chain_accepts_model_instances():
    events = three_events()
    result = check_chain(AuditEvent.objects.order_by("sequence"))
    assert (result.ok, result.count, result.head_hash) == (True, 3, events[-1].hash)


def test_ledger_head_gives_sequence_and_hash_for_reports():
    *_, last = three_events()
    assert ledger_head() == (3, last.hash)


def test_an_event_refuses_to_be_saved_again_or_deleted():
    event = append_event(actor=Actor.system(), action="test.event")
    event.action = "test.changed"
    with pytest.raises(ImmutableRecordError, match="cannot be changed"):
        event.save()
    with pytest.raises(ImmutableRecordError, match="cannot be deleted"):
        event.delete()
    assert AuditEvent.objects.get().action == "test.event"


def test_payload_values_are_stored_as_hashed():
    from decimal import Decimal

    event = append_event(
        actor=Actor.system(),
        action="test.event",
        payload={"amount": Decimal("12.50"), "on": datetime.date(2026, 3, 3)},
    )
    event.refresh_from_db()
    assert event.payload == {"amount": "12.50", "on": "2026-03-03"}
    assert event.payload == json.loads(
        json.dumps({"amount": Decimal("12.50"), "on": "2026-03-03"}, cls=DjangoJSONEncoder)
    )
    assert verify_ledger().ok


def test_numbers_are_stored_as_hashed_on_either_database():
    # PostgreSQL's jsonb keeps numbers as numeric: no negative zero, no exponent notation.
    event = append_event(
        actor=Actor.system(),
        action="test.event",
        payload={"sentiment": round(-0.001, 2), "big": 1e16, "bigger": 1.2345678901234567e19},
    )
    event.refresh_from_db()
    assert event.payload == {"sentiment": 0.0, "big": 10**16, "bigger": 12345678901234567000}
    assert verify_ledger().ok
