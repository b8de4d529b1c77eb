"""Daily summaries of decisions (DecisionDay), so decision figures over months do not scan and
re-judge every decision.

`roll_up_decision_days` summarises every closed UTC day not yet summarised, oldest first, and
summarises again the days marked stale; the quarter-hourly task that summarises gate calls runs
it. A day is closed `GRACE` after its end, as for gate calls.

Each row counts what the live metrics count (`oversight.metrics.figures._decision_counts`, the
same expressions), by the day of `decided_at`, per journey and per judgement point. A decision
is written once and never changes, its case's journey and judgement points are fixed when the
case opens, and "first live decision" or "first override" depend only on earlier decisions;
the one thing that can change a summarised figure afterwards is its case going up a level
(`review_round` grows: a second review of the closed round becomes a four-eyes
disagreement), or a decision written after its day was summarised. Both mark the days they touch
stale (`mark_*` below, called by signal receivers in `oversight.rollup_signals`): the metrics
count a stale day from the decisions until this task summarises it again.
"""

import datetime

from django.db import transaction
from django.db.models import F, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from oversight.metrics import utc_midnight
from oversight.metrics.figures import _decision_counts
from oversight.models import Decision, DecisionDay, GateRollup, StaleDecisionDay
from oversight.services.rollups import DAYS_PER_STEP, GRACE


def _summaries(days: Q) -> list[DecisionDay]:
    """DecisionDay rows for the decisions matching `days`: per journey (one GROUP BY) and per
    judgement point (another; a decision whose case has no point is in the first only)."""
    decisions = Decision.objects.filter(days).order_by()
    day = TruncDate("decided_at", tzinfo=datetime.UTC)
    per_journey = decisions.values(journey_id=F("case__journey_id"), day=day)
    per_point = decisions.filter(case__judgement_points__isnull=False).values(
        journey_id=F("case__journey_id"), judgement_point_id=F("case__judgement_points"), day=day
    )
    return [
        DecisionDay(**row)
        for rows in (per_journey, per_point)
        for row in rows.annotate(**_decision_counts())
    ]


def _between(first: datetime.date, end: datetime.date) -> Q:
    return Q(decided_at__gte=utc_midnight(first), decided_at__lt=utc_midnight(end))


def _summarise_again_stale(until: datetime.date) -> int:
    """Summarise afresh the summarised days marked stale; delete the marks read (only those)."""
    marks = list(StaleDecisionDay.objects.values_list("pk", "day"))
    days = sorted({day for _, day in marks if day < until})
    for day in days:
        DecisionDay.objects.filter(day=day).delete()
        DecisionDay.objects.bulk_create(_summaries(_between(day, day + datetime.timedelta(1))))
    StaleDecisionDay.objects.filter(pk__in=[pk for pk, _ in marks]).delete()
    return len(days)


def roll_up_decision_days(*, now: datetime.datetime | None = None) -> int:
    """Summarise the closed days not summarised yet and the stale ones; returns how many days
    were summarised. Steps of `DAYS_PER_STEP` days, one transaction each, holding the
    GateRollup row so two workers never summarise the same days."""
    now = now or timezone.now()
    closed_until = (now - GRACE).astimezone(datetime.UTC).date()
    done = 0
    while True:
        with transaction.atomic():
            state, _ = GateRollup.objects.select_for_update().get_or_create(singleton=1)
            first = state.decisions_until
            if first is None:
                oldest = Decision.objects.order_by("decided_at").values("decided_at")[:1]
                oldest = [row["decided_at"] for row in oldest]
                first = oldest[0].astimezone(datetime.UTC).date() if oldest else closed_until
            end = min(closed_until, first + datetime.timedelta(days=DAYS_PER_STEP))
            if first >= end:
                if state.decisions_until is None:
                    state.decisions_until = first
                    state.save(update_fields=["decisions_until", "updated_at"])
                return done + _summarise_again_stale(first)
            DecisionDay.objects.filter(day__gte=first, day__lt=end).delete()
            DecisionDay.objects.bulk_create(_summaries(_between(first, end)))
            state.decisions_until = end
            state.save(update_fields=["decisions_until", "updated_at"])
            done += (end - first).days


def mark_decision_day_stale(decided_at: datetime.datetime) -> None:
    """A decision written on a day already summarised (late): mark its day stale."""
    day = decided_at.astimezone(datetime.UTC).date()
    until = GateRollup.objects.values_list("decisions_until", flat=True).first()
    if until is not None and day < until:
        StaleDecisionDay.objects.create(day=day)


def mark_case_days_stale(case_id) -> None:
    """A case went up a level: mark stale the summarised days of its decisions (one SELECT;
    an INSERT only when one of its decisions lies on a summarised day)."""
    until = GateRollup.objects.values("decisions_until")[:1]
    days = (
        Decision.objects.filter(case_id=case_id)
        .annotate(day=TruncDate("decided_at", tzinfo=datetime.UTC))
        .filter(day__lt=Subquery(until))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    StaleDecisionDay.objects.bulk_create([StaleDecisionDay(day=day) for day in days])
