"""Taking corrections out of the product is itself evidence: who took which records, when.

Every export (an API page, the admin download, `export_corrections`) appends one
`corrections.exported` event naming the records taken: their decision ids (up to
`LISTED_IDS`), and always their number, the first and last decision time and a SHA-256 of the
ids in order, so a later question "was this decision in the training set we sent?" has an answer.
"""

import hashlib
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.services.ledger import Actor, append_event
from oversight.correction_selectors import correction_records, final_decisions

LISTED_IDS = 200  # up to this many decision ids are named in the event; beyond, the digest
CHUNK = 500
EXPORT_PERMISSION = "oversight.view_all_cases"


def record_corrections_export(
    *, actor: Actor, records: list[dict], via: str, ai_system=None, since=None
) -> None:
    """The event for records already read (an API page)."""
    _append(
        actor,
        [r["decision"] for r in records],
        [r["decided_at"] for r in records],
        via=via,
        ai_system=ai_system,
        since=since,
    )


def export_corrections(
    *, user=None, actor: Actor, via: str, ai_system=None, since=None
) -> Iterator[dict]:
    """Every correction (of one AI system, or all), decided at or after `since`, as records in
    a stable order. The set is fixed and recorded in the ledger before the first record is
    given; a decision taken meanwhile is not in it. A person needs the permission to see every
    case (managers, compliance officers); PermissionDenied otherwise, and nothing is recorded."""
    if user is not None and not user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied("Exporting corrections needs the permission to see every case.")
    taken = list(final_decisions(ai_system, since).values_list("id", "decided_at"))
    _append(
        actor,
        [str(i) for i, _ in taken],
        [moment.isoformat() for _, moment in taken],
        via=via,
        ai_system=ai_system,
        since=since,
    )
    return _records([decision_id for decision_id, _ in taken])


def _records(ids: list) -> Iterator[dict]:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        yield from correction_records(list(final_decisions().filter(id__in=chunk)))


def _append(actor: Actor, ids: list[str], moments: list[str], *, via, ai_system, since) -> None:
    payload = {
        "via": via,
        "ai_system": ai_system.slug if ai_system else None,
        "since": since.isoformat() if since else None,
        "count": len(ids),
        "first_decided_at": moments[0] if moments else None,
        "last_decided_at": moments[-1] if moments else None,
        "decisions_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
    }
    if len(ids) <= LISTED_IDS:
        payload["decisions"] = ids
    with transaction.atomic():
        append_event(actor=actor, action="corrections.exported", payload=payload)
