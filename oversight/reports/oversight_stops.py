"""Section 5 of the oversight report: the stop button in full, guardrail pauses per journey.

A person pressing the stop button (or resuming automation) is rare and each press matters: every
one is listed, whatever the number of guardrail pauses. Guardrails may pause a journey many
times a month, so they are summarised per journey (how many, first, last, the latest reason as
the guardrail wrote it). Read from the audit ledger, the stop button's and the guardrails' own
record; a fixed number of queries plus one per journey a guardrail paused.
"""

import datetime

from django.db.models import Count, Max, Min
from django.db.models.fields.json import KT
from django.utils import timezone

from audit.models import AuditEvent
from oversight.metrics import Period
from oversight.models import AISystem, AutomationState, Journey
from oversight.reports import oversight_queries as queries

PAUSED, RESUMED = "automation.paused", "automation.resumed"


def _when(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _paused_for(event: AuditEvent) -> float | None:
    """How long the journey had been paused when this resumption ended it, in seconds."""
    if event.action != RESUMED:
        return None
    paused_at = ((event.payload or {}).get("paused") or {}).get("paused_at")
    if not paused_at:
        return None
    started = datetime.datetime.fromisoformat(str(paused_at))
    if timezone.is_naive(started):
        started = timezone.make_aware(started, datetime.UTC)
    return (event.occurred_at - started).total_seconds()


def stops_section(*, ai_system: AISystem, period: Period) -> dict:
    """Every pause and resumption by a person in the period, and guardrail pauses per journey."""
    events = AuditEvent.objects.filter(
        occurred_at__gte=period.start,
        occurred_at__lt=period.end,
        action__in=(PAUSED, RESUMED),
        object_type="oversight.journey",
        payload__ai_system=ai_system.slug,
    )
    by_guardrail = events.filter(action=PAUSED, payload__state=AutomationState.PAUSED_BY_GUARDRAIL)
    names = dict(Journey.objects.filter(ai_system=ai_system).values_list("slug", "name"))
    manual = list(events.exclude(pk__in=by_guardrail.values("pk")).order_by("sequence"))
    rows = []
    for event in manual:
        payload = event.payload or {}
        seconds = _paused_for(event)
        slug = payload.get("journey")
        rows.append(
            {
                "sequence": event.sequence,
                "at": _when(event.occurred_at),
                "journey": names.get(slug, slug),
                "action": "Paused" if event.action == PAUSED else "Resumed",
                "by": event.actor_label or "–",
                "why": payload.get("reason") or payload.get("note") or "",
                "after_guardrail": event.action == RESUMED
                and (payload.get("paused") or {}).get("state")
                == AutomationState.PAUSED_BY_GUARDRAIL,
                "paused_for_seconds": seconds,
                "paused_for": _duration(seconds),
            }
        )
    per_journey = list(
        by_guardrail.annotate(journey_slug=KT("payload__journey"))
        .values("journey_slug")
        .annotate(pauses=Count("pk"), first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by("journey_slug")
    )
    guardrail_rows = []
    for row in per_journey:
        latest = (
            by_guardrail.filter(payload__journey=row["journey_slug"])
            .order_by("-sequence")
            .only("payload")
            .first()
        )
        slug = row["journey_slug"]
        guardrail_rows.append(
            {
                "journey": names.get(slug, slug),
                "pauses": row["pauses"],
                "first": _when(row["first"]),
                "last": _when(row["last"]),
                # As the guardrail wrote it: never re-cased or reworded.
                "latest_reason": (latest.payload or {}).get("reason", "") if latest else "",
            }
        )
    return {
        "events": rows,
        "events_total": len(rows) + sum(r["pauses"] for r in guardrail_rows),
        "manual_total": len(rows),
        "guardrail_pauses": guardrail_rows,
        "guardrail_pauses_total": sum(r["pauses"] for r in guardrail_rows),
        "guardrails": queries.guardrail_breaches(ai_system=ai_system, period=period),
    }
