"""Read-side queries of the reviewer workspace: the queue, its counts, and a case's neighbours.

Every function starts from the cases a person may decide (`decidable_cases`, invariant 2), so
the queue, the counts, a customer's earlier cases and the precedents never show a reviewer a
case outside their authority. Each runs a fixed number of queries whatever the number of cases;
callers that already hold the person's decidable cases pass them as `decidable` to save the
authority look-up.
"""

import datetime
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import (
    Case,
    CaseStatus,
    Decision,
    Journey,
    JudgementPoint,
    Operator,
    RouteReason,
)
from oversight.models.judgement import VALUELESS_OPERATORS
from oversight.review_history import review_queryset
from oversight.services.authority import decidable_cases

LIVE_TAB = "live"
AUDIT_TAB = "audit"
WAITING = ""  # the state filter's default: every state but decided

# Ledger entries that explain why a case moved up a level or back to the queue.
ESCALATION_ACTIONS = ("case.escalated", "case.sla_breached", "case.second_review_disagreed")


@dataclass(frozen=True)
class QueueFilters:
    """What a reviewer narrowed their queue to; empty values mean "any".

    `tab` separates live cases from sample audits, so after-the-fact audits never crowd out
    cases a customer is waiting on. `state` empty means every state but decided.
    """

    tab: str = LIVE_TAB
    journey: str = ""
    judgement_point: str = ""
    route_reason: str = ""
    state: str = WAITING
    sla_breached: bool | None = None


def _decidable(user, at, decidable):
    return decidable if decidable is not None else decidable_cases(user, at=at)


def _in_tab(cases: QuerySet, tab: str) -> QuerySet:
    if tab == AUDIT_TAB:
        return cases.filter(route_reason=RouteReason.SAMPLE_AUDIT)
    return cases.exclude(route_reason=RouteReason.SAMPLE_AUDIT)


def breached_filter(at: datetime.datetime) -> Q:
    """Cases past their SLA now, or that breached it once (the sweep escalates and resets it)."""
    return Q(sla_breached_at__isnull=False) | (
        Q(sla_deadline__lt=at) & ~Q(status=CaseStatus.DECIDED)
    )


def _filtered(cases: QuerySet, filters: QueueFilters, at: datetime.datetime) -> QuerySet:
    cases = _in_tab(cases, filters.tab)
    if filters.journey:
        cases = cases.filter(journey_id=filters.journey)
    if filters.judgement_point:
        # A subquery, not a join: a join would repeat a case once per matching point.
        cases = cases.filter(
            pk__in=Case.judgement_points.through.objects.filter(
                judgementpoint_id=filters.judgement_point
            ).values("case_id")
        )
    if filters.route_reason:
        cases = cases.filter(route_reason=filters.route_reason)
    if filters.sla_breached is True:
        cases = cases.filter(breached_filter(at))
    elif filters.sla_breached is False:
        cases = cases.exclude(breached_filter(at))
    return cases


def queue_for(
    user,
    filters: QueueFilters,
    *,
    at: datetime.datetime | None = None,
    decidable: QuerySet | None = None,
) -> QuerySet:
    """The cases `user` may decide, narrowed by `filters`, most urgent first.

    Decided cases are left out unless `filters.state` asks for them. Urgency: the nearest SLA
    deadline first, then the higher priority, then the oldest. Rows carry their journey, claim
    holder, matched judgement points and `first_reason` (the system's own first reason, else the
    gate's): two queries per page (rows, points) after the authority look-up.
    """
    at = at or timezone.now()
    cases = _filtered(_decidable(user, at, decidable), filters, at)
    if filters.state:
        cases = cases.filter(status=filters.state)
    else:
        cases = cases.exclude(status=CaseStatus.DECIDED)
    return (
        cases.select_related("journey", "claimed_by", "required_level")
        .prefetch_related(
            Prefetch("judgement_points", queryset=JudgementPoint.objects.order_by("name"))
        )
        # KeyTextTransform over the joined column: KT("evaluation__reasons__0") would read
        # "evaluation" as a JSON key of the case on PostgreSQL.
        .annotate(
            first_reason=Coalesce(
                KeyTextTransform("0", "confidence_reasons"),
                KeyTextTransform("0", "evaluation__reasons"),
            )
        )
        .order_by("sla_deadline", "-priority", "opened_at", "pk")
    )


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


def state_counts(
    user,
    filters: QueueFilters,
    *,
    at: datetime.datetime | None = None,
    decidable: QuerySet | None = None,
) -> list[StateCount]:
    """How many of `user`'s cases are in each state, under every filter but the state one.

    One query. Listed in the order a case moves through them, every state present (zero too),
    with a first entry, state "", for all cases still waiting (every state but decided).
    """
    at = at or timezone.now()
    cases = _filtered(_decidable(user, at, decidable), replace(filters, state=WAITING), at)
    found = dict(cases.order_by().values_list("status").annotate(n=Count("pk")))
    waiting = sum(n for status, n in found.items() if status != CaseStatus.DECIDED)
    return [
        StateCount(WAITING, "All waiting", waiting),
        *(StateCount(value, label, found.get(value, 0)) for value, label in CaseStatus.choices),
    ]


def tab_counts(
    user, *, at: datetime.datetime | None = None, decidable: QuerySet | None = None
) -> dict[str, int]:
    """Cases still waiting for `user` in each tab (live cases, sample audits). One query."""
    at = at or timezone.now()
    waiting = _decidable(user, at, decidable).exclude(status=CaseStatus.DECIDED)
    audit = Q(route_reason=RouteReason.SAMPLE_AUDIT)
    return waiting.aggregate(
        **{LIVE_TAB: Count("pk", filter=~audit), AUDIT_TAB: Count("pk", filter=audit)}
    )


def queue_filter_choices(
    user, *, at: datetime.datetime | None = None, decidable: QuerySet | None = None
) -> tuple[list, list]:
    """The journeys and judgement points a reviewer can filter by: those of their cases.

    Two queries: ([(journey id, name)], [(point id, "journey — point")]).
    """
    at = at or timezone.now()
    journey_ids = _decidable(user, at, decidable).order_by().values("journey_id")
    points = (
        JudgementPoint.objects.filter(journey_id__in=journey_ids)
        .select_related("journey")
        .order_by("journey__name", "name")
    )
    journeys = Journey.objects.filter(pk__in=journey_ids).order_by("name")
    return (
        [(str(journey.pk), journey.name) for journey in journeys],
        [(str(point.pk), f"{point.journey.name} — {point.name}") for point in points],
    )


def case_for_review(
    user,
    case_id,
    *,
    at: datetime.datetime | None = None,
    decidable: QuerySet | None = None,
) -> Case | None:
    """The case with everything the decision screen shows, or None if `user` may not decide it.

    Invariant 2: a case outside the person's authority is not returned, so the screen never
    shows it. Four queries after the authority look-up (case, points, conditions, decisions).
    """
    return review_queryset(_decidable(user, at, decidable)).filter(pk=case_id).first()


def case_exists(case_id) -> bool:
    """Whether a case with this id exists at all (to tell "not found" from "not yours")."""
    return Case.objects.filter(pk=case_id).exists()


@dataclass(frozen=True)
class FiredCondition:
    signal: str
    operator: str
    threshold: Any
    actual: Any
    has_value: bool


@dataclass(frozen=True)
class MatchedPoint:
    """A judgement point that fired on the case, with the signal values that fired it."""

    name: str
    slug: str
    version: int | None
    description: str
    combinator: str
    conditions: list[FiredCondition]
    from_gate: bool


def matched_points(case: Case) -> list[MatchedPoint]:
    """Why the case came to a person, point by point. No queries (reads what was prefetched).

    The gate evaluation stored each fired condition with the value the signal had, so later
    edits of a point never rewrite why this case was routed. Cases opened without a gate call
    show the points' conditions as configured, without values.
    """
    points = {str(point.pk): point for point in case.judgement_points.all()}
    matched = []
    seen = set()
    evaluation = case.evaluation
    for entry in (evaluation.matched if evaluation else None) or []:
        if not isinstance(entry, dict):
            continue
        point = points.get(str(entry.get("judgement_point")))
        seen.add(str(entry.get("judgement_point")))
        matched.append(
            MatchedPoint(
                name=point.name if point else str(entry.get("slug", "")),
                slug=str(entry.get("slug", "")),
                version=entry.get("version"),
                description=point.description if point else "",
                combinator=str(entry.get("combinator", "")),
                conditions=[
                    _fired(c.get("signal"), c.get("operator"), c.get("value"), c.get("actual"))
                    for c in entry.get("fired") or []
                    if isinstance(c, dict)
                ],
                from_gate=True,
            )
        )
    for key, point in points.items():
        if key in seen:
            continue
        matched.append(
            MatchedPoint(
                name=point.name,
                slug=point.slug,
                version=point.version,
                description=point.description,
                combinator=point.combinator,
                conditions=[
                    _fired(c.signal, c.operator, c.value, None) for c in point.conditions.all()
                ],
                from_gate=False,
            )
        )
    return matched


def _fired(signal, operator, threshold, actual) -> FiredCondition:
    try:
        label = Operator(operator).label
    except ValueError:
        label = str(operator)
    return FiredCondition(
        signal=str(signal),
        operator=label,
        threshold=threshold,
        actual=actual,
        has_value=operator not in VALUELESS_OPERATORS,
    )


def _with_final_decisions(cases: QuerySet) -> QuerySet:
    """What `selectors.final_decision` reads, prefetched: one query for all the cases."""
    return cases.select_related("journey").prefetch_related(
        Prefetch(
            "decisions",
            queryset=Decision.objects.select_related("override_reason", "reviewer"),
        ),
        Prefetch("judgement_points", queryset=JudgementPoint.objects.order_by("name")),
    )


def earlier_cases(case: Case, limit: int = 10, *, within: QuerySet | None = None) -> list[Case]:
    """The same customer's other cases with the same AI system, newest first.

    Matched on the pseudonymous `subject_ref`; a case without one has no earlier cases.
    `within` (the viewer's decidable cases) keeps out cases the viewer may not see. Three
    queries: cases, their decisions, their points.
    """
    if not case.subject_ref:
        return []
    base = within if within is not None else Case.objects.all()
    cases = (
        base.filter(subject_ref=case.subject_ref, journey__ai_system_id=case.journey.ai_system_id)
        .exclude(pk=case.pk)
        .order_by("-opened_at", "pk")
    )
    return list(_with_final_decisions(cases)[:limit])


def precedents(case: Case, limit: int = 5, *, within: QuerySet | None = None) -> list[Case]:
    """The most similar decided cases of the same journey: what people decided before.

    Similar means sharing judgement points with this case: ranked by the number of points
    shared, then by how close their confidence was to this case's, then the most recently
    decided. Sample audits are compared with sample audits only, live cases with live cases; a
    case that no point fired for is compared with cases of the same route reason that no point
    fired for either. Each result carries `shared` (points in common). Three queries.
    """
    base = within if within is not None else Case.objects.all()
    point_ids = [point.pk for point in case.judgement_points.all()]
    cases = _in_tab(
        base.filter(journey_id=case.journey_id, status=CaseStatus.DECIDED).exclude(pk=case.pk),
        AUDIT_TAB if case.route_reason == RouteReason.SAMPLE_AUDIT else LIVE_TAB,
    )
    if point_ids:
        cases = cases.annotate(
            shared=Count("judgement_points", filter=Q(judgement_points__in=point_ids))
        ).filter(shared__gte=1)
    else:
        cases = (
            cases.filter(route_reason=case.route_reason)
            .annotate(points=Count("judgement_points"), shared=Value(0))
            .filter(points=0)
        )
    order = [F("shared").desc()]
    if case.confidence is not None:
        cases = cases.annotate(distance=Abs(F("confidence") - Value(case.confidence)))
        order.append(F("distance").asc(nulls_last=True))
    order += [F("decided_at").desc(), "pk"]
    return list(_with_final_decisions(cases.order_by(*order))[:limit])


def escalations(case: Case) -> list[AuditEvent]:
    """The ledger entries that moved this case up or back: escalations and SLA breaches.

    One query; oldest first. Their payloads hold the note, the levels and the round.
    """
    return list(
        AuditEvent.objects.filter(
            object_type=Case._meta.label_lower,
            object_id=str(case.pk),
            action__in=ESCALATION_ACTIONS,
        ).order_by("sequence")
    )
