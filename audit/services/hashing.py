"""The ledger's hash: what an event's hash covers, byte for byte, and how a payload is stored.

This is the chain's contract. Appending (audit/services/ledger.py), sealing
(audit/services/sealing.py) and walking (audit/services/chain_walk.py) all hash through it.
"""

import datetime
import hashlib
import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder

from audit.models import AuditEvent

GENESIS_HASH = "0" * 64


def _normalise(payload: dict) -> dict:
    """Round-trip through JSON so what is stored is exactly what was hashed.

    Floats are parsed as PostgreSQL's jsonb keeps numbers (as `numeric`), so the payload read
    back from either database is the one hashed: jsonb has no negative zero, and a float Python
    writes with an exponent (1e+16) comes back as the integer its digits spell.
    """
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder), parse_float=_as_numeric)


def _as_numeric(text: str) -> float | int:
    if "e+" in text or "E+" in text:
        return int(Decimal(text))
    value = float(text)
    return 0.0 if value == 0 else value


# One encoder, built once: json.dumps() with non-default options builds a new encoder per call,
# which is a third of the cost of hashing an event. The output is byte-for-byte what
# json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) gives.
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_UTC = datetime.UTC
_sha256 = hashlib.sha256


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
    """SHA-256 over a canonical serialisation (sorted keys, no whitespace, UTC ISO time).

    This definition is the ledger's contract: changing it makes every stored hash wrong.
    """
    canonical = _canonical_json(
        {
            "sequence": sequence,
            "occurred_at": occurred_at.astimezone(_UTC).isoformat(),
            "actor_type": actor_type,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )
    return _sha256(canonical.encode("utf-8")).hexdigest()


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


# The event's own columns a hash covers, in event_hash()'s keyword names (sequence and prev_hash
# are the chain's): the one list the sealer and the verifier read rows by.
CONTENT_FIELDS = (
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "payload",
)
