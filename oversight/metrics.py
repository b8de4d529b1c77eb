"""Oversight metrics, computed in the database and returned as plain data.

Every figure is an aggregation (COUNT with FILTER, GROUP BY, percentiles) over one table, so the
cost is a fixed number of queries whatever the number of rows; Python only walks grouped
results (journeys, days, confidence bands, reviewers), never the records themselves. Results
are dataclasses and dicts of numbers, so the dashboard, the guardrails and the
PDF reports read the same figures.

Definitions (the period is half-open, [start, end), in UTC):

- gate calls: gate evaluations created in the period; routed share = (human + blocked) / calls.
- cases decided: cases whose `decided_at` falls in the period; SLA breaches: cases whose
  `sla_breached_at` falls in the period.
- override rate: overriding decisions / live decisions (approve, modify, reject, escalate) taken
  in the period; escalation rate: escalations / live decisions.
- sample-audit disagreement rate: "disagree" / ("agree" + "disagree") decisions in the period.
- time to decision: `decided_at - opened_at` of the cases decided in the period.
- outcomes (customer effort, repeat contact, reversals): outcomes reported in the period; the
  repeat-contact and reversal rates count only outcomes that say yes or no.
- customer effort by route: "overridden" when the outcome's case (directly or through its gate
  evaluation) has an overriding decision; "automated" when its gate evaluation let automation
  proceed (sample audits included: the automation acted); "human" for the remaining outcomes
  of cases decided by a person.

Also here: threshold calibration (override rate per confidence band, and the lowest confidence
from which people stay within a target override rate) and the automation-bias watch (reviewers
who agree with the AI on nearly every case, far faster than their peers).

Percentiles are continuous (linear interpolation between the two nearest values, as
PostgreSQL's `percentile_cont`). PostgreSQL computes them with `percentile_cont` itself; SQLite
has no such aggregate, so there one COUNT query is followed by one query per percentile that
reads at most two values, ordered, with OFFSET: bounded memory and the same answer.
"""

import datetime
import math
from dataclasses import asdict, dataclass, field

from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    Subquery,
    Sum,
    UUIDField,
    Value,
    When,
)
from django.db.models import Case as DbCase
from django.db.models.functions import Coalesce, Floor, TruncDate
from django.utils import timezone

from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    GateDay,
    GateEvaluation,
    GateRollup,
    Journey,
    Outcome,
    Route,
)

DAY = datetime.timedelta(days=1)
LIVE_OUTCOMES = [
    DecisionOutcome.APPROVE,
    DecisionOutcome.MODIFY,
    DecisionOutcome.REJECT,
    DecisionOutcome.ESCALATE,
]
AUDIT_OUTCOMES = [DecisionOutcome.AGREE, DecisionOutcome.DISAGREE]
ROUTED = [Route.HUMAN, Route.BLOCKED]


def _via_evaluation(column: str) -> Subquery:
    # A correlated lookup by primary key: joining the gate evaluations instead makes
    # PostgreSQL hash the whole (large) table to serve the few outcomes that need it.
    return Subquery(
        GateEvaluation.objects.filter(pk=OuterRef("evaluation_id")).order_by().values(column),
        output_field=UUIDField(),
    )


# How each breakdown reaches its key from each table; None: the breakdown does not apply. An
# outcome reaches its journey through its case or, for automated calls, its gate evaluation.
# "day" counts cases (decided, SLA breaches) on the day they were decided.
DIMENSIONS: dict[str, dict[str, str | None]] = {
    "ai_system": {
        "gate": "ai_system_id",
        "decision": "case__journey__ai_system_id",
        "case": "journey__ai_system_id",
        "outcome": Coalesce("case__journey__ai_system_id", _via_evaluation("ai_system_id")),
    },
    "journey": {
        "gate": "journey_id",
        "decision": "case__journey_id",
        "case": "journey_id",
        "outcome": Coalesce("case__journey_id", _via_evaluation("journey_id")),
    },
    "judgement_point": {
        "gate": None,
        "decision": "case__judgement_points",
        "case": "judgement_points",
        "outcome": None,
    },
    "reviewer": {
        "gate": None,
        "decision": "reviewer_id",
        "case": "decisions__reviewer_id",
        "outcome": None,
    },
    "day": {
        "gate": "created_at",
        "decision": "decided_at",
        "case": "decided_at",
        "outcome": "reported_at",
    },
}


@dataclass(frozen=True)
class Period:
    """A half-open interval of time, [start, end)."""

    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def last_days(cls, days: int, *, now: datetime.datetime | None = None) -> "Period":
        now = now or timezone.now()
        return cls(start=now - days * DAY, end=now)

    def days(self) -> list[datetime.date]:
        first = self.start.astimezone(datetime.UTC).date()
        last = (self.end - datetime.timedelta(microseconds=1)).astimezone(datetime.UTC).date()
        return [first + n * DAY for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class Scope:
    """Which records count: any combination of AI system, journey, judgement point, reviewer."""

    ai_system: object = None
    journey: object = None
    judgement_point: object = None
    reviewer: object = None


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (no data is not a rate of 0)."""
    return part / whole if whole else None


@dataclass
class Figures:
    """The counts and rates of one scope (or one row of a breakdown)."""

    gate_calls: int = 0
    routed_to_humans: int = 0
    cases_decided: int = 0
    sla_breaches: int = 0
    live_decisions: int = 0
    overrides: int = 0
    escalations: int = 0
    sample_audits: int = 0
    audit_disagreements: int = 0
    outcomes: int = 0
    repeat_contact_answers: int = 0
    repeat_contacts: int = 0
    reversal_answers: int = 0
    reversals: int = 0
    routed_share: float | None = field(init=False, default=None)
    override_rate: float | None = field(init=False, default=None)
    escalation_rate: float | None = field(init=False, default=None)
    audit_disagreement_rate: float | None = field(init=False, default=None)
    repeat_contact_rate: float | None = field(init=False, default=None)
    reversal_rate: float | None = field(init=False, default=None)

    def __post_init__(self):
        self.refresh_rates()

    def refresh_rates(self) -> None:
        self.routed_share = ratio(self.routed_to_humans, self.gate_calls)
        self.override_rate = ratio(self.overrides, self.live_decisions)
        self.escalation_rate = ratio(self.escalations, self.live_decisions)
        self.audit_disagreement_rate = ratio(self.audit_disagreements, self.sample_audits)
        self.repeat_contact_rate = ratio(self.repeat_contacts, self.repeat_contact_answers)
        self.reversal_rate = ratio(self.reversals, self.reversal_answers)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Distribution:
    """How many values, their median and 90th percentile (None without values)."""

    count: int
    median: float | None
    p90: float | None


# --- filters ---------------------------------------------------------------------------------


def _in(period: Period, name: str) -> Q:
    return Q(**{f"{name}__gte": period.start, f"{name}__lt": period.end})


def _scope_q(scope: Scope, table: str) -> Q:
    """The scope as a filter on `table` ("gate", "decision", "case" or "outcome")."""
    q = Q()
    if table == "outcome":
        # An outcome belongs to a case or to a gate evaluation; either side may carry the scope.
        if scope.ai_system is not None:
            q &= Q(case__journey__ai_system=scope.ai_system) | Q(
                evaluation__ai_system=scope.ai_system
            )
        if scope.journey is not None:
            q &= Q(case__journey=scope.journey) | Q(evaluation__journey=scope.journey)
        if scope.judgement_point is not None:
            q &= Q(
                case__in=Case.objects.filter(judgement_points=scope.judgement_point).values("pk")
            )
        if scope.reviewer is not None:
            q &= Q(case__in=Decision.objects.filter(reviewer=scope.reviewer).values("case_id"))
        return q
    prefix = {"gate": "", "decision": "case__", "case": ""}[table]
    if scope.ai_system is not None:
        q &= (
            Q(ai_system=scope.ai_system)
            if table == "gate"
            else Q(**{f"{prefix}journey__ai_system": scope.ai_system})
        )
    if scope.journey is not None:
        q &= Q(**{f"{prefix}journey": scope.journey})
    if scope.judgement_point is not None:
        if table == "gate":
            q &= Q(case__judgement_points=scope.judgement_point)
        else:
            q &= Q(
                **{
                    f"{prefix}pk__in" if prefix else "pk__in": Case.objects.filter(
                        judgement_points=scope.judgement_point
                    ).values("pk")
                }
            )
    if scope.reviewer is not None:
        if table == "decision":
            q &= Q(reviewer=scope.reviewer)
        elif table == "case":
            q &= Q(pk__in=Decision.objects.filter(reviewer=scope.reviewer).values("case_id"))
        else:
            q &= Q(case__decisions__reviewer=scope.reviewer)
    return q


# --- the aggregations, one query per table ---------------------------------------------------


def _gate_counts() -> dict:
    return {
        "gate_calls": Count("pk"),
        "routed_to_humans": Count("pk", filter=Q(route__in=ROUTED)),
    }


def _decision_counts() -> dict:
    return {
        "live_decisions": Count("pk", filter=Q(outcome__in=LIVE_OUTCOMES)),
        "overrides": Count("pk", filter=Q(outcome__in=LIVE_OUTCOMES, is_override=True)),
        "escalations": Count("pk", filter=Q(outcome=DecisionOutcome.ESCALATE)),
        "sample_audits": Count("pk", filter=Q(outcome__in=AUDIT_OUTCOMES)),
        "audit_disagreements": Count("pk", filter=Q(outcome=DecisionOutcome.DISAGREE)),
    }


def _case_counts(period: Period, *, distinct: bool = True) -> dict:
    # DISTINCT matters only where a join repeats a case (per reviewer: one row per decision).
    return {
        "cases_decided": Count(
            "pk",
            distinct=distinct,
            filter=Q(status=CaseStatus.DECIDED) & _in(period, "decided_at"),
        ),
        "sla_breaches": Count("pk", distinct=distinct, filter=_in(period, "sla_breached_at")),
    }


def _outcome_counts() -> dict:
    return {
        "outcomes": Count("pk"),
        "repeat_contact_answers": Count("pk", filter=Q(repeat_contact__isnull=False)),
        "repeat_contacts": Count("pk", filter=Q(repeat_contact=True)),
        "reversal_answers": Count("pk", filter=Q(reversed__isnull=False)),
        "reversals": Count("pk", filter=Q(reversed=True)),
    }


def _tables(period: Period, scope: Scope):
    return {
        "gate": GateEvaluation.objects.filter(_in(period, "created_at"), _scope_q(scope, "gate")),
        "decision": Decision.objects.filter(_in(period, "decided_at"), _scope_q(scope, "decision")),
        "case": Case.objects.filter(
            _in(period, "decided_at") | _in(period, "sla_breached_at"), _scope_q(scope, "case")
        ),
        "outcome": Outcome.objects.filter(_in(period, "reported_at"), _scope_q(scope, "outcome")),
    }


def figures(*, period: Period, scope: Scope = Scope()) -> Figures:
    """Every count and rate of one scope in the period: four aggregate queries."""
    tables = _tables(period, scope)
    values = {}
    values.update(tables["gate"].aggregate(**_gate_counts()))
    values.update(tables["decision"].aggregate(**_decision_counts()))
    values.update(tables["case"].aggregate(**_case_counts(period)))
    values.update(tables["outcome"].aggregate(**_outcome_counts()))
    return Figures(**{name: value or 0 for name, value in values.items()})


def figures_by(
    dimension: str, *, period: Period, scope: Scope = Scope(), only: tuple[str, ...] = ()
) -> dict:
    """Figures per AI system, journey, judgement point, reviewer or day: {key: Figures}.

    Keys are primary keys (dates for "day"). One GROUP BY query per table the dimension
    applies to; figures a dimension cannot split (gate calls and outcomes by reviewer or
    judgement point) stay 0. A case with two judgement points counts for both. `only`
    ("gate", "decision", "case", "outcome") limits the work to the figures of those tables.
    """
    paths = DIMENSIONS[dimension]
    tables = _tables(period, scope)
    counts = {
        "gate": _gate_counts(),
        "decision": _decision_counts(),
        "case": _case_counts(period),
        "outcome": _outcome_counts(),
    }
    rows: dict = {}
    for table, path in paths.items():
        if path is None or (only and table not in only):
            continue
        if dimension == "day":
            key = TruncDate(path, tzinfo=datetime.UTC)
        else:
            key = F(path) if isinstance(path, str) else path
        for row in tables[table].order_by().values(group_key=key).annotate(**counts[table]):
            group = row.pop("group_key")
            if group is None:
                continue
            values = rows.setdefault(group, {})
            values.update(row)
    result = {}
    for group, values in rows.items():
        result[group] = Figures(**values)
    return result


def utc_midnight(day: datetime.date) -> datetime.datetime:
    """The start of a UTC day, as the metrics' days are."""
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


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
        .annotate(gate_calls=Sum("gate_calls"), routed_to_humans=Sum("routed_to_humans"))
    )
    rest = gate_calls.filter(
        Q(created_at__lt=utc_midnight(first_whole)) | Q(created_at__gte=utc_midnight(end_whole))
    )
    return rest, summaries


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
        # Grouped by the case's own journey and day, and scopes filter through subqueries: no
        # join repeats a case here, so no DISTINCT (a sort PostgreSQL would do for nothing).
        "case": _case_counts(period, distinct=False),
        "outcome": _outcome_counts(),
    }
    system_of = dict(Journey.objects.values_list("pk", "ai_system_id"))
    overall: dict = {}
    groups: dict[str, dict] = {"ai_system": {}, "journey": {}, "day": {}}

    def add(values: dict, row: dict) -> None:
        for name, value in row.items():
            values[name] = values.get(name, 0) + (value or 0)

    def grouped(table: str):
        journey_path, day_path = _JOURNEY_AND_DAY[table]
        queryset = tables[table]
        if table == "gate":
            queryset, summaries = _gate_summaries(queryset, period, scope)
            yield from summaries
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
        row = queryset.aggregate(
            count=Count("pk"),
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


def time_to_decision(*, period: Period, scope: Scope = Scope()) -> Distribution:
    """Seconds from opening to decision of the cases decided in the period."""
    cases = Case.objects.filter(
        _in(period, "decided_at"), _scope_q(scope, "case"), status=CaseStatus.DECIDED
    )
    return distribution(cases, _duration("opened_at", "decided_at"))


EFFORT_ROUTES = ("automated", "human", "overridden")


def _effort_route():
    """Each outcome's route, by a primary-key lookup of its gate evaluation and of that
    evaluation's case (most outcomes have none to look up), and a hashed IN over the overriding
    decisions: no join of the (large) gate-evaluation table."""
    evaluation = GateEvaluation.objects.filter(pk=OuterRef("evaluation_id")).order_by()
    evaluation_case = Case.objects.filter(evaluation_id=OuterRef("evaluation_id")).order_by()
    overridden_cases = Decision.objects.filter(is_override=True).values("case_id")
    return {
        "evaluation_route": Subquery(evaluation.values("route")[:1]),
        "evaluation_case": Subquery(evaluation_case.values("pk")[:1]),
        "evaluation_case_status": Subquery(evaluation_case.values("status")[:1]),
    }, DbCase(
        When(
            Q(case_id__in=overridden_cases) | Q(evaluation_case__in=overridden_cases),
            then=Value("overridden"),
        ),
        When(evaluation_route=Route.AUTOMATE, then=Value("automated")),
        When(
            Q(case__status=CaseStatus.DECIDED) | Q(evaluation_case_status=CaseStatus.DECIDED),
            then=Value("human"),
        ),
        default=None,
        output_field=CharField(),
    )


def customer_effort_by_route(*, period: Period, scope: Scope = Scope()) -> dict[str, Distribution]:
    """Customer effort (1-7) of the outcomes reported in the period, per route.

    {"automated": ..., "human": ..., "overridden": ...}; see the module docstring. PostgreSQL:
    one query grouped by route; elsewhere `distribution` per route.
    """
    lookups, route = _effort_route()
    outcomes = (
        Outcome.objects.filter(
            _in(period, "reported_at"), _scope_q(scope, "outcome"), customer_effort__isnull=False
        )
        .annotate(**lookups)
        .annotate(effort_route=route)
        .exclude(effort_route=None)
    )
    empty = Distribution(0, None, None)
    if connection.vendor == "postgresql":
        rows = (
            outcomes.order_by()
            .values("effort_route")
            .annotate(
                count=Count("pk"),
                median=PercentileCont("customer_effort", fraction=0.5),
                p90=PercentileCont("customer_effort", fraction=0.9),
            )
        )
        found = {
            row["effort_route"]: Distribution(row["count"], row["median"], row["p90"])
            for row in rows
        }
        return {name: found.get(name, empty) for name in EFFORT_ROUTES}
    return {
        name: distribution(outcomes.filter(effort_route=name), F("customer_effort"))
        for name in EFFORT_ROUTES
    }


def cases_behind(*, period: Period, scope: Scope = Scope(), figure: str):
    """The cases behind a figure, for drill-down links: "decided", "overridden", "breached"."""
    cases = Case.objects.filter(_scope_q(scope, "case"))
    if figure == "decided":
        return cases.filter(_in(period, "decided_at"), status=CaseStatus.DECIDED)
    if figure == "overridden":
        return cases.filter(
            pk__in=Decision.objects.filter(_in(period, "decided_at"), is_override=True).values(
                "case_id"
            )
        )
    if figure == "breached":
        return cases.filter(_in(period, "sla_breached_at"))
    raise ValueError(f"Unknown figure {figure!r}.")


# --- threshold calibration -------------------------------------------------------------------


@dataclass(frozen=True)
class ConfidenceBand:
    """Decided cases whose AI confidence fell in [low, high), and how often people overrode."""

    low: float
    high: float
    cases: int
    overridden: int

    @property
    def override_rate(self) -> float | None:
        return ratio(self.overridden, self.cases)


def calibration_by_confidence(
    *, period: Period, scope: Scope = Scope(), band_width: float = 0.1
) -> list[ConfidenceBand]:
    """Override rate of decided cases per confidence band (one GROUP BY query).

    The question it answers: above which confidence do people (nearly) never change what the
    AI proposed? Bands without cases are left out; confidence 1.0 falls in the top band.
    """
    bands = round(1 / band_width)
    # A hashed IN over the overriding decisions, not an EXISTS probe per case (0.44 → 0.07 s
    # for 90,000 decided cases).
    overridden = Q(pk__in=Decision.objects.filter(is_override=True).values("case_id"))
    rows = (
        Case.objects.filter(
            _in(period, "decided_at"),
            _scope_q(scope, "case"),
            status=CaseStatus.DECIDED,
            confidence__isnull=False,
        )
        .annotate(band=Floor(F("confidence") * bands))
        .order_by()
        .values("band")
        .annotate(cases=Count("pk"), overridden_cases=Count("pk", filter=overridden))
    )
    merged: dict[int, list[int]] = {}
    for row in rows:  # at most bands + 1 rows: one per band
        index = min(int(row["band"]), bands - 1)
        totals = merged.setdefault(index, [0, 0])
        totals[0] += row["cases"]
        totals[1] += row["overridden_cases"]
    return [
        ConfidenceBand(
            low=round(index / bands, 6),
            high=round((index + 1) / bands, 6),
            cases=cases,
            overridden=overridden,
        )
        for index, (cases, overridden) in sorted(merged.items())
    ]


def suggested_threshold(
    bands: list[ConfidenceBand], *, max_override_rate: float, min_cases: int = 1
) -> float | None:
    """The lowest confidence from which every band with enough cases stays within the rate.

    A confidence trigger "below x" set to this value would send to people every band where
    they changed the AI's proposal more often than `max_override_rate`. None: no band is good.
    """
    judged = [band for band in bands if band.cases >= min_cases]
    suggestion = None
    for band in reversed(judged):
        if band.override_rate > max_override_rate:
            break
        suggestion = band.low
    return suggestion


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
    conversation and more training, not a verdict. Per-reviewer medians: one grouped
    percentile_cont query on PostgreSQL; on SQLite one distribution per reviewer (a bounded
    number of queries: reviewers, not decisions).
    """
    decisions = Decision.objects.filter(
        _in(period, "decided_at"), _scope_q(scope, "decision")
    ).exclude(outcome=DecisionOutcome.ESCALATE)
    timed = decisions.filter(time_spent_seconds__isnull=False)
    counts = {
        row["reviewer_id"]: row
        for row in decisions.order_by()
        .values("reviewer_id")
        .annotate(total=Count("pk"), agreed=Count("pk", filter=AGREEING))
    }
    if connection.vendor == "postgresql":
        medians = {
            row["reviewer_id"]: row["median"]
            for row in timed.order_by()
            .values("reviewer_id")
            .annotate(median=PercentileCont("time_spent_seconds", fraction=0.5))
        }
    else:
        medians = {
            reviewer_id: distribution(
                timed.filter(reviewer_id=reviewer_id), F("time_spent_seconds"), fractions=(0.5,)
            ).median
            for reviewer_id in counts
        }
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
    overall = distribution(timed, F("time_spent_seconds"), fractions=(0.5,)).median
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
    from django.db.models import BooleanField, Sum

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
    # Two queries so each outcome meets its case's points through one path only.
    for path, subset in (
        ("case__judgement_points", outcomes.filter(case__isnull=False)),
        ("evaluation__case__judgement_points", outcomes.filter(case__isnull=True)),
    ):
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
