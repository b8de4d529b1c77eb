"""Section 5 of the oversight report: the stop button in full, guardrail pauses per journey.

A person pressing the stop button (or resuming automation) is rare and each press matters: every
one is listed, whatever the number of guardrail pauses. Guardrails may pause a journey many
times a month, so they are summarised per journey (how many, first, last, the latest reason as
the guardrail wrote it). Read from the audit ledger, the stop button's and the guardrails' own
record; a fixed number of queries. A pause or resumption recorded after the fact (dated in
its payload) is shown at the moment it took effect.
"""

import datetime

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


def _moment(value) -> datetime.datetime | None:
    """A moment from an event's payload (ISO text), aware; None when absent."""
    if not value:
        return None
    moment = datetime.datetime.fromisoformat(str(value))
    return timezone.make_aware(moment, datetime.UTC) if timezone.is_naive(moment) else moment


def _took_effect(action: str, payload: dict, recorded: datetime.datetime) -> datetime.datetime:
    """When a pause or resumption took effect: the payload says so when it was dated (a pause
    recorded after the fact, as in the demo's story); otherwise the moment it was recorded."""
    return _moment(payload.get("paused_at" if action == PAUSED else "resumed_at")) or recorded


def _paused_for(event: AuditEvent, moment: datetime.datetime) -> float | None:
    """How long the journey had been paused when this resumption ended it, in seconds."""
    if event.action != RESUMED:
        return None
    started = _moment(((event.payload or {}).get("paused") or {}).get("paused_at"))
    return None if started is None else (moment - started).total_seconds()


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
        moment = _took_effect(event.action, payload, event.occurred_at)
        seconds = _paused_for(event, moment)
        slug = payload.get("journey")
        rows.append(
            {
                "sequence": event.sequence,
                "at": _when(moment),
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
    # Per journey: how many, first and last (when each took effect), the latest reason. Read as
    # three small values per pause: a guardrail pauses at most once per hourly check.
    summary: dict[str, dict] = {}
    pauses = by_guardrail.annotate(
        journey_slug=KT("payload__journey"), took_effect=KT("payload__paused_at")
    ).order_by("sequence")
    for slug, took_effect, recorded, reason in pauses.values_list(
        "journey_slug", "took_effect", "occurred_at", KT("payload__reason")
    ):
        moment = _moment(took_effect) or recorded
        row = summary.setdefault(slug, {"pauses": 0, "first": moment, "last": moment})
        row["pauses"] += 1
        row["first"], row["last"] = min(row["first"], moment), max(row["last"], moment)
        row["latest_reason"] = reason or ""  # as the guardrail wrote it: never re-cased
    guardrail_rows = [
        {
            "journey": names.get(slug, slug),
            "pauses": row["pauses"],
            "first": _when(row["first"]),
            "last": _when(row["last"]),
            "latest_reason": row["latest_reason"],
        }
        for slug, row in sorted(summary.items(), key=lambda item: item[0] or "")
    ]
    return {
        "events": rows,
        "events_total": len(rows) + sum(r["pauses"] for r in guardrail_rows),
        "manual_total": len(rows),
        "guardrail_pauses": guardrail_rows,
        "guardrail_pauses_total": sum(r["pauses"] for r in guardrail_rows),
        "guardrails": queries.guardrail_breaches(ai_system=ai_system, period=period),
    }
