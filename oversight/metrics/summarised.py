"""Figures read from the daily summaries (DecisionDay, OutcomeDay, DecidedCaseDay) where they
are true.

`oversight.services.day_summaries` writes them. Here a period's decisions or outcomes are split
into whole UTC days summarised and not marked stale (read from the summaries) and the rest,
counted from the rows themselves: the period's partial first and last days, days not
summarised yet and days marked stale. The sum is what counting every row gives (tests hold
them to plain SQL).
"""

import datetime

from django.db.models import F, Q, Sum

from oversight.models import (
    DecidedCaseDay,
    DecisionDay,
    GateRollup,
    OutcomeDay,
    StaleDecidedCaseDay,
    StaleDecisionDay,
    StaleOutcomeDay,
)

# Per table: its summary, its stale marks, how far it reaches, the time placing a row on a
# day, and the counts it holds.
SOURCES = {
    "decision": (
        DecisionDay,
        StaleDecisionDay,
        "decisions_until",
        "decided_at",
        (
            "live_decisions",
            "cases_judged",
            "overrides",
            "escalations",
            "four_eyes_disagreements",
            "sample_audits",
            "audit_disagreements",
        ),
    ),
    "outcome": (
        OutcomeDay,
        StaleOutcomeDay,
        "outcomes_until",
        "reported_at",
        (
            "outcomes",
            "repeat_contact_answers",
            "repeat_contacts",
            "reversal_answers",
            "reversals",
        ),
    ),
    "case": (
        DecidedCaseDay,
        StaleDecidedCaseDay,
        "decided_cases_until",
        "decided_at",
        ("cases", "overridden"),
    ),
}
DAY = datetime.timedelta(days=1)


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def summarised(table: str, rows, period, scope):
    """(the rows still to count one by one, the summary rows replacing the others, or None).

    Summaries hold no reviewer or judgement-point scope, so such scopes count every row.
    """
    summary, stale_model, until_field, time_field, _ = SOURCES[table]
    if scope.judgement_point is not None or scope.reviewer is not None:
        return rows, None
    until = GateRollup.objects.values_list(until_field, flat=True).first()
    start = period.start.astimezone(datetime.UTC)
    first = start.date() if start.time() == datetime.time() else start.date() + DAY
    end = min(period.end.astimezone(datetime.UTC).date(), until or first)
    if end <= first:
        return rows, None
    stale = sorted(
        set(stale_model.objects.filter(day__gte=first, day__lt=end).values_list("day", flat=True))
    )
    days = summary.objects.filter(day__gte=first, day__lt=end).exclude(day__in=stale)
    if scope.ai_system is not None:
        days = days.filter(journey__ai_system=scope.ai_system)
    if scope.journey is not None:
        days = days.filter(journey=scope.journey)
    live = Q(**{f"{time_field}__lt": _midnight(first)}) | Q(
        **{f"{time_field}__gte": _midnight(end)}
    )
    for day in stale:
        live |= Q(
            **{f"{time_field}__gte": _midnight(day), f"{time_field}__lt": _midnight(day + DAY)}
        )
    return rows.filter(live), days.order_by()


def summed(table: str, days, **keys):
    """The summary rows grouped by `keys`, each count summed."""
    if days is None:
        return []
    return days.values(**keys).annotate(**{name: Sum(name) for name in SOURCES[table][4]})


def decision_summaries(decisions, period, scope, *, group: str):
    """(decisions still to count, summary rows) grouped per journey and day ("journey_day",
    the journey's totals) or per judgement point ("judgement_point")."""
    rest, days = summarised("decision", decisions, period, scope)
    if days is None:
        return rest, []
    if group == "journey_day":
        keys = {"group_journey": F("journey_id"), "group_day": F("day")}
        return rest, summed("decision", days.filter(judgement_point__isnull=True), **keys)
    keys = {"group_key": F("judgement_point_id")}
    return rest, summed("decision", days.filter(judgement_point__isnull=False), **keys)
