"""Appending to the audit ledger and checking its chain."""

import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from audit.models import ActorType, AuditEvent, LedgerHead

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who performed an action: a person, an AI system, or the product itself."""

    type: str
    id: str = ""
    label: str = ""
    user: Any = None

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls(type=ActorType.USER, id=str(user.pk), label=user.get_username(), user=user)

    @classmethod
    def for_ai_system(cls, ai_system) -> "Actor":
        return cls(type=ActorType.AI_SYSTEM, id=str(ai_system.pk), label=ai_system.slug)

    @classmethod
    def system(cls, label: str = "hitl-oversight") -> "Actor":
        return cls(type=ActorType.SYSTEM, label=label)


def _normalise(payload: dict) -> dict:
    """Round-trip through JSON so what is stored is exactly what was hashed."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def event_hash(
    *,
    sequence: int,
    occurred_at,
    actor_type: str,
    actor_id: str,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict,
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical serialisation (sorted keys, no whitespace, UTC ISO time)."""
    canonical = json.dumps(
        {
            "sequence": sequence,
            "occurred_at": occurred_at.astimezone(datetime.UTC).isoformat(),
            "actor_type": actor_type,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload": payload,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def hash_of(event: AuditEvent) -> str:
    return event_hash(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )


def append_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Append one event to the ledger, chained to the current head.

    Runs in (or joins) a transaction and locks the ledger head, so concurrent appends queue up
    and the chain never forks. Call it inside the service's transaction: if the state change
    rolls back, so does its event.
    """
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
    payload = _normalise(payload or {})
    with transaction.atomic():
        head, _ = LedgerHead.objects.select_for_update().get_or_create(
            singleton=1, defaults={"sequence": 0, "hash": GENESIS_HASH}
        )
        event = AuditEvent(
            sequence=head.sequence + 1,
            occurred_at=timezone.now(),
            actor_type=actor.type,
            actor_user=actor.user,
            actor_id=actor.id,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            prev_hash=head.hash,
        )
        event.hash = hash_of(event)
        event.save(force_insert=True)
        head.sequence = event.sequence
        head.hash = event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    count: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""


def check_chain(
    events: Iterable[AuditEvent], *, start_hash: str = GENESIS_HASH, start_sequence: int = 1
) -> ChainCheck:
    """Walk events in sequence order and report the first break, if any."""
    prev_hash = start_hash
    expected_sequence = start_sequence
    count = 0
    for event in events:
        if event.sequence != expected_sequence:
            return ChainCheck(
                False,
                count,
                prev_hash,
                expected_sequence,
                f"event #{expected_sequence} is missing (next found is #{event.sequence})",
            )
        if event.prev_hash != prev_hash:
            return ChainCheck(
                False,
                count,
                prev_hash,
                event.sequence,
                "does not link to the event before it (deleted or reordered events)",
            )
        if hash_of(event) != event.hash:
            return ChainCheck(
                False, count, prev_hash, event.sequence, "its content was changed after writing"
            )
        prev_hash = event.hash
        expected_sequence = event.sequence + 1
        count += 1
    return ChainCheck(True, count, prev_hash)


def verify_ledger() -> ChainCheck:
    """Verify the whole ledger from the first event, reading in chunks (constant memory)."""
    return check_chain(AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000))
