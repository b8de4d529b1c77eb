"""Incidents the product suggests from patterns, for a person to confirm or dismiss.

The pattern: an action the automation took on its own (a gate evaluation answered "automation
may proceed") that was later reversed *and* complained about (outcomes reported by the AI
system, in one report or two). That is harm that reached a customer without a human in the
loop, the situation Art. 73 is about. A suggestion is not an incident: it has no deadline and
reaches no register, report or reminder until a person confirms it
(`advance_incident(to_state="suspected")`), which starts the clock.
"""

import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.models import (
    GateEvaluation,
    Incident,
    IncidentSource,
    IncidentState,
    Outcome,
    Route,
)

SUGGESTER = "incident suggestions"


def _flagged(field: str):
    return Exists(Outcome.objects.filter(evaluation=OuterRef("pk"), **{field: True}))


def suggest_incidents(*, now: datetime.datetime | None = None) -> list[Incident]:
    """Suggest one incident per automated action later reversed with a complaint.

    Idempotent: an evaluation already behind a suggestion (whatever became of it) is skipped,
    and the database allows one suggestion per outcome. Each suggestion is one transaction
    with its ledger event ("incident.suggested"); the actor is the product.
    """
    now = now or timezone.now()
    already = Incident.objects.filter(
        source=IncidentSource.SUGGESTION, source_outcome__evaluation=OuterRef("pk")
    )
    evaluations = (
        GateEvaluation.objects.filter(route=Route.AUTOMATE)
        .filter(_flagged("reversed"), _flagged("complaint"))
        .exclude(Exists(already))
        .select_related("journey__ai_system")
        .order_by("created_at")
    )
    created = []
    for evaluation in evaluations:
        outcome = (
            Outcome.objects.filter(evaluation=evaluation)
            .filter(reversed=True)
            .order_by("-reported_at")
            .first()
        )
        complaint = (
            Outcome.objects.filter(evaluation=evaluation, complaint=True)
            .order_by("-reported_at")
            .first()
        )
        journey = evaluation.journey
        with transaction.atomic():
            incident = Incident(
                title=f"Automated {evaluation.action_type or 'action'} reversed after a complaint",
                what_happened=(
                    f"The automation of {journey.name} proceeded without a person "
                    f"({evaluation.created_at:%Y-%m-%d %H:%M} UTC, evaluation "
                    f"{str(evaluation.pk)[:8]}); the action was later reversed and the customer "
                    "complained. Suggested by the product: confirm it if it is a serious "
                    "incident, dismiss it with a note if not."
                ),
                affected=f"The customer {evaluation.subject_ref}".strip()
                if evaluation.subject_ref
                else "One customer (no reference given)",
                ai_system=journey.ai_system,
                source=IncidentSource.SUGGESTION,
                source_outcome=outcome,
                state=IncidentState.SUGGESTED,
                raised_at=now,
            )
            incident._history_date = now
            incident.save()
            append_event(
                actor=Actor.system(SUGGESTER),
                action="incident.suggested",
                obj=incident,
                payload={
                    "ai_system": journey.ai_system.slug,
                    "evaluation": str(evaluation.pk),
                    "reversal": str(outcome.pk),
                    "complaint": str(complaint.pk),
                },
            )
        created.append(incident)
    return created
