"""The automation-bias watch: reviewers who may be rubber-stamping, and judgement points whose
overrides rise while their outcomes do not improve."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    Sum,
)

from oversight.metrics.figures import LIVE_OUTCOMES, Period, Scope, _in, _scope_q, ratio
from oversight.metrics.percentiles import distribution
from oversight.models import (
    Decision,
    DecisionOutcome,
    Outcome,
)

# --- automation-bias watch -------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerPattern:
    """How one reviewer decided: how often they went along with the AI, and how fast."""

    reviewer_id: int
    decisions: int
    agreed: int
    median_seconds: float | None

    @property
    def agreement_rate(self) -> float | None:
        return ratio(self.agreed, self.decisions)


@dataclass(frozen=True)
class AutomationBiasWatch:
    peer_median_seconds: float | None
    reviewers: list[ReviewerPattern]
    flagged: list[ReviewerPattern]


AGREEING = Q(outcome__in=[DecisionOutcome.APPROVE, DecisionOutcome.AGREE], is_override=False)


def _reviewer_figures_postgresql(decisions) -> tuple[dict, dict, float | None]:
    """Per reviewer {"total", "agreed"} and median seconds, and the median of every timed
    decision, in one scan: GROUP BY GROUPING SETS ((reviewer), ()). percentile_cont skips
    NULL times, so the medians are those of the timed decisions, as on SQLite."""
    rows = decisions.order_by().values("reviewer_id", "time_spent_seconds")
    rows = rows.annotate(agrees=ExpressionWrapper(AGREEING, output_field=BooleanField()))
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reviewer_id, GROUPING(reviewer_id), COUNT(*), COUNT(*) FILTER (WHERE agrees), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY time_spent_seconds) "
            f"FROM ({sql}) AS rows GROUP BY GROUPING SETS ((reviewer_id), ())",
            params,
        )
        result = cursor.fetchall()
    counts, medians, overall = {}, {}, None
    for reviewer_id, is_overall, total, agreed, median in result:
        median = None if median is None else float(median)
        if is_overall:
            overall = median
            continue
        counts[reviewer_id] = {"total": total, "agreed": agreed}
        if median is not None:
            medians[reviewer_id] = median
    return counts, medians, overall


def automation_bias_watch(
    *,
    period: Period,
    scope: Scope = Scope(),
    min_decisions: int = 20,
    agreement_at_least: float = 0.95,
    speed_ratio_at_most: float = 0.25,
) -> AutomationBiasWatch:
    """Reviewers who may be rubber-stamping: they agree with the AI on nearly every case
    (`agreement_at_least`) and take far less time than their peers (their median time spent
    at most `speed_ratio_at_most` of the median of everyone else's decisions in the scope).

    Escalations do not count as agreeing or disagreeing. A flag is a prompt for a
    conversation and more training, not a verdict. Per-reviewer counts and medians and the
    overall median: one GROUPING SETS query on PostgreSQL; on SQLite one distribution per
    reviewer (a bounded number of queries: reviewers, not decisions).
    """
    decisions = Decision.objects.filter(
        _in(period, "decided_at"), _scope_q(scope, "decision")
    ).exclude(outcome=DecisionOutcome.ESCALATE)
    timed = decisions.filter(time_spent_seconds__isnull=False)
    if connection.vendor == "postgresql":
        counts, medians, overall = _reviewer_figures_postgresql(decisions)
    else:
        counts = {
            row["reviewer_id"]: row
            for row in decisions.order_by()
            .values("reviewer_id")
            .annotate(total=Count("pk"), agreed=Count("pk", filter=AGREEING))
        }
        medians = {
            reviewer_id: distribution(
                timed.filter(reviewer_id=reviewer_id), F("time_spent_seconds"), fractions=(0.5,)
            ).median
            for reviewer_id in counts
        }
        overall = distribution(timed, F("time_spent_seconds"), fractions=(0.5,)).median
    patterns = [
        ReviewerPattern(
            reviewer_id=reviewer_id,
            decisions=row["total"],
            agreed=row["agreed"],
            median_seconds=medians.get(reviewer_id),
        )
        for reviewer_id, row in sorted(counts.items())
    ]
    flagged = []
    for pattern in patterns:
        if pattern.decisions < min_decisions or pattern.median_seconds is None:
            continue
        if pattern.agreement_rate < agreement_at_least:
            continue
        peers = distribution(
            timed.exclude(reviewer_id=pattern.reviewer_id),
            F("time_spent_seconds"),
            fractions=(0.5,),
        ).median
        if peers and pattern.median_seconds <= speed_ratio_at_most * peers:
            flagged.append(pattern)
    return AutomationBiasWatch(peer_median_seconds=overall, reviewers=patterns, flagged=flagged)


def escalating_points(
    *,
    period: Period,
    scope: Scope = Scope(),
    min_decisions: int = 10,
    rise_at_least: float = 0.10,
) -> list[dict]:
    """Judgement points whose overrides rise while their outcomes do not improve.

    The rule ("escalating too much"): the period is cut in two halves at its midpoint. Per
    judgement point and half: the live decisions on its cases decided in that half and how many
    overrode the AI; and the outcomes of its cases reported in that half (on the case itself or
    on the gate evaluation that opened it): the complaint-or-reversal rate among outcomes that
    answer either, and the mean customer effort (a mean, not a median: a median per point and
    half would cost a query per group on SQLite). A point is flagged when

    - each half has at least `min_decisions` live decisions,
    - its override rate rose by at least `rise_at_least` (absolute: 0.10 is ten points), and
    - its outcomes did not improve: at least one outcome measure has values in both halves,
      and none of those fell (lower is better for both).

    A point without outcomes in both halves is never flagged: more overrides may be people
    catching real errors, and only outcomes can tell. A flag asks a manager to look at the
    evidence; it is not a verdict.

    Three grouped queries (decisions by point and half; outcomes on cases, and outcomes on gate
    evaluations, by point and half), whatever the number of rows. Returns one dict per point
    with live decisions in the period, flagged first, then by the rise: {"point_id", "first",
    "second", "rise", "outcomes_improved", "flagged"}, where "first" and "second" hold the
    half's counts and rates.
    """
    from django.db.models import BooleanField

    middle = period.start + (period.end - period.start) / 2

    def late(column: str) -> ExpressionWrapper:
        return ExpressionWrapper(Q(**{f"{column}__gte": middle}), output_field=BooleanField())

    halves: dict = {}

    def half(point_id, is_late) -> dict:
        return halves.setdefault(point_id, {False: {}, True: {}})[bool(is_late)]

    decisions = (
        Decision.objects.filter(
            _in(period, "decided_at"), _scope_q(scope, "decision"), outcome__in=LIVE_OUTCOMES
        )
        .order_by()
        .values(point=F("case__judgement_points"), late=late("decided_at"))
        .annotate(decisions=Count("pk"), overrides=Count("pk", filter=Q(is_override=True)))
    )
    for row in decisions:
        if row["point"] is not None:
            half(row["point"], row["late"]).update(
                decisions=row["decisions"], overrides=row["overrides"]
            )
    outcomes = Outcome.objects.filter(_in(period, "reported_at"), _scope_q(scope, "outcome"))
    measures = {
        "answered": Count("pk", filter=Q(complaint__isnull=False) | Q(reversed__isnull=False)),
        "bad": Count("pk", filter=Q(complaint=True) | Q(reversed=True)),
        "efforts": Count("customer_effort"),
        "effort_sum": Sum("customer_effort"),
    }
    # Two queries so each outcome meets its case's points through one path only. Outcomes
    # without a point (an automated gate call's) are left out in the query, not skipped below:
    # inner joins, so PostgreSQL meets the gate calls' outcomes with the cases they opened
    # instead of looking up each one's gate call (0.2 s instead of 6 s at 10M gate calls).
    for path, subset in (
        ("case__judgement_points", outcomes.filter(case__isnull=False)),
        ("evaluation__case__judgement_points", outcomes.filter(case__isnull=True)),
    ):
        subset = subset.filter(**{f"{path}__isnull": False})
        rows = subset.order_by().values(point=F(path), late=late("reported_at"))
        for row in rows.annotate(**measures):
            if row["point"] is None or row["point"] not in halves:
                continue
            values = half(row["point"], row["late"])
            for name in measures:
                values[name] = values.get(name, 0) + (row[name] or 0)

    def figures_of(values: dict) -> dict:
        result = {
            name: values.get(name, 0)
            for name in ("decisions", "overrides", "answered", "bad", "efforts")
        }
        result["override_rate"] = ratio(result["overrides"], result["decisions"])
        result["bad_outcome_rate"] = ratio(result["bad"], result["answered"])
        result["mean_effort"] = ratio(values.get("effort_sum", 0), result["efforts"])
        return result

    points = []
    for point_id, by_half in halves.items():
        first, second = figures_of(by_half[False]), figures_of(by_half[True])
        if not (first["decisions"] or second["decisions"]):
            continue
        rise = (
            second["override_rate"] - first["override_rate"]
            if first["override_rate"] is not None and second["override_rate"] is not None
            else None
        )
        measured = [
            second[name] < first[name]
            for name in ("bad_outcome_rate", "mean_effort")
            if first[name] is not None and second[name] is not None
        ]
        improved = any(measured) if measured else None
        flagged = (
            min(first["decisions"], second["decisions"]) >= min_decisions
            and rise is not None
            and rise >= rise_at_least - 1e-9
            and improved is False
        )
        points.append(
            {
                "point_id": point_id,
                "first": first,
                "second": second,
                "rise": rise,
                "outcomes_improved": improved,
                "flagged": flagged,
            }
        )
    points.sort(key=lambda p: (not p["flagged"], -(p["rise"] or 0), str(p["point_id"])))
    return points
