"""Continuous percentiles (median, 90th) computed in the database, and time to decision.

PostgreSQL computes them with `percentile_cont`; SQLite has no such aggregate, so there one COUNT
query is followed by one query per percentile that reads at most two values, ordered, with
OFFSET: bounded memory and the same answer."""

import datetime
import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
)

from oversight.metrics.analytic_queries import analytic_queries
from oversight.metrics.figures import Period, Scope, _in, _scope_q
from oversight.models import (
    Case,
    CaseStatus,
)


@dataclass(frozen=True)
class Distribution:
    """How many values, their median and 90th percentile (None without values)."""

    count: int
    median: float | None
    p90: float | None


# --- percentiles -----------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: percentile_cont(f) WITHIN GROUP (ORDER BY x)."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)


def _duration(start: str, end: str):
    """end - start, in seconds on PostgreSQL (an interval there), a duration elsewhere."""
    difference = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    if connection.vendor == "postgresql":
        return Func(
            difference, template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField()
        )
    return difference


def distribution(queryset, expression, *, fractions=(0.5, 0.9)) -> Distribution:
    """Count, median and 90th percentile of `expression` over `queryset`, in the database.

    `fractions` are the percentiles to compute, median first; pass (0.5,) for the median only.

    PostgreSQL: one query with percentile_cont. Elsewhere: a COUNT, then per percentile one
    query reading the (at most) two neighbouring values with ORDER BY ... LIMIT 2 OFFSET k.
    """
    queryset = (
        queryset.order_by().annotate(metric_value=expression).filter(metric_value__isnull=False)
    )
    if connection.vendor == "postgresql":
        # COUNT(*), not COUNT(id): every row counted has a value, and the decided cases of a
        # period can then be read from their covering index alone.
        with analytic_queries():
            row = queryset.aggregate(
                count=Count("*"),
                **{
                    f"p{index}": PercentileCont("metric_value", fraction=fraction)
                    for index, fraction in enumerate(fractions)
                },
            )
        values = [row[f"p{index}"] for index in range(len(fractions))]
        values = [None if v is None else float(v) for v in values]
        return Distribution(row["count"], *(values + [None, None])[:2])
    count = queryset.count()
    if not count:
        return Distribution(0, None, None)
    ordered = queryset.order_by("metric_value").values_list("metric_value", flat=True)
    values = []
    for fraction in fractions:
        position = fraction * (count - 1)
        low = math.floor(position)
        pair = [_seconds(v) for v in ordered[low : low + 2]]
        high_value = pair[1] if len(pair) > 1 else pair[0]
        values.append(pair[0] + (high_value - pair[0]) * (position - low))
    return Distribution(count, *(values + [None, None])[:2])


def distribution_of_counts(counts: dict, *, fractions=(0.5, 0.9)) -> Distribution:
    """The same Distribution from how many times each value occurs ({value: count}): exact,
    for figures of few distinct values (customer effort 1-7) summed from daily summaries."""
    total = sum(counts.values())
    if not total:
        return Distribution(0, None, None)
    ordered = sorted((value, count) for value, count in counts.items() if count)

    def nth(index: int) -> float:  # the index-th value (0-based) in sorted order
        seen = 0
        for value, count in ordered:
            seen += count
            if index < seen:
                return float(value)
        return float(ordered[-1][0])

    values = []
    for fraction in fractions:
        position = fraction * (total - 1)
        low = math.floor(position)
        below, above = nth(low), nth(min(low + 1, total - 1))
        values.append(below + (position - low) * (above - below))
    return Distribution(total, *(values + [None, None])[:2])


def time_to_decision(*, period: Period, scope: Scope = Scope()) -> Distribution:
    """Seconds from opening to decision of the cases decided in the period."""
    cases = Case.objects.filter(
        _in(period, "decided_at"), _scope_q(scope, "case"), status=CaseStatus.DECIDED
    )
    return distribution(cases, _duration("opened_at", "decided_at"))


def time_to_decision_by_point(*, period: Period, points) -> dict:
    """`time_to_decision` with `Scope(judgement_point=point)` for each of `points` at once:
    {point pk: Distribution}, every point given present (Distribution(0, None, None) without
    decided cases). A case that fired several points counts for each, as the scoped call counts it.

    PostgreSQL: one query, percentile_cont per point over the case-to-point rows (GROUP BY point).
    Elsewhere: `time_to_decision` per point (its exact COUNT-then-OFFSET path)."""
    pks = [getattr(point, "pk", point) for point in points]
    if connection.vendor != "postgresql":
        return {pk: time_to_decision(period=period, scope=Scope(judgement_point=pk)) for pk in pks}
    through = Case.judgement_points.through
    rows = (
        through.objects.filter(
            judgementpoint_id__in=pks,
            case__status=CaseStatus.DECIDED,
            case__decided_at__gte=period.start,
            case__decided_at__lt=period.end,
            case__opened_at__isnull=False,
        )
        .order_by()
        .values("judgementpoint_id")
        .annotate(
            count=Count("case_id"),
            median=PercentileCont(_duration("case__opened_at", "case__decided_at"), fraction=0.5),
            p90=PercentileCont(_duration("case__opened_at", "case__decided_at"), fraction=0.9),
        )
    )
    with analytic_queries():
        rows = list(rows)
    found = {
        row["judgementpoint_id"]: Distribution(
            row["count"],
            None if row["median"] is None else float(row["median"]),
            None if row["p90"] is None else float(row["p90"]),
        )
        for row in rows
    }
    return {pk: found.get(pk, Distribution(0, None, None)) for pk in pks}
