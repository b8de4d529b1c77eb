"""The gate: may this automated action proceed, or must a person decide?

One call is one GateEvaluation, whatever the answer. The judgement points of the journey are
evaluated against the AI system's signals plus the server's own (missing context, personal data
in the proposal, irreversibility, amount). A paused journey, and a journey in shadow mode, route
every call to a person; in shadow the case's route reason is "shadow", whatever fired.
"""

import datetime
import random
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import router, transaction
from django.utils import timezone

from audit.row_insert import inserts_together
from oversight.exceptions import DomainError, InvalidInput
from oversight.models import (
    AISystem,
    Case,
    GateEvaluation,
    Journey,
    JudgementPoint,
    Priority,
    Route,
    RouteReason,
)
from oversight.models.judgement import NUMERIC_OPERATORS, Operator
from oversight.services.callback_policy import check_callback_url
from oversight.services.case_opening import lowest_deciding_level, open_case
from oversight.services.case_points import points_with_levels
from oversight.services.evaluation_insert import insert_evaluation
from oversight.services.pii import find_pii_in
from oversight.services.rulebook import Rule, find_stamped_journey, rules_for
from oversight.services.triggers import evaluate_trigger

# Replaced by a seeded random.Random in tests, so sampling is deterministic there.
sampling_random: random.Random = random.SystemRandom()

SHADOW_REASON = "Shadow mode: a person decides every call while the AI's agreement is measured"
SERVER_SIGNALS = ("irreversible", "amount", "missing_context", "pii_in_proposal")


class UnknownJourney(DomainError):
    code = "unknown_journey"


@dataclass(frozen=True)
class ProposedAction:
    type: str
    irreversible: bool = False
    amount: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class GateRequest:
    journey: str
    action: ProposedAction
    signals: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    proposal: Any = None
    subject_ref: str = ""
    callback_url: str = ""


@dataclass(frozen=True)
class GateResult:
    evaluation: GateEvaluation
    case: Case | None

    @property
    def route(self) -> str:
        return self.evaluation.route


@dataclass
class _Match:
    point: Rule
    fired: list


def find_journey(*, ai_system: AISystem, slug: str) -> Journey:
    """The AI system's journey by slug; another system's journey is as unknown as a missing one."""
    journey = find_stamped_journey(ai_system_id=ai_system.pk, slug=slug)
    if journey is None:
        raise UnknownJourney(
            f"No journey {slug!r} for AI system {ai_system.slug!r}. "
            "GET /api/v1/journeys/ lists the journeys this key may use."
        )
    return journey


def _is_stamped_journey_of(journey: Journey | None, ai_system: AISystem, slug: str) -> bool:
    return (
        journey is not None
        and journey.ai_system_id == ai_system.pk
        and journey.slug == slug
        and hasattr(journey, "rules_points")
    )


def active_points(journey: Journey) -> tuple[Rule, ...]:
    """The journey's active judgement points as the gate judges by them (see rulebook)."""
    return rules_for(journey)


def check_signal_types(rules: tuple[Rule, ...], signals: dict) -> None:
    """Refuse signals whose type cannot be compared by the conditions that read them."""
    problems = []
    for rule in rules:
        for signal, operator, _ in rule.conditions:
            if signal in SERVER_SIGNALS or signal not in signals:
                continue
            value = signals[signal]
            if value is None:
                continue
            if operator in NUMERIC_OPERATORS and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                problems.append(f"{signal} must be a number")
            elif operator in (Operator.IS_TRUE, Operator.IS_FALSE) and not isinstance(value, bool):
                problems.append(f"{signal} must be true or false")
            elif operator in (Operator.CONTAINS, Operator.CONTAINS_ANY) and not (
                isinstance(value, str | list)
            ):
                problems.append(f"{signal} must be a text or a list of texts")
    if problems:
        unique = sorted(set(problems))
        raise InvalidInput("Signals of the wrong type: " + "; ".join(unique) + ".")


def server_signals(journey: Journey, request: GateRequest) -> dict[str, Any]:
    """What the server adds: it does not take the AI system's word for these."""
    missing = [
        key
        for key in journey.required_context_keys
        if request.context.get(key) in (None, "", [], {})
    ]
    pii = find_pii_in(request.proposal) if request.proposal is not None else []
    return {
        "irreversible": request.action.irreversible,
        "amount": float(request.action.amount) if request.action.amount is not None else None,
        "missing_context": bool(missing),
        "missing_context_keys": missing,
        "pii_in_proposal": bool(pii),
        "pii_kinds": pii,
    }


def _sampling_rate(journey: Journey, points: tuple[Rule, ...]) -> Decimal:
    return max([journey.sampling_rate, *(p.sampling_rate for p in points)])


def evaluate_gate(
    *, ai_system: AISystem, request: GateRequest, journey: Journey | None = None
) -> GateResult:
    """Answer one "may I proceed?" call and record it.

    `journey`: the journey of `request`, if the caller already read it with its rules' stamp
    (`rulebook.with_rules_stamp`; the API reads it in the same query as the key). Used only if
    it is that system's journey with that slug; otherwise it is looked up here.

    Rules: the journey must belong to the calling AI system; signals are type-checked against
    the conditions that read them; the server's signals override same-named ones sent by the
    system; missing required context and (unless the journey allows it) personal data in the
    proposal route to a person; a paused journey routes everything to a person (invariant 9),
    and so does a journey in shadow mode (route reason "shadow": the case measures the AI);
    otherwise a sampled share of automated calls opens a non-blocking sample-audit case.
    """
    if not _is_stamped_journey_of(journey, ai_system, request.journey):
        journey = find_journey(ai_system=ai_system, slug=request.journey)
    check_callback_url(request.callback_url)  # the SSRF policy, for callers other than the API
    points = active_points(journey)
    check_signal_types(points, request.signals)

    added = server_signals(journey, request)
    signals = {**request.signals, **added}
    matches = []
    for point in points:
        fired = evaluate_trigger(point.combinator, point.conditions, signals)
        if fired:
            matches.append(_Match(point, fired))

    reasons = [f"{m.point.name}: " + " and ".join(c.explain() for c in m.fired) for m in matches]
    if added["missing_context"]:
        reasons.append("Required context missing: " + ", ".join(added["missing_context_keys"]))
    if added["pii_in_proposal"] and not journey.allow_pii_in_proposal:
        reasons.append("Personal data in the proposal: " + ", ".join(added["pii_kinds"]))
    if journey.is_paused:
        reasons.append(
            f"Automation of this journey is paused ({journey.get_automation_state_display()})"
        )
    elif journey.is_shadow:  # shadow mode: a person decides; the AI's proposal is measured
        reasons.append(SHADOW_REASON)

    to_human = bool(reasons)
    sampled = not to_human and sampling_random.random() < float(_sampling_rate(journey, points))

    # An automated answer writes one row, atomic by itself; a case adds rows that must commit
    # together with the evaluation: on PostgreSQL one statement, after the matched points are
    # read as they stand now (model instances: the case takes their level, SLA and options).
    opens_case = to_human or sampled
    with transaction.atomic() if opens_case else nullcontext():
        points_now = points_with_levels([m.point.id for m in matches]) if opens_case else []
        with inserts_together(router.db_for_write(GateEvaluation)) if opens_case else nullcontext():
            evaluation, case = _record_evaluation(
                ai_system=ai_system,
                journey=journey,
                request=request,
                added=added,
                matches=matches,
                reasons=reasons,
                to_human=to_human,
                sampled=sampled,
                points=points_now,
            )
    return GateResult(evaluation=evaluation, case=case)


def _record_evaluation(
    *,
    ai_system: AISystem,
    journey: Journey,
    request: GateRequest,
    added: dict,
    matches: list[_Match],
    reasons: list[str],
    to_human: bool,
    sampled: bool,
    points: list[JudgementPoint],
) -> tuple[GateEvaluation, Case | None]:
    evaluation = insert_evaluation(  # the ORM's row, its INSERT written once
        ai_system=ai_system,
        journey=journey,
        action_type=request.action.type,
        irreversible=request.action.irreversible,
        amount=request.action.amount,
        currency=request.action.currency,
        signals=request.signals,
        server_signals=added,
        matched=[
            {
                "judgement_point": str(m.point.id),
                "slug": m.point.slug,
                "version": m.point.version,
                "combinator": m.point.combinator,
                "fired": [c.as_dict() for c in m.fired],
            }
            for m in matches
        ],
        route=Route.HUMAN if to_human else Route.AUTOMATE,
        reasons=reasons,
        subject_ref=request.subject_ref,
        sampled=sampled,
    )
    case = None
    if to_human or sampled:
        case = _open_case(
            journey=journey,
            evaluation=evaluation,
            request=request,
            points=points,
            reasons=reasons,
            route_reason=_route_reason(journey, matches, to_human),
        )
    return evaluation, case


def _route_reason(journey: Journey, matches: list[_Match], to_human: bool) -> str:
    if not to_human:
        return RouteReason.SAMPLE_AUDIT
    if journey.is_shadow:
        return RouteReason.SHADOW
    if journey.is_paused and not matches:
        return RouteReason.AUTOMATION_PAUSED
    return RouteReason.TRIGGER


def _open_case(
    *,
    journey: Journey,
    evaluation: GateEvaluation,
    request: GateRequest,
    points: list[JudgementPoint],
    reasons: list[str],
    route_reason: str,
) -> Case:
    # `points`: the matched points as they stand now (points_with_levels): the case takes their
    # level, SLA, priority, options and four-eyes rule.
    if points:
        required_level = max((p.required_level for p in points), key=lambda lvl: lvl.rank)
        sla_minutes = min(p.sla_minutes for p in points)
        priority = max(p.priority for p in points)
        options = list(dict.fromkeys(option for p in points for option in p.options))
    else:
        required_level = lowest_deciding_level()
        sla_minutes = journey.default_sla_minutes
        priority = Priority.LOW if route_reason == RouteReason.SAMPLE_AUDIT else Priority.NORMAL
        options = []
    case = open_case(
        journey=journey,
        ai_system=evaluation.ai_system,
        route_reason=route_reason,
        required_level=required_level,
        sla_deadline=evaluation.created_at + datetime.timedelta(minutes=sla_minutes),
        priority=priority,
        four_eyes=any(p.four_eyes for p in points),
        options=options,
        request=request,
        confidence_reasons=reasons,
        evaluation=evaluation,
        opened_at=evaluation.created_at,
        judgement_points=points,
    )
    return case


DIRECT_REASONS = (RouteReason.CUSTOMER_REQUESTED_HUMAN, RouteReason.SYSTEM_UNSURE)


def open_direct_case(*, ai_system: AISystem, request: GateRequest, reason: str) -> Case:
    """Open a case without asking the gate: the customer asked for a person, or the system is
    unsure. Always routed to people, at the lowest deciding level, with the journey's SLA.
    """
    if reason not in DIRECT_REASONS:
        raise InvalidInput(
            f"reason must be one of {', '.join(DIRECT_REASONS)}, not {reason!r}.",
        )
    journey = find_journey(ai_system=ai_system, slug=request.journey)
    now = timezone.now()
    with transaction.atomic():
        return open_case(
            journey=journey,
            ai_system=ai_system,
            route_reason=reason,
            required_level=lowest_deciding_level(),
            sla_deadline=now + datetime.timedelta(minutes=journey.default_sla_minutes),
            opened_at=now,
            priority=Priority.HIGH
            if reason == RouteReason.CUSTOMER_REQUESTED_HUMAN
            else Priority.NORMAL,
            request=request,
        )
