"""The oversight report's shadow-mode part (inside section 5): testing before use, in figures.

Per journey, the agreement of the shadow cases decided in the period (people decided each for
real; the AI's proposal was measured against their final decision), every go-live sign-off in
the period with the figures it was signed on, and every return to shadow (by a person or a
guardrail) with its reason. A fixed number of queries: one grouped query for the agreement, one
for the sign-offs, one for the returns (read from the audit ledger, their own record).
"""

import datetime

from django.utils import timezone

from audit.models import AuditEvent
from oversight.metrics import Period
from oversight.metrics.agreement import agreement_by_journey
from oversight.models import AISystem, GoLiveSignOff, Journey

RETURNED = "journey.returned_to_shadow"


def _when(moment: datetime.datetime | None) -> str:
    return "" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _percent(value) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def _moment(value, recorded: datetime.datetime) -> datetime.datetime:
    if not value:
        return recorded
    moment = datetime.datetime.fromisoformat(str(value))
    return timezone.make_aware(moment, datetime.UTC) if timezone.is_naive(moment) else moment


def shadow_section(*, ai_system: AISystem, period: Period) -> dict:
    """Shadow agreement per journey, go-live sign-offs and returns to shadow in the period."""
    agreement = [
        {
            "journey": item.label,
            "decided": item.decided,
            "agreed": item.agreed,
            "rate": _percent(item.rate),
            "interval": f"{_percent(item.interval[0])} – {_percent(item.interval[1])}",
        }
        for item in agreement_by_journey(ai_system=ai_system, start=period.start, end=period.end)
    ]
    sign_offs = [
        {
            "at": _when(s.signed_off_at),
            "journey": s.journey.name,
            "by": s.signed_off_by.get_full_name() or s.signed_off_by.get_username(),
            "target": _percent(s.target_agreement),
            "min_decisions": s.min_decisions,
            "decisions": s.decisions,
            "agreement": _percent(s.agreement),
            "interval": f"{_percent(s.interval_low)} – {_percent(s.interval_high)}",
            "sign_off": str(s.pk),
        }
        for s in GoLiveSignOff.objects.filter(
            journey__ai_system=ai_system,
            signed_off_at__gte=period.start,
            signed_off_at__lt=period.end,
        )
        .select_related("journey", "signed_off_by")
        .order_by("signed_off_at")
    ]
    names = dict(Journey.objects.filter(ai_system=ai_system).values_list("slug", "name"))
    returns = []
    events = AuditEvent.objects.filter(
        action=RETURNED,
        object_type="oversight.journey",
        payload__ai_system=ai_system.slug,
        occurred_at__gte=period.start,
        occurred_at__lt=period.end,
    ).order_by("sequence")
    for event in events:
        payload = event.payload or {}
        returns.append(
            {
                "sequence": event.sequence,
                "at": _when(_moment(payload.get("shadow_since"), event.occurred_at)),
                "journey": names.get(payload.get("journey"), payload.get("journey")),
                "by": event.actor_label or "–",
                "why": payload.get("reason", ""),
            }
        )
    return {"agreement": agreement, "sign_offs": sign_offs, "returns": returns}
