"""Read-side queries of the serious-incident register (admin home, reports)."""

import datetime

from django.utils import timezone

from oversight.models import Incident, IncidentState
from oversight.models.incidents import OPEN_STATES
from oversight.services.incidents.deadlines import time_left_words

HOME_LIMIT = 10


def open_incidents_by_deadline(*, now: datetime.datetime | None = None, limit: int = HOME_LIMIT):
    """Open incidents, soonest deadline first, with time left in words and the overdue flag;
    and how many suggestions wait for a person. Two queries."""
    now = now or timezone.now()
    rows = [
        {
            "incident": incident,
            "left": time_left_words(incident.deadline, now),
            "overdue": incident.is_overdue(now),
        }
        for incident in Incident.objects.filter(state__in=OPEN_STATES)
        .select_related("ai_system")
        .order_by("deadline")[:limit]
    ]
    suggested = Incident.objects.filter(state=IncidentState.SUGGESTED).count()
    return {"rows": rows, "suggested": suggested}
