"""Opening a case: the case, its history row, its judgement points and its `case.opened` ledger
event, written together in the caller's transaction. The gate (`oversight.services.gate`)
opens cases for the calls it routes to people, and for direct requests (`open_direct_case`).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import router
from django.utils import timezone

from audit.history import insert_with_history
from audit.row_insert import inserts_together
from audit.services.ledger import Actor, record_event
from oversight.exceptions import DomainError
from oversight.models import (
    AISystem,
    AuthorityLevel,
    Case,
    GateEvaluation,
    Journey,
    JudgementPoint,
    Priority,
)
from oversight.services.case_points import add_judgement_points

if TYPE_CHECKING:  # the gate imports this module
    from oversight.services.gate import GateRequest


def lowest_deciding_level() -> AuthorityLevel:
    """The lowest level that may decide: where a case goes that no judgement point ranks."""
    level = AuthorityLevel.objects.filter(may_decide=True).order_by("rank").first()
    if level is None:
        raise DomainError(
            "No authority level that may decide exists yet: create one before routing cases.",
            code="not_configured",
        )
    return level


def open_case(
    *,
    journey: Journey,
    ai_system: AISystem,
    route_reason: str,
    required_level: AuthorityLevel,
    sla_deadline: datetime.datetime,
    request: GateRequest,
    priority: int = Priority.NORMAL,
    four_eyes: bool = False,
    options: list[str] | None = None,
    confidence_reasons: list[str] | None = None,
    evaluation: GateEvaluation | None = None,
    opened_at: datetime.datetime | None = None,
    judgement_points: list[JudgementPoint] | None = None,
) -> Case:
    """Create a case and its ledger entry; runs inside the caller's transaction.

    The `case.opened` event is recorded without taking the ledger-head lock and chained right
    after the transaction commits, before the caller answers (`record_event`): case openings
    no longer queue behind one another's COMMIT on the head row (docs/performance.md, G5).
    On PostgreSQL the case, its history row, its points and the event are written by one
    statement (`inserts_together`, audit/row_insert.py).
    """
    confidence = request.signals.get("confidence")
    case = Case(
        journey=journey,
        evaluation=evaluation,
        route_reason=route_reason,
        priority=priority,
        required_level=required_level,
        four_eyes=four_eyes,
        context=request.context,
        proposal=request.proposal if request.proposal is not None else {},
        action_type=request.action.type,
        irreversible=request.action.irreversible,
        amount=request.action.amount,
        currency=request.action.currency,
        confidence=confidence
        if isinstance(confidence, int | float) and 0 <= confidence <= 1
        else None,
        confidence_reasons=confidence_reasons or [],
        options=options or [],
        subject_ref=request.subject_ref,
        callback_url=request.callback_url,
        sla_deadline=sla_deadline,
        opened_at=opened_at or timezone.now(),
    )
    case._change_reason = f"Opened through the API by AI system {ai_system.slug}"
    # The case, its history row, its points and its event: one statement on PostgreSQL.
    with inserts_together(router.db_for_write(Case, instance=case)):
        insert_with_history(case)  # case.save(), its two INSERTs written once
        del case._change_reason  # the reason of this save only: later saves give their own
        if judgement_points:
            add_judgement_points(case, judgement_points)
        record_event(
            actor=Actor.for_ai_system(ai_system),
            action="case.opened",
            obj=case,
            payload={
                "journey": journey.slug,
                "route_reason": route_reason,
                "evaluation": str(evaluation.id) if evaluation else None,
                "required_level": required_level.name,
                "reasons": confidence_reasons or [],
                "sla_deadline": sla_deadline,
            },
        )
    return case
