"""Section 11 of the oversight report: the serious incidents of the AI system in the period.

Listed: every incident (not a suggestion, nor a dismissed one) the organisation became aware of
in the period, or whose reporting deadline fell in it. For each: its class, state, the deadline
in the organisation's zone, and whether the deadline was met, read from the register as it is
when the report is generated:

- met: the authority was told at or before the deadline;
- missed: told after it, or not told and the deadline has passed;
- not yet due: not told and the deadline is still ahead;
- closed as not serious: closed before any report (the closing note says why).

Two queries, whatever the number of incidents.
"""

import datetime
import zoneinfo

from django.db.models import Q
from django.utils import timezone

from oversight.metrics import Period
from oversight.models import AISystem, Incident, IncidentState
from oversight.models.incidents import REGISTER_STATES

MAX_INCIDENTS = 200

MET, MISSED, NOT_DUE, NOT_SERIOUS = "met", "missed", "not yet due", "closed as not serious"


def deadline_verdict(incident: Incident, now: datetime.datetime) -> str:
    """Whether the incident's reporting deadline was met (see the module docstring)."""
    if incident.reported_to_authority_at is not None:
        return MET if incident.reported_to_authority_at <= incident.deadline else MISSED
    if incident.state == IncidentState.CLOSED:
        return NOT_SERIOUS
    return MISSED if now > incident.deadline else NOT_DUE


def _local(moment: datetime.datetime | None, zone: str) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def incidents_section(*, ai_system: AISystem, period: Period) -> dict:
    """The incidents of `ai_system` aware of, or due, in `period`, with their verdicts."""
    now = timezone.now()
    incidents = (
        Incident.objects.filter(ai_system=ai_system, state__in=REGISTER_STATES)
        .filter(
            Q(became_aware_at__gte=period.start, became_aware_at__lt=period.end)
            | Q(deadline__gte=period.start, deadline__lt=period.end)
        )
        .order_by("deadline", "pk")
    )
    total = incidents.count()
    rows = []
    for incident in incidents[:MAX_INCIDENTS]:
        verdict = deadline_verdict(incident, now)
        rows.append(
            {
                "number": incident.pk,
                "title": incident.title,
                "class": incident.get_incident_class_display(),
                "state": incident.get_state_display(),
                "became_aware_at": _local(incident.became_aware_at, incident.time_zone),
                "deadline": _local(incident.deadline, incident.time_zone),
                "deadline_moved": bool(incident.deadline_reason),
                "reported_to_authority_at": _local(
                    incident.reported_to_authority_at, incident.time_zone
                ),
                "verdict": verdict,
            }
        )
    names = {MET: "met", MISSED: "missed", NOT_DUE: "not_due", NOT_SERIOUS: "not_serious"}
    counts = {name: sum(1 for row in rows if row["verdict"] == key) for key, name in names.items()}
    return {"incidents": rows, "total": total, "omitted": total - len(rows), "verdicts": counts}
