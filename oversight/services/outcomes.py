"""Outcomes reported later by an AI system about a gate evaluation or a case."""

import uuid

from django.db import transaction

from audit.services.ledger import Actor, append_event
from oversight.exceptions import DomainError, InvalidInput
from oversight.models import AISystem, Case, GateEvaluation, Outcome


class UnknownSubject(DomainError):
    code = "not_found"


def record_outcome(
    *,
    ai_system: AISystem,
    evaluation_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    customer_effort: int | None = None,
    repeat_contact: bool | None = None,
    complaint: bool | None = None,
    reversed: bool | None = None,
    note: str = "",
) -> Outcome:
    """Attach outcome signals to one of the AI system's own evaluations or cases.

    Rules: at least one subject and at least one signal; another system's evaluation or case is
    treated as unknown; the effort score is 1–7. An evaluation that opened a case links both.
    """
    if evaluation_id is None and case_id is None:
        raise InvalidInput("Name the evaluation or the case this outcome belongs to.")
    signals = (customer_effort, repeat_contact, complaint, reversed)
    if all(value is None for value in signals) and not note:
        raise InvalidInput(
            "Report at least one of customer_effort, repeat_contact, complaint, reversed."
        )
    if customer_effort is not None and not 1 <= customer_effort <= 7:
        raise InvalidInput("customer_effort must be between 1 and 7.")

    evaluation = case = None
    if evaluation_id is not None:
        evaluation = GateEvaluation.objects.filter(ai_system=ai_system, pk=evaluation_id).first()
        if evaluation is None:
            raise UnknownSubject(f"No evaluation {evaluation_id} for this AI system.")
    if case_id is not None:
        case = Case.objects.filter(journey__ai_system=ai_system, pk=case_id).first()
        if case is None:
            raise UnknownSubject(f"No case {case_id} for this AI system.")
    elif evaluation is not None:
        case = Case.objects.filter(evaluation=evaluation).first()
    if (
        evaluation is not None
        and case is not None
        and case.evaluation_id
        not in (
            None,
            evaluation.pk,
        )
    ):
        raise InvalidInput("That case was not opened by that evaluation.")

    with transaction.atomic():
        outcome = Outcome(
            evaluation=evaluation,
            case=case,
            customer_effort=customer_effort,
            repeat_contact=repeat_contact,
            complaint=complaint,
            reversed=reversed,
            note=note,
            reported_by=ai_system,
        )
        outcome._change_reason = f"Reported through the API by AI system {ai_system.slug}"
        outcome.save()
        append_event(
            actor=Actor.for_ai_system(ai_system),
            action="outcome.recorded",
            obj=outcome,
            payload={
                "evaluation": str(evaluation.pk) if evaluation else None,
                "case": str(case.pk) if case else None,
                "customer_effort": customer_effort,
                "repeat_contact": repeat_contact,
                "complaint": complaint,
                "reversed": reversed,
            },
        )
    return outcome
