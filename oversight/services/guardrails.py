"""Guardrails: judge each journey's outcome goals and stop its automation when one is missed.

Run hourly by django-q2 (`oversight.tasks.evaluate_guardrails`). Each active guardrail is
measured over its window (the last N outcomes or decisions of its journey, in the database),
and every look is kept as a GuardrailEvaluation. A breach on a running journey pauses it through
the stop button's service (paused by a guardrail, actor "guardrails", the figures in the audit
event) and e-mails the journey's managers; only a manager resumes it. A guardrail set to
"return to shadow" (`on_breach`) puts a live journey back in shadow instead, so it goes live
again only with a new go-live sign-off. A breach on a journey that is not live (paused, or in
shadow) is recorded and changes nothing else, so a retried or repeated run never pauses or
notifies twice.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.exceptions import NotAllowed, StaleState
from oversight.metrics import AUDIT_OUTCOMES, LIVE_OUTCOMES, distribution
from oversight.models import (
    Decision,
    DecisionOutcome,
    Guardrail,
    GuardrailBreachAction,
    GuardrailEvaluation,
    GuardrailKind,
    Journey,
    Outcome,
)
from oversight.services.authority import managers_of_journey, manages_scope
from oversight.services.automation import pause_journey
from oversight.services.golive import return_to_shadow


@dataclass
class GuardrailRun:
    """What one run found: how many guardrails were judged, which breached, what was paused."""

    evaluated: int = 0
    breached: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.evaluated} guardrails evaluated; breached: {', '.join(self.breached) or '-'}; "
            f"paused: {', '.join(self.paused) or '-'}"
        )


def measure(guardrail: Guardrail, *, now: datetime.datetime) -> tuple[float | None, int]:
    """The guardrail's figure over its window up to `now`, and how many values it rests on.

    The figure is None when fewer than `min_sample` values are in the window.
    """
    journey = guardrail.journey
    if guardrail.kind == GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX:
        window = (
            Outcome.objects.filter(
                Q(case__journey=journey) | Q(evaluation__journey=journey),
                customer_effort__isnull=False,
                reported_at__lte=now,
            )
            .order_by("-reported_at", "-pk")
            .values("pk")[: guardrail.window]
        )
        result = distribution(Outcome.objects.filter(pk__in=window), F("customer_effort"))
        value, size = result.median, result.count
    else:
        outcomes, counted = (
            (AUDIT_OUTCOMES, Q(outcome=DecisionOutcome.DISAGREE))
            if guardrail.kind == GuardrailKind.SAMPLE_AUDIT_DISAGREEMENT_MAX
            else (LIVE_OUTCOMES, Q(is_override=True))
        )
        window = (
            Decision.objects.filter(
                case__journey=journey, outcome__in=outcomes, decided_at__lte=now
            )
            .order_by("-decided_at", "-pk")
            .values("pk")[: guardrail.window]
        )
        row = Decision.objects.filter(pk__in=window).aggregate(
            size=Count("pk"), hits=Count("pk", filter=counted)
        )
        size = row["size"]
        value = row["hits"] / size if size else None
    if size < guardrail.min_sample:
        return None, size
    return value, size


def describe_breach(guardrail: Guardrail, value: float, size: int) -> str:
    return (
        f"Guardrail breached: {guardrail.get_kind_display()} — "
        f"{value:.4g} over the last {size} is above {guardrail.threshold.normalize()}."
    )


def _notify_managers(journey: Journey, reason: str) -> None:
    recipients = [user.email for user in managers_of_journey(journey) if user.email]
    if not recipients:
        return
    if journey.is_shadow:
        subject = f"Journey returned to shadow by a guardrail: {journey}"
        message = (
            f"{journey} was returned to shadow mode at {journey.shadow_since:%Y-%m-%d %H:%M} "
            f"UTC.\n\n{reason}\n\n"
            "Every gate call of this journey now goes to a person, and the AI's agreement with "
            "people is measured afresh. It goes live again only with a new go-live sign-off "
            '(Journeys → the journey → "Sign off go-live").'
        )
    else:
        subject = f"Automation paused by a guardrail: {journey}"
        message = (
            f"Automation of {journey} was paused at {journey.paused_at:%Y-%m-%d %H:%M} UTC.\n\n"
            f"{reason}\n\n"
            "Every gate call of this journey now goes to a person. A manager of the journey "
            'resumes automation from the admin (Journeys → "Resume automation") with a note.'
        )
    send_mail(
        subject=subject,
        message=message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )


def evaluate_guardrail(guardrail: Guardrail, *, now: datetime.datetime) -> GuardrailEvaluation:
    """Judge one guardrail, record the look, and pause its journey on a breach if it runs."""
    value, size = measure(guardrail, now=now)
    breached = value is not None and Decimal(str(value)) > guardrail.threshold
    paused = shadowed = False
    with transaction.atomic():
        if breached:
            reason = describe_breach(guardrail, value, size)
            to_shadow = guardrail.on_breach == GuardrailBreachAction.SHADOW
            try:
                journey = (return_to_shadow if to_shadow else pause_journey)(
                    journey=guardrail.journey,
                    reason=reason,
                    guardrail=True,
                    payload={
                        "guardrail": guardrail.pk,
                        "kind": guardrail.kind,
                        "value": value,
                        "threshold": str(guardrail.threshold),
                        "window": guardrail.window,
                        "sample_size": size,
                        "on_breach": guardrail.on_breach,
                    },
                )
            except StaleState:
                pass  # not live (paused or in shadow): recorded below, nobody told twice
            else:
                paused, shadowed = not to_shadow, to_shadow
                transaction.on_commit(lambda: _notify_managers(journey, reason))
        return GuardrailEvaluation.objects.create(
            guardrail=guardrail,
            evaluated_at=now,
            value=value,
            sample_size=size,
            threshold=guardrail.threshold,
            breached=breached,
            paused_automation=paused,
            returned_to_shadow=shadowed,
        )


def evaluate_guardrails(*, now: datetime.datetime | None = None) -> GuardrailRun:
    """Judge every active guardrail once (the hourly task); see the module docstring."""
    now = now or timezone.now()
    run = GuardrailRun()
    guardrails = Guardrail.objects.filter(is_active=True).select_related("journey__ai_system")
    for guardrail in guardrails:
        evaluation = evaluate_guardrail(guardrail, now=now)
        run.evaluated += 1
        if evaluation.breached:
            run.breached.append(str(guardrail))
        if evaluation.paused_automation:
            run.paused.append(str(guardrail.journey))
    return run


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):  # as stored: four decimal places
        return str(value.quantize(Decimal("0.0001")))
    return str(value)


GUARDRAIL_FIELDS = (
    "journey_id",
    "kind",
    "threshold",
    "window",
    "min_sample",
    "on_breach",
    "is_active",
)


def save_guardrail(*, guardrail: Guardrail, by) -> Guardrail:
    """Create or change a guardrail of a journey, with its history and a ledger event.

    Rules: only a manager of the journey (or a superuser) may; a guardrail moved to another
    journey must be managed by the same person on both. The event names every field that
    changed, old and new, so a loosened threshold is as visible as a breach.
    """
    if by is None or not manages_scope(by, journey=guardrail.journey):
        raise NotAllowed(f"Only a manager of {guardrail.journey} may set its guardrails.")
    guardrail.full_clean()
    with transaction.atomic():
        before = None
        if not guardrail._state.adding:
            before = Guardrail.objects.select_for_update().get(pk=guardrail.pk)
            if not manages_scope(by, journey=before.journey):
                raise NotAllowed(f"Only a manager of {before.journey} may change its guardrails.")
        changes = {
            name: [None if before is None else getattr(before, name), getattr(guardrail, name)]
            for name in GUARDRAIL_FIELDS
            if before is None or getattr(before, name) != getattr(guardrail, name)
        }
        guardrail._history_user = by
        guardrail.save()
        if changes:
            append_event(
                actor=Actor.for_user(by),
                action="guardrail.created" if before is None else "guardrail.changed",
                obj=guardrail,
                payload={
                    "journey": str(guardrail.journey),
                    "guardrail": str(guardrail),
                    "changes": {name: [_text(v) for v in pair] for name, pair in changes.items()},
                },
            )
    return guardrail
