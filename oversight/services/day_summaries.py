"""Daily summaries of decisions (DecisionDay), outcomes (OutcomeDay) and decided cases
(DecidedCaseDay), so figures over months do not scan and re-judge every row.

`roll_up_day_summaries` summarises, per kind, every closed UTC day not yet summarised, oldest
first, and summarises again the days marked stale; the quarter-hourly task that summarises gate
calls runs it. A day is closed `GRACE` after its end, as for gate calls.

Each row counts what the live metrics count, with the same expressions
(`oversight.metrics.figures._decision_counts`, `_outcome_counts`, and the route of
`oversight.metrics.effort`): decisions by the day of `decided_at`, per journey and per
judgement point; outcomes by the day of `reported_at`, per journey, route and customer effort;
decided cases by the day of `decided_at`, per journey and confidence band
(`oversight.metrics.calibration`).

What can change a summarised day afterwards, and marks it stale (receivers in
`oversight.rollup_signals`; the metrics count a stale day from the rows until this task
summarises it again):

- a decision or an outcome written, or an outcome answered, on a day already summarised;
- a case going up a level (`review_round` grows: a second review of the closed round becomes a
  four-eyes disagreement): the days of its decisions;
- a case decided, or an overriding decision: the days of its outcomes (their route);
- a case saved again after it was decided on a summarised day, or an overriding decision on
  such a case: the day it was decided.

Nothing else does: a decision is written once and never changes, a case's journey,
confidence and judgement points are fixed when it opens, "first live decision" and "first
override" depend only on earlier decisions, and an outcome's route otherwise depends on what
its case was. Marks are one row per change and the task deletes only the marks it read, so a
change made while it runs keeps its own mark.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from oversight.metrics import utc_midnight
from oversight.metrics.calibration import confidence_band, overridden_case
from oversight.metrics.effort import _effort_route
from oversight.metrics.figures import DIMENSIONS, _decision_counts, _outcome_counts
from oversight.models import (
    Case,
    CaseStatus,
    DecidedCaseDay,
    Decision,
    DecisionDay,
    GateRollup,
    Outcome,
    OutcomeDay,
    StaleDecidedCaseDay,
    StaleDecisionDay,
    StaleOutcomeDay,
)
from oversight.services.rollups import DAYS_PER_STEP, GRACE


def _decision_rows(days: Q) -> list[DecisionDay]:
    """Per journey (one GROUP BY) and per judgement point (another; a decision whose case has
    no point is in the first only)."""
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


def _outcome_rows(days: Q) -> list[OutcomeDay]:
    """Per journey, route and customer effort (one GROUP BY)."""
    lookups, route = _effort_route()
    rows = (
        Outcome.objects.filter(days)
        .annotate(**lookups)
        .annotate(effort_route=route)
        .order_by()
        .values(
            journey_key=DIMENSIONS["journey"]["outcome"],
            day=TruncDate("reported_at", tzinfo=datetime.UTC),
            route_key=F("effort_route"),
            effort=F("customer_effort"),
        )
        .annotate(**_outcome_counts())
    )
    return [
        OutcomeDay(
            journey_id=row.pop("journey_key"),
            route=row.pop("route_key") or "",
            customer_effort=row.pop("effort"),
            **row,
        )
        for row in rows
    ]


def _decided_case_rows(days: Q) -> list[DecidedCaseDay]:
    """Per journey and confidence band (one GROUP BY); band empty without a confidence."""
    rows = (
        Case.objects.filter(days, status=CaseStatus.DECIDED)
        .order_by()
        .values(
            "journey_id",
            day=TruncDate("decided_at", tzinfo=datetime.UTC),
            band=confidence_band(),
        )
        .annotate(cases=Count("pk"), overridden=Count("pk", filter=overridden_case()))
    )
    return [
        DecidedCaseDay(
            day=row["day"],
            journey_id=row["journey_id"],
            confidence_band=None if row["band"] is None else int(row["band"]),
            cases=row["cases"],
            overridden=row["overridden"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Kind:
    """One kind of daily summary: its rows, marks, state field and the rows it summarises."""

    summary: type
    stale: type
    until_field: str
    source: type
    time_field: str
    # The source rows a summary counts (decided cases only): their time field is never empty.
    counted: Q = Q()

    def between(self, first: datetime.date, end: datetime.date) -> Q:
        return Q(
            **{
                f"{self.time_field}__gte": utc_midnight(first),
                f"{self.time_field}__lt": utc_midnight(end),
            }
        )


DECISIONS = Kind(DecisionDay, StaleDecisionDay, "decisions_until", Decision, "decided_at")
OUTCOMES = Kind(OutcomeDay, StaleOutcomeDay, "outcomes_until", Outcome, "reported_at")
DECIDED_CASES = Kind(
    DecidedCaseDay,
    StaleDecidedCaseDay,
    "decided_cases_until",
    Case,
    "decided_at",
    Q(status=CaseStatus.DECIDED),
)
# (Q of the days) -> unsaved rows
ROWS = {DECISIONS: _decision_rows, OUTCOMES: _outcome_rows, DECIDED_CASES: _decided_case_rows}
KINDS = (DECISIONS, OUTCOMES, DECIDED_CASES)


def _summarise(kind: Kind, first: datetime.date, end: datetime.date) -> None:
    kind.summary.objects.filter(day__gte=first, day__lt=end).delete()
    kind.summary.objects.bulk_create(ROWS[kind](kind.between(first, end)))


def _summarise_again_stale(kind: Kind, until: datetime.date) -> int:
    """Summarise afresh the summarised days marked stale; delete the marks read (only those)."""
    marks = list(kind.stale.objects.values_list("pk", "day"))
    days = sorted({day for _, day in marks if day < until})
    for day in days:
        _summarise(kind, day, day + datetime.timedelta(days=1))
    kind.stale.objects.filter(pk__in=[pk for pk, _ in marks]).delete()
    return len(days)


def roll_up(kind: Kind, *, now: datetime.datetime | None = None) -> int:
    """Summarise the closed days not summarised yet and the stale ones; returns how many days
    were summarised. Steps of `DAYS_PER_STEP` days, one transaction each, holding the
    GateRollup row so two workers never summarise the same days."""
    now = now or timezone.now()
    closed_until = (now - GRACE).astimezone(datetime.UTC).date()
    done = 0
    while True:
        with transaction.atomic():
            state, _ = GateRollup.objects.select_for_update().get_or_create(singleton=1)
            first = getattr(state, kind.until_field)
            if first is None:
                oldest = kind.source.objects.filter(kind.counted).order_by(kind.time_field)
                oldest = oldest.values(kind.time_field)
                oldest = [row[kind.time_field] for row in oldest[:1]]
                first = oldest[0].astimezone(datetime.UTC).date() if oldest else closed_until
            end = min(closed_until, first + datetime.timedelta(days=DAYS_PER_STEP))
            if first >= end:
                if getattr(state, kind.until_field) is None:
                    setattr(state, kind.until_field, first)
                    state.save(update_fields=[kind.until_field, "updated_at"])
                return done + _summarise_again_stale(kind, first)
            _summarise(kind, first, end)
            setattr(state, kind.until_field, end)
            state.save(update_fields=[kind.until_field, "updated_at"])
            done += (end - first).days


def roll_up_decision_days(*, now: datetime.datetime | None = None) -> int:
    return roll_up(DECISIONS, now=now)


def roll_up_outcome_days(*, now: datetime.datetime | None = None) -> int:
    return roll_up(OUTCOMES, now=now)


def mark_day_stale(kind: Kind, when: datetime.datetime) -> None:
    """A row written or changed on a day already summarised: mark its day stale."""
    day = when.astimezone(datetime.UTC).date()
    until = GateRollup.objects.values_list(kind.until_field, flat=True).first()
    if until is not None and day < until:
        kind.stale.objects.create(day=day)


def _mark_days_of(kind: Kind, rows) -> None:
    """Mark stale the summarised days of `rows` (one SELECT; an INSERT only when one of them
    lies on a summarised day)."""
    until = GateRollup.objects.values(kind.until_field)[:1]
    days = (
        rows.annotate(summary_day=TruncDate(kind.time_field, tzinfo=datetime.UTC))
        .filter(summary_day__lt=Subquery(until))
        .order_by()
        .values_list("summary_day", flat=True)
        .distinct()
    )
    kind.stale.objects.bulk_create([kind.stale(day=day) for day in days])


def mark_case_decision_days_stale(case_id) -> None:
    """A case went up a level: the days of its decisions."""
    _mark_days_of(DECISIONS, Decision.objects.filter(case_id=case_id))


def mark_case_decided_day_stale(case_id) -> None:
    """An overriding decision on a case: the day the case was decided, if it was."""
    _mark_days_of(DECIDED_CASES, Case.objects.filter(DECIDED_CASES.counted, pk=case_id))


def mark_case_outcome_days_stale(case_id) -> None:
    """A case decided or overridden: the days of its outcomes, directly or through its gate
    evaluation."""
    evaluation = Case.objects.filter(pk=case_id).values("evaluation_id")
    outcomes = Outcome.objects.filter(
        Q(case_id=case_id) | Q(evaluation_id__in=evaluation.exclude(evaluation_id=None))
    )
    _mark_days_of(OUTCOMES, outcomes)
