"""Refused API requests for another AI system's objects, as rate-bounded ledger events.

A key that asks for a case, journey or evaluation of another AI system gets the same 404 as
for one that does not exist (it learns nothing), but the attempt is evidence that a key is
probing beyond its system: it is written to the ledger as `security.refused`. So that a key
cannot grow the ledger without bound, each key writes at most one such event per
`API_REFUSAL_EVENT_SECONDS`; refusals in between are counted and the next event carries the
count (`suppressed_since_last_event`).
"""

import datetime
import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services.ledger import Actor, append_event
from oversight.models import AISystemAPIKey, APIRefusalWindow

ACTION = "security.refused"
MAX_PATH = 300

logger = logging.getLogger(__name__)


def record_refusal(
    *,
    api_key: AISystemAPIKey,
    method: str,
    path: str,
    status: int,
    code: str,
    object_type: str = "",
    object_id: str = "",
) -> AuditEvent | None:
    """Append a `security.refused` event for `api_key`, unless one was written too recently.

    Rules: at most one event per key per API_REFUSAL_EVENT_SECONDS (rows are locked, so
    concurrent refusals of one key agree on which writes); a suppressed refusal increments the
    key's counter; the next event carries the counter and resets it. Returns the event, or
    None when the refusal was only counted. Call it outside the refused request's transaction:
    that one rolled back.
    """
    interval = datetime.timedelta(seconds=settings.API_REFUSAL_EVENT_SECONDS)
    APIRefusalWindow.objects.get_or_create(api_key=api_key)
    with transaction.atomic():
        window = APIRefusalWindow.objects.select_for_update().get(api_key=api_key)
        now = timezone.now()
        if window.last_event_at is not None and now - window.last_event_at < interval:
            window.suppressed += 1
            window.save(update_fields=["suppressed"])
            return None
        event = append_event(
            actor=Actor.for_ai_system(api_key.ai_system),
            action=ACTION,
            object_type=object_type,
            object_id=object_id,
            payload={
                "api_key": api_key.prefix,
                "method": method,
                "path": path[:MAX_PATH],
                "status": status,
                "code": code,
                "suppressed_since_last_event": window.suppressed,
            },
        )
        window.last_event_at = now
        window.suppressed = 0
        window.save(update_fields=["last_event_at", "suppressed"])
    return event


def record_refusal_safely(**kwargs) -> AuditEvent | None:
    """record_refusal for the API's error path: a failure to record never hides the refusal.

    The client still gets its 4xx; the failure is logged with the request's id.
    """
    try:
        return record_refusal(**kwargs)
    except DatabaseError:
        logger.exception("Could not record a refused API request in the ledger")
        return None
