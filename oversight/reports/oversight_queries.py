"""Read-side queries of the human oversight report that the dashboard's metrics do not cover.

Every function here aggregates or filters in the database and returns a bounded result: a count
plus at most `limit` rows, or one row per time bucket, judgement point or version. None walks the
records of a period in Python, so building the report costs the same number of queries for ten
cases or ten million (the decisions taken without effective authority are in
`oversight_authority`). The figures the dashboard also shows (gate calls, routed share, overrides,
time to decision, customer effort) come from `oversight.metrics`, never from here.
"""

from dataclasses import dataclass

from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from audit.models import AuditEvent, LedgerVerification
from literacy.models import (
    SystemBriefing,
)
from oversight.metrics import Period, Scope
from oversight.metrics.figures import FIRST_OVERRIDE, _scope_q
from oversight.models import (
    AISystem,
    AuthorityGrant,
    Case,
    CaseStatus,
    Decision,
    DecisionOutcome,
    DecisionStage,
    GateEvaluation,
    Guardrail,
    GuardrailEvaluation,
    Journey,
    JudgementPoint,
    Outcome,
    TriggerCondition,
)

PAUSE_ACTIONS = ("automation.paused", "automation.resumed")


def _in(period: Period, name: str) -> Q:
    return Q(**{f"{name}__gte": period.start, f"{name}__lt": period.end})


@dataclass(frozen=True)
class Bounded:
    """The first rows of a longer list, and how many there are in all."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


# --- the oversight design and its changes ----------------------------------------------------

# The fields that make up the oversight design of each model; a history row that changes none of
# them (a pause, a version bump, a timestamp) is not a design change.
DESIGN_FIELDS: dict[type, tuple[str, ...]] = {
    Journey: (
        "name",
        "description",
        "required_context_keys",
        "allow_pii_in_proposal",
        "sampling_rate",
        "default_sla_minutes",
    ),
    JudgementPoint: (
        "name",
        "description",
        "combinator",
        "required_level_id",
        "sla_minutes",
        "four_eyes",
        "options",
        "sampling_rate",
        "priority",
        "is_active",
    ),
    TriggerCondition: ("judgement_point_id", "signal", "operator", "value", "position"),
    Guardrail: ("kind", "threshold", "window", "min_sample", "is_active"),
}

_SYSTEM_PATH = {
    Journey: "ai_system",
    JudgementPoint: "journey__ai_system",
    TriggerCondition: "judgement_point__journey__ai_system",
    Guardrail: "journey__ai_system",
}

_RELATED = {
    Journey: (),
    JudgementPoint: ("journey",),
    TriggerCondition: ("judgement_point",),
    Guardrail: ("journey",),
}


def _comparable(expression) -> Coalesce:
    # Text, so JSON, decimals and booleans compare the same way on SQLite and PostgreSQL, and
    # NULL equals NULL.
    return Coalesce(Cast(expression, TextField()), Value("\u2205"), output_field=TextField())


def design_changes(model, *, ai_system: AISystem, period: Period, limit: int):
    """History rows of `model` in the period that created, deleted or changed its design.

    Returns (total, rows, previous): the first `limit` rows in time order, each with
    `previous_history_id`, and {history id: previous version} for describing what changed.
    Three queries.
    """
    history = model.history.model
    fields = DESIGN_FIELDS[model]
    previous = history.objects.filter(
        id=OuterRef("id"), history_date__lt=OuterRef("history_date")
    ).order_by("-history_date", "-history_id")
    same_design = history.objects.filter(history_id=OuterRef("previous_history_id"))
    for name in fields:
        same_design = same_design.annotate(**{f"cmp_{name}": _comparable(name)}).filter(
            **{f"cmp_{name}": _comparable(OuterRef(name))}
        )
    changes = (
        history.objects.filter(_in(period, "history_date"), **{_SYSTEM_PATH[model]: ai_system})
        .annotate(previous_history_id=Subquery(previous.values("history_id")[:1]))
        .filter(~Q(history_type="~") | ~Exists(same_design))
    )
    total = changes.count()
    if not total:
        return 0, [], {}
    rows = list(
        changes.select_related("history_user", *_RELATED[model]).order_by(
            "history_date", "history_id"
        )[:limit]
    )
    ids = {row.previous_history_id for row in rows if row.previous_history_id}
    before = {row.history_id: row for row in history.objects.filter(history_id__in=ids)}
    return total, rows, before


def rule_versions(*, ai_system: AISystem, period: Period) -> list:
    """The judgement point versions in force at some moment of the period: the version each
    point had at its start, and every version recorded during it. Two queries, one row per
    (point, version), ordered by point and version."""
    history = JudgementPoint.history
    at_start = list(
        history.filter(journey__ai_system=ai_system, history_date__lte=period.start)
        .latest_of_each()
        .exclude(history_type="-")
        .select_related("journey")
    )
    during = list(
        history.filter(journey__ai_system=ai_system, history_date__gt=period.start)
        .filter(history_date__lt=period.end)
        .exclude(history_type="-")
        .select_related("journey")
        .order_by("history_date", "history_id")
    )
    versions: dict = {}
    for row in at_start + during:
        versions.setdefault((row.id, row.version), row)
    return sorted(versions.values(), key=lambda r: (r.journey.name, r.name, r.version))


def briefings_in_force(*, ai_system: AISystem, first_day, last_day) -> list[SystemBriefing]:
    """The briefing versions in force on some day of the period: the newest published by its
    first day and every one published during it. One query (versions are few)."""
    published = list(
        SystemBriefing.objects.filter(ai_system=ai_system, published_on__lte=last_day)
        .select_related("published_by")
        .order_by("version")
    )
    before = [b for b in published if b.published_on <= first_day]
    return before[-1:] + [b for b in published if b.published_on > first_day]


# --- the people ------------------------------------------------------------------------------


def grants_during(*, ai_system: AISystem, period: Period, limit: int) -> Bounded:
    """Grants on the AI system or one of its journeys in force at some moment of the period.

    Read from the grants' history as each stood at the end of the period (a later extension or
    revocation does not rewrite it): valid from before the end, not ended or revoked before the
    start. Two queries; ordered by journey (system-wide first), level (highest first), person.
    """
    versions = (
        AuthorityGrant.history.filter(history_date__lt=period.end)
        .latest_of_each()
        .exclude(history_type="-")
        .filter(Q(ai_system=ai_system) | Q(journey__ai_system=ai_system))
        .filter(
            Q(valid_from__lt=period.end)
            & (Q(valid_until__isnull=True) | Q(valid_until__gt=period.start))
            & (Q(revoked_at__isnull=True) | Q(revoked_at__gt=period.start))
        )
    )
    total = versions.count()
    rows = list(
        versions.select_related("user", "level", "journey", "granted_by", "revoked_by").order_by(
            F("journey__name").asc(nulls_first=True),
            "-level__rank",
            "user__username",
            "valid_from",
        )[:limit]
    )
    return Bounded(rows, total)


def _grant_then(column: str) -> Subquery:
    """One column of the decision's grant as recorded at the moment of the decision."""
    return Subquery(
        AuthorityGrant.history.filter(
            id=OuterRef("grant_id"), history_date__lte=OuterRef("decided_at")
        )
        .order_by("-history_date", "-history_id")
        .values(column)[:1]
    )


# Decisions judged per chunk, read from a server-side cursor: memory stays bounded by the chunk
# and the rows the report prints, however many decisions the period holds.
# --- activity --------------------------------------------------------------------------------


def cases_opened(*, ai_system: AISystem, period: Period) -> int:
    """Cases of the AI system opened in the period. One query."""
    return Case.objects.filter(_in(period, "opened_at"), journey__ai_system=ai_system).count()


def four_eyes_outcomes(*, ai_system: AISystem, period: Period) -> dict:
    """Second reviews of four-eyes cases taken in the period: how many confirmed the first
    decision (the case was decided in that round) and how many did not (the two disagreed, or
    the second reviewer escalated, and the case went up a level). One query."""
    row = Decision.objects.filter(
        _in(period, "decided_at"),
        case__journey__ai_system=ai_system,
        stage=DecisionStage.SECOND,
    ).aggregate(
        second_reviews=Count("pk"),
        confirmed=Count(
            "pk",
            filter=Q(case__status=CaseStatus.DECIDED, case__review_round=F("review_round"))
            & ~Q(outcome=DecisionOutcome.ESCALATE),
        ),
    )
    row["not_confirmed"] = row["second_reviews"] - row["confirmed"]
    return row


def outcome_answers(*, ai_system: AISystem, period: Period) -> dict:
    """Complaints among the outcomes reported in the period (those the metrics do not count),
    with the same scope rule as `oversight.metrics` (through the case or the gate call: the
    metrics' own filter, an EXISTS on the gate call's key rather than a join of every call)."""
    return Outcome.objects.filter(
        _in(period, "reported_at"), _scope_q(Scope(ai_system=ai_system), "outcome")
    ).aggregate(
        complaint_answers=Count("pk", filter=Q(complaint__isnull=False)),
        complaints=Count("pk", filter=Q(complaint=True)),
    )


def recent_overrides(*, ai_system: AISystem, period: Period, limit: int) -> list[Decision]:
    """The most recent overrides of the period (each case's first overriding decision, as the
    figures count them), newest first. One query."""
    return list(
        Decision.objects.filter(
            _in(period, "decided_at"),
            FIRST_OVERRIDE,
            case__journey__ai_system=ai_system,
        )
        .select_related("reviewer", "override_reason", "case__journey", "authority_level")
        .order_by("-decided_at", "-pk")[:limit]
    )


# --- the stop button and guardrails ----------------------------------------------------------


def pause_events(*, ai_system: AISystem, period: Period, limit: int) -> Bounded:
    """Pauses and resumptions of the AI system's journeys in the period, from the audit ledger
    (the stop button's and the guardrails' own record). Two queries, in ledger order."""
    events = AuditEvent.objects.filter(
        _in(period, "occurred_at"),
        action__in=PAUSE_ACTIONS,
        object_type="oversight.journey",
        payload__ai_system=ai_system.slug,
    )
    total = events.count()
    rows = list(events.order_by("sequence")[:limit]) if total else []
    return Bounded(rows, total)


def guardrail_breaches(*, ai_system: AISystem, period: Period) -> dict:
    """Guardrail looks in the period: how many, how many breached, how many paused. One query."""
    return GuardrailEvaluation.objects.filter(
        _in(period, "evaluated_at"), guardrail__journey__ai_system=ai_system
    ).aggregate(
        evaluations=Count("pk"),
        breaches=Count("pk", filter=Q(breached=True)),
        pauses=Count("pk", filter=Q(paused_automation=True)),
    )


# --- log integrity ---------------------------------------------------------------------------


def ledger_facts() -> dict:
    """Size and age of what is held, and the latest verification of the chain. Three queries."""
    events = AuditEvent.objects.aggregate(
        count=Count("pk"), oldest=Min("occurred_at"), newest=Max("occurred_at")
    )
    oldest_gate = GateEvaluation.objects.aggregate(oldest=Min("created_at"))["oldest"]
    verification = LedgerVerification.objects.order_by("-verified_at", "-pk").first()
    return {
        "events": events["count"],
        "oldest_event": events["oldest"],
        "newest_event": events["newest"],
        "oldest_gate_evaluation": oldest_gate,
        "verification": verification,
    }
