"""The headline counts and rates of a scope over a period (gate calls, cases, decisions,
outcomes), overall and per AI system, journey, judgement point, reviewer or day.

Definitions: see the package docstring (`oversight.metrics`)."""

import datetime
from dataclasses import asdict, dataclass, field
from itertools import chain

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    UUIDField,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    GateEvaluation,
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
# Routed to a person. Blocked calls (refused outright: no person, no automation) are not
# "routed to people" and are counted on their own.
ROUTED = [Route.HUMAN]
BLOCKED = [Route.BLOCKED]


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
    blocked: int = 0
    cases_decided: int = 0
    sla_breaches: int = 0
    live_decisions: int = 0
    cases_judged: int = 0
    overrides: int = 0
    escalations: int = 0
    four_eyes_disagreements: int = 0
    sample_audits: int = 0
    audit_disagreements: int = 0
    outcomes: int = 0
    repeat_contact_answers: int = 0
    repeat_contacts: int = 0
    reversal_answers: int = 0
    reversals: int = 0
    routed_share: float | None = field(init=False, default=None)
    blocked_share: float | None = field(init=False, default=None)
    escalations_all: int = field(init=False, default=0)
    override_rate: float | None = field(init=False, default=None)
    escalation_rate: float | None = field(init=False, default=None)
    audit_disagreement_rate: float | None = field(init=False, default=None)
    repeat_contact_rate: float | None = field(init=False, default=None)
    reversal_rate: float | None = field(init=False, default=None)

    def __post_init__(self):
        self.refresh_rates()

    def refresh_rates(self) -> None:
        self.routed_share = ratio(self.routed_to_humans, self.gate_calls)
        self.blocked_share = ratio(self.blocked, self.gate_calls)
        # Every SLA breach escalates its case (the sweep), so breaches are the SLA escalations.
        self.escalations_all = self.escalations + self.sla_breaches + self.four_eyes_disagreements
        self.override_rate = ratio(self.overrides, self.cases_judged)
        self.escalation_rate = ratio(self.escalations, self.live_decisions)
        self.audit_disagreement_rate = ratio(self.audit_disagreements, self.sample_audits)
        self.repeat_contact_rate = ratio(self.repeat_contacts, self.repeat_contact_answers)
        self.reversal_rate = ratio(self.reversals, self.reversal_answers)

    def as_dict(self) -> dict:
        return asdict(self)


# --- filters ---------------------------------------------------------------------------------


def _in(period: Period, name: str) -> Q:
    return Q(**{f"{name}__gte": period.start, f"{name}__lt": period.end})


def _evaluation_in(**scope) -> Exists:
    """The outcome's gate evaluation is in the scope (a lookup by primary key per outcome)."""
    return Exists(GateEvaluation.objects.filter(pk=OuterRef("evaluation_id"), **scope))


def _scope_q(scope: Scope, table: str) -> Q:
    """The scope as a filter on `table` ("gate", "decision", "case" or "outcome")."""
    q = Q()
    if table == "outcome":
        # An outcome belongs to a case or to a gate evaluation; either side may carry the scope.
        # The evaluation side is an EXISTS on the evaluation's primary key, not a join: an OR
        # across two outer joins made PostgreSQL hash every gate evaluation (10M rows) first.
        if scope.ai_system is not None:
            q &= Q(case__journey__ai_system=scope.ai_system) | Q(
                _evaluation_in(ai_system=scope.ai_system)
            )
        if scope.journey is not None:
            q &= Q(case__journey=scope.journey) | Q(_evaluation_in(journey=scope.journey))
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
        "blocked": Count("pk", filter=Q(route__in=BLOCKED)),
    }


def _earlier_decision(**conditions) -> Exists:
    """A decision (matching `conditions`) on the same case taken before this one.

    "Before" by review round, then first stage before second: the model's constraints fix that
    order (one decision per round and stage), so it holds even where two clocks tie.
    The stage values compare as text: "first" < "second".
    """
    return Exists(
        Decision.objects.filter(case_id=OuterRef("case_id"), **conditions).filter(
            Q(review_round__lt=OuterRef("review_round"))
            | Q(review_round=OuterRef("review_round"), stage__lt=OuterRef("stage"))
        )
    )


# The first live decision of a case: the case counts once among the cases judged.
FIRST_LIVE_DECISION = Q(outcome__in=LIVE_OUTCOMES) & ~_earlier_decision(outcome__in=LIVE_OUTCOMES)
# The first overriding decision of a case: an override counts once per case, so a second
# reviewer's confirmation (or a later round's repeat) of an override is not counted again.
FIRST_OVERRIDE = Q(outcome__in=LIVE_OUTCOMES, is_override=True) & ~_earlier_decision(
    outcome__in=LIVE_OUTCOMES, is_override=True
)
# A second review that did not confirm the first and was not itself an escalation: the round
# closed (the case went up a level) because the two reviewers disagreed.
FOUR_EYES_DISAGREEMENT = Q(
    stage=DecisionStage.SECOND, outcome__in=LIVE_OUTCOMES, review_round__lt=F("case__review_round")
) & ~Q(outcome=DecisionOutcome.ESCALATE)


def _decision_counts() -> dict:
    return {
        "live_decisions": Count("pk", filter=Q(outcome__in=LIVE_OUTCOMES)),
        "cases_judged": Count("pk", filter=FIRST_LIVE_DECISION),
        "overrides": Count("pk", filter=FIRST_OVERRIDE),
        "escalations": Count("pk", filter=Q(outcome=DecisionOutcome.ESCALATE)),
        "four_eyes_disagreements": Count("pk", filter=FOUR_EYES_DISAGREEMENT),
        "sample_audits": Count("pk", filter=Q(outcome__in=AUDIT_OUTCOMES)),
        "audit_disagreements": Count("pk", filter=Q(outcome=DecisionOutcome.DISAGREE)),
    }


def _case_counts(period: Period) -> dict:
    # DISTINCT: a join can repeat a case (per reviewer: one row per decision).
    # (`oversight.metrics.breakdown._case_rows` counts the same per journey and day.)
    return {
        "cases_decided": Count(
            "pk",
            distinct=True,
            filter=Q(status=CaseStatus.DECIDED) & _in(period, "decided_at"),
        ),
        "sla_breaches": Count("pk", distinct=True, filter=_in(period, "sla_breached_at")),
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
    """Every count and rate of one scope in the period: the overall row of `breakdown`, which
    reads the daily summaries for whole summarised days (a few queries, whatever the number of
    rows; tests hold it to counting every row)."""
    from oversight.metrics.breakdown import breakdown

    return breakdown(period=period, scope=scope).overall


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
    from oversight.metrics.summarised import decision_summaries

    rows: dict = {}
    for table, path in paths.items():
        if path is None or (only and table not in only):
            continue
        if dimension == "day":
            key = TruncDate(path, tzinfo=datetime.UTC)
        else:
            key = F(path) if isinstance(path, str) else path
        queryset, summaries = tables[table], []
        if table == "decision" and dimension == "judgement_point":
            # Whole summarised days from DecisionDay, the rest from the decisions.
            queryset, summaries = decision_summaries(
                queryset, period, scope, group="judgement_point"
            )
        live = queryset.order_by().values(group_key=key).annotate(**counts[table])
        for row in chain(summaries, live):
            group = row.pop("group_key")
            if group is None:
                continue
            values = rows.setdefault(group, {})
            for name, value in row.items():
                values[name] = values.get(name, 0) + (value or 0)
    result = {}
    for group, values in rows.items():
        result[group] = Figures(**values)
    return result


def utc_midnight(day: datetime.date) -> datetime.datetime:
    """The start of a UTC day, as the metrics' days are."""
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def cases_behind(*, period: Period, scope: Scope = Scope(), figure: str):
    """The cases behind a figure, for drill-down links: "decided", "overridden", "breached"."""
    cases = Case.objects.filter(_scope_q(scope, "case"))
    if figure == "decided":
        return cases.filter(_in(period, "decided_at"), status=CaseStatus.DECIDED)
    if figure == "overridden":
        return cases.filter(
            pk__in=Decision.objects.filter(_in(period, "decided_at"), FIRST_OVERRIDE).values(
                "case_id"
            )
        )
    if figure == "breached":
        return cases.filter(_in(period, "sla_breached_at"))
    raise ValueError(f"Unknown figure {figure!r}.")
