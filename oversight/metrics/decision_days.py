"""Decision figures read from the daily decision summaries (DecisionDay) where they are true.

`oversight.services.decision_rollups` writes them; this module splits a period's decisions into
whole UTC days summarised and not marked stale (read from DecisionDay) and the rest, counted from
the decisions themselves: the period's partial first and last days, days not summarised yet
and days marked stale. The sum is what counting every decision gives (a test holds them to it).
"""

import datetime

from django.db.models import F, Q, Sum

from oversight.models import DecisionDay, GateRollup, StaleDecisionDay

COUNTS = (
    "live_decisions",
    "cases_judged",
    "overrides",
    "escalations",
    "four_eyes_disagreements",
    "sample_audits",
    "audit_disagreements",
)
# The groups a caller may ask for: "journey_day" (rows per journey; the journey's totals) or
# "judgement_point" (rows per point).
GROUPS = {
    "journey_day": (
        Q(judgement_point__isnull=True),
        {"group_journey": F("journey_id"), "group_day": F("day")},
    ),
    "judgement_point": (Q(judgement_point__isnull=False), {"group_key": F("judgement_point_id")}),
}


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def decision_summaries(decisions, period, scope, *, group: str):
    """(the decisions still to count one by one, summary rows grouped as `group` asks).

    Summaries hold no reviewer, so a reviewer's scope counts every decision; a judgement point's
    scope too (the journey rows would count cases of the journey's other point).
    """
    if scope.judgement_point is not None or scope.reviewer is not None:
        return decisions, []
    until = GateRollup.objects.values_list("decisions_until", flat=True).first()
    start = period.start.astimezone(datetime.UTC)
    first = (
        start.date() if start.time() == datetime.time() else start.date() + datetime.timedelta(1)
    )
    end = min(period.end.astimezone(datetime.UTC).date(), until or first)
    if end <= first:
        return decisions, []
    stale = sorted(
        set(
            StaleDecisionDay.objects.filter(day__gte=first, day__lt=end).values_list(
                "day", flat=True
            )
        )
    )
    which, keys = GROUPS[group]
    rows = DecisionDay.objects.filter(which, day__gte=first, day__lt=end).exclude(day__in=stale)
    if scope.ai_system is not None:
        rows = rows.filter(journey__ai_system=scope.ai_system)
    if scope.journey is not None:
        rows = rows.filter(journey=scope.journey)
    summaries = rows.order_by().values(**keys).annotate(**{name: Sum(name) for name in COUNTS})
    live = Q(decided_at__lt=_midnight(first)) | Q(decided_at__gte=_midnight(end))
    for day in stale:
        live |= Q(
            decided_at__gte=_midnight(day), decided_at__lt=_midnight(day) + datetime.timedelta(1)
        )
    return decisions.filter(live), summaries
