"""Decided shadow cases for the shadow-mode tests: hand-countable fixtures."""

import datetime

from django.utils import timezone

from oversight.models import CaseStatus, DecisionOutcome, DecisionStage, RouteReason
from tests.factories import CaseFactory, DecisionFactory, OverrideReasonFactory


def decided_shadow_case(
    journey,
    outcome: str = DecisionOutcome.APPROVE,
    *,
    confidence: float | None = 0.8,
    points=(),
    opened_at: datetime.datetime | None = None,
    route_reason: str = RouteReason.SHADOW,
    reviewer=None,
    status: str = CaseStatus.DECIDED,
):
    """One shadow case whose only (so final) decision has `outcome`."""
    opened = opened_at or timezone.now() - datetime.timedelta(hours=2)
    case = CaseFactory(
        journey=journey,
        route_reason=route_reason,
        status=status,
        confidence=confidence,
        opened_at=opened,
        decided_at=opened + datetime.timedelta(minutes=30)
        if status == CaseStatus.DECIDED
        else None,
    )
    if points:
        case.judgement_points.add(*points)
    overriding = outcome in (DecisionOutcome.MODIFY, DecisionOutcome.REJECT)
    extra = {"reviewer": reviewer} if reviewer is not None else {}
    DecisionFactory(
        case=case,
        outcome=outcome,
        stage=DecisionStage.FIRST,
        is_override=overriding,
        override_reason=OverrideReasonFactory(code="shadow-test") if overriding else None,
        rationale="Not what the customer needs." if overriding else "",
        decided_at=opened + datetime.timedelta(minutes=30),
        **extra,
    )
    return case


def shadow_history(journey, *, agreed: int, disagreed: int, **kwargs) -> list:
    """`agreed` approved and `disagreed` rejected decided shadow cases."""
    return [
        decided_shadow_case(journey, DecisionOutcome.APPROVE, **kwargs) for _ in range(agreed)
    ] + [decided_shadow_case(journey, DecisionOutcome.REJECT, **kwargs) for _ in range(disagreed)]
