"""One scope's figures overall and per AI system, journey and day in one pass, reading the
daily summaries (GateDay, DecisionDay, OutcomeDay, DecidedCaseDay) for the whole days they
cover."""

import datetime
from dataclasses import dataclass

from django.db.models import (
    Count,
    F,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate

from oversight.metrics.figures import (
    DAY,
    DIMENSIONS,
    Figures,
    Period,
    Scope,
    _decision_counts,
    _gate_counts,
    _in,
    _outcome_counts,
    _scope_q,
    _tables,
    utc_midnight,
)
from oversight.metrics.summarised import decision_summaries, summarised, summed
from oversight.models import (
    Case,
    CaseStatus,
    GateDay,
    GateRollup,
    Journey,
)


def _gate_summaries(gate_calls, period: Period, scope: Scope):
    """Split the period's gate calls into whole UTC days already summarised (GateDay rows,
    grouped like the rest) and the remaining calls, still to be counted one by one: the
    period's partial first and last days and any day not summarised yet.

    Summaries hold no judgement point or reviewer, so such scopes count every call.
    """
    if scope.judgement_point is not None or scope.reviewer is not None:
        return gate_calls, []
    until = GateRollup.objects.values_list("complete_until", flat=True).first()
    start = period.start.astimezone(datetime.UTC)
    first_whole = start.date() if start.time() == datetime.time() else start.date() + DAY
    end_whole = min(period.end.astimezone(datetime.UTC).date(), until or first_whole)
    if end_whole <= first_whole:
        return gate_calls, []

    days = GateDay.objects.filter(day__gte=first_whole, day__lt=end_whole)
    if scope.ai_system is not None:
        days = days.filter(ai_system=scope.ai_system)
    if scope.journey is not None:
        days = days.filter(journey=scope.journey)
    summaries = (
        days.order_by()
        .values(group_journey=F("journey_id"), group_day=F("day"))
        .annotate(
            gate_calls=Sum("gate_calls"),
            routed_to_humans=Sum("routed_to_humans"),
            blocked=Sum("blocked"),
        )
    )
    rest = gate_calls.filter(
        Q(created_at__lt=utc_midnight(first_whole)) | Q(created_at__gte=utc_midnight(end_whole))
    )
    return rest, summaries


def _case_rows(period: Period, scope: Scope):
    """The case figures grouped per (journey, day the case was decided), as `_case_counts`
    counts them, in two parts: the cases decided in the period, read from DecidedCaseDay for
    the whole summarised days and from the cases for the rest; and the cases whose SLA was
    breached in the period (few: read through their own index), on the day they were decided
    (none if they were not)."""
    day = TruncDate("decided_at", tzinfo=datetime.UTC)
    decided = Case.objects.filter(
        _in(period, "decided_at"), _scope_q(scope, "case"), status=CaseStatus.DECIDED
    )
    decided, days = summarised("case", decided, period, scope)
    if days is not None:
        yield from days.values(group_journey=F("journey_id"), group_day=F("day")).annotate(
            cases_decided=Sum("cases")
        )
    yield from (
        decided.order_by()
        .values(group_journey=F("journey_id"), group_day=day)
        .annotate(cases_decided=Count("*"))
    )
    breached = Case.objects.filter(_in(period, "sla_breached_at"), _scope_q(scope, "case"))
    yield from (
        breached.order_by()
        .values(group_journey=F("journey_id"), group_day=day)
        .annotate(sla_breaches=Count("*"))
    )


@dataclass
class Breakdown:
    """One scope's figures overall and per AI system, journey and day (UTC)."""

    overall: Figures
    ai_system: dict
    journey: dict
    day: dict


# Per table: the journey it reaches and the time that places a row on a day (as DIMENSIONS).
_JOURNEY_AND_DAY = {
    table: (DIMENSIONS["journey"][table], DIMENSIONS["day"][table])
    for table in ("gate", "decision", "case", "outcome")
}


def breakdown(*, period: Period, scope: Scope = Scope()) -> Breakdown:
    """`figures` and `figures_by` for "ai_system", "journey" and "day" at once: one GROUP BY
    (journey, day) query per table, whose few grouped rows (journeys x days) are added up here.

    Equal to calling those functions one by one (a test holds them to it), with a quarter of
    the table scans: the dashboard's figures for a 90-day period on a million gate calls.
    An AI system's figures are its journeys' (every row belongs to a journey of its system).
    """
    tables = _tables(period, scope)
    counts = {
        "gate": _gate_counts(),
        "decision": _decision_counts(),
        "outcome": _outcome_counts(),
    }
    system_of = dict(Journey.objects.values_list("pk", "ai_system_id"))
    overall: dict = {}
    groups: dict[str, dict] = {"ai_system": {}, "journey": {}, "day": {}}

    def add(values: dict, row: dict) -> None:
        for name, value in row.items():
            values[name] = values.get(name, 0) + (value or 0)

    def grouped(table: str):
        if table == "case":
            yield from _case_rows(period, scope)
            return
        journey_path, day_path = _JOURNEY_AND_DAY[table]
        queryset = tables[table]
        if table == "gate":
            queryset, summaries = _gate_summaries(queryset, period, scope)
            yield from summaries
        if table == "decision":
            queryset, summaries = decision_summaries(queryset, period, scope, group="journey_day")
            yield from summaries
        if table == "outcome":
            queryset, days = summarised("outcome", queryset, period, scope)
            yield from summed("outcome", days, group_journey=F("journey_id"), group_day=F("day"))
        journey_key = F(journey_path) if isinstance(journey_path, str) else journey_path
        yield from (
            queryset.order_by()
            .values(group_journey=journey_key, group_day=TruncDate(day_path, tzinfo=datetime.UTC))
            .annotate(**counts[table])
        )

    for table in _JOURNEY_AND_DAY:
        for row in grouped(table):  # at most journeys x days rows
            journey, day = row.pop("group_journey"), row.pop("group_day")
            add(overall, row)
            if journey is not None:
                add(groups["journey"].setdefault(journey, {}), row)
                add(groups["ai_system"].setdefault(system_of.get(journey), {}), row)
            if day is not None:
                add(groups["day"].setdefault(day, {}), row)
    return Breakdown(
        overall=Figures(**overall),
        **{
            dimension: {key: Figures(**values) for key, values in rows.items()}
            for dimension, rows in groups.items()
        },
    )
