"""Whether an id or slug an AI system was refused names another AI system's object.

The API answers "unknown" in both cases; these tell the security record apart from a typo.
Each returns (object_type, object_id) for the ledger, or None.
"""

import uuid

from oversight.models import AISystem, Case, GateEvaluation, Journey

Reference = tuple[str, str]


def foreign_journey(ai_system: AISystem, slug: str) -> Reference | None:
    pk = (
        Journey.objects.filter(slug=slug)
        .exclude(ai_system=ai_system)
        .values_list("pk", flat=True)
        .first()
    )
    return (Journey._meta.label_lower, str(pk)) if pk is not None else None


def foreign_case(ai_system: AISystem, case_id: uuid.UUID | None) -> Reference | None:
    if case_id is None:
        return None
    found = Case.objects.filter(pk=case_id).exclude(journey__ai_system=ai_system).exists()
    return (Case._meta.label_lower, str(case_id)) if found else None


def foreign_evaluation(ai_system: AISystem, evaluation_id: uuid.UUID | None) -> Reference | None:
    if evaluation_id is None:
        return None
    found = GateEvaluation.objects.filter(pk=evaluation_id).exclude(ai_system=ai_system).exists()
    return (GateEvaluation._meta.label_lower, str(evaluation_id)) if found else None
