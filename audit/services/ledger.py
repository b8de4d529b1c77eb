"""Appending to the audit ledger: at once under the head lock, or recorded now and chained
right after the commit (audit/services/sealing.py).

The hash's definition lives in audit/services/hashing.py and the chain walk in
audit/services/chain_walk.py; their public names are importable from here as well.
"""

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from audit.models import ActorType, AuditEvent, LedgerHead
from audit.row_insert import insert_row
from audit.services.chain_walk import (
    PENDING_GRACE,
    PURGE_ACTION,
    ChainCheck,
    _verify_chain,
    check_chain,
    stale_pending_events,
    verify_ledger,
)
from audit.services.hashing import GENESIS_HASH, _normalise, event_hash, hash_of
from audit.services.sealing import locked_head, seal_locked, seal_pending, seal_recorded

# Importable from here, where the rest of the code has always imported the ledger's names.
__all__ = [
    "GENESIS_HASH",
    "PENDING_GRACE",
    "PURGE_ACTION",
    "Actor",
    "ChainCheck",
    "_verify_chain",
    "append_event",
    "check_chain",
    "event_hash",
    "hash_of",
    "ledger_head",
    "record_event",
    "seal_pending",
    "stale_pending_events",
    "verify_ledger",
]


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


def _new_event(
    *, actor: Actor, action: str, obj, object_type: str, object_id: str, payload: dict | None
) -> AuditEvent:
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
    return AuditEvent(
        occurred_at=timezone.now(),
        actor_type=actor.type,
        actor_user=actor.user,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=_normalise(payload or {}),
        prev_hash="",
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
    rolls back, so does its event. Call it as the service's last write: the head stays locked
    until that transaction commits, and every other append waits for it.

    Pending events this transaction sees (recorded by `record_event`, committed by others or
    its own) are sealed first, under the same lock: an event is never chained before one
    committed ahead of it, and the ledger a reader sees after this commit has no pending row
    older than this event.

    Inside a transaction it joins it without a savepoint (a failed append fails the whole
    transaction, as it must: a state change is never kept without its event), which spares two
    round trips, one of them while the head is locked.
    """
    event = _new_event(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        payload=payload,
    )
    with transaction.atomic(savepoint=False):
        head = locked_head()
        seal_locked(head)
        event.occurred_at = timezone.now()  # taken under the lock, as it always was
        event.sequence = head.sequence + 1
        event.prev_hash = head.hash
        event.hash = hash_of(event)
        event.save(force_insert=True)
        head.sequence = event.sequence
        head.hash = event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


def record_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Record one event now, take no lock, and chain it right after the transaction commits.

    For the hot path of case openings (the gate), where holding the head lock until COMMIT
    serialised every case opening behind the one before (issue #17). The event is INSERTed in
    the caller's transaction with its content and `occurred_at`, but no sequence, prev_hash or
    hash: if the transaction rolls back, it is gone with it and leaves no gap. Once it commits,
    `seal_recorded` (on_commit, still in the request) chains it, together with every other
    committed pending event, so when the caller answers, the event is in the chain and the
    returned instance carries its sequence and hash; except on PostgreSQL while another
    request is sealing a batch: then that request chains it moments later, after its own
    commit, and this instance's chain fields stay empty.

    If sealing fails after the commit (the database went away), the state change and its event
    are kept, the error is logged, and the next append or the sealing schedule chains it.
    """
    event = _new_event(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        payload=payload,
    )
    insert_row(event)  # event.save(force_insert=True), its INSERT written once
    # A lambda, not a partial: Django names a failing robust callback by its __qualname__.
    transaction.on_commit(lambda: seal_recorded(event), robust=True)
    return event


def ledger_head() -> tuple[int, str]:
    """The ledger's current (sequence, hash): what a report prints to say which events it covers.

    (0, GENESIS_HASH) while the ledger is empty. Pending events are not covered yet.
    """
    head = LedgerHead.objects.filter(singleton=1).values_list("sequence", "hash").first()
    return head if head is not None else (0, GENESIS_HASH)
