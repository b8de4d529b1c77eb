"""The stop button: pausing and resuming a journey's automation.

While a journey is paused the gate routes every call to a person (invariant 9), so pausing is
the one lever a manager always has. A person pauses with a reason; a guardrail pauses on its own
(state "paused by a guardrail", actor the guardrails system). Resuming is always a person's act:
a manager of the journey (or a superuser) with a note, never automatic.

A journey in shadow mode has no automation to pause (every call already goes to a person), so
pausing it is refused; going from shadow to live is a go-live sign-off (`services.golive`), and a
resumed journey is live again, as it was before its pause.
"""

from django.db import transaction
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import AutomationState, Journey
from oversight.services.authority import manages_scope

GUARDRAILS_ACTOR = "guardrails"


def _lock(journey: Journey) -> Journey:
    return Journey.objects.select_for_update().select_related("ai_system").get(pk=journey.pk)


def _check_manager(user, journey: Journey, verb: str) -> None:
    if user is None or not manages_scope(user, journey=journey):
        raise NotAllowed(f"Only a manager of {journey} may {verb} its automation.")


def pause_journey(
    *,
    journey: Journey,
    by=None,
    reason: str,
    guardrail: bool = False,
    payload: dict | None = None,
    at=None,
) -> Journey:
    """Pause automation of a journey: from now on every gate call goes to a person.

    Rules: a person (`by`) must manage the journey or be a superuser; a guardrail pause
    (`guardrail=True`, `by=None`) acts as the guardrails system. A reason is required. Pausing
    a paused journey is refused, so a second stop press (or a guardrail firing again) records
    nothing twice. `payload` adds the guardrail's figures to the audit event. `at` dates the
    pause and its history row (default now): a guardrail judged at a past moment, or a story
    told by the demo data, pauses when it happened.
    """
    reason = (reason or "").strip()
    if not guardrail:
        _check_manager(by, journey, "pause")
    if not reason:
        raise InvalidInput("Say why you pause the automation: the reason is required.")
    now = at or timezone.now()
    with transaction.atomic():
        journey = _lock(journey)
        if journey.is_shadow:
            raise StaleState(
                f"{journey} is in shadow mode: every gate call already goes to a person. "
                "There is no automation to pause."
            )
        if journey.is_paused:
            raise StaleState(
                f"Automation of {journey} is already paused "
                f"({journey.get_automation_state_display().lower()}) since "
                f"{journey.paused_at:%Y-%m-%d %H:%M} UTC."
            )
        journey.automation_state = (
            AutomationState.PAUSED_BY_GUARDRAIL if guardrail else AutomationState.PAUSED_BY_PERSON
        )
        journey.paused_reason = reason
        journey.paused_at = now
        journey.paused_by = None if guardrail else by
        journey._history_user = None if guardrail else by
        journey._history_date = now
        journey.save(
            update_fields=[
                "automation_state",
                "paused_reason",
                "paused_at",
                "paused_by",
                "updated_at",
            ]
        )
        actor = Actor.system(GUARDRAILS_ACTOR) if guardrail else Actor.for_user(by)
        append_event(
            actor=actor,
            action="automation.paused",
            obj=journey,
            payload={
                "journey": journey.slug,
                "ai_system": journey.ai_system.slug,
                "state": journey.automation_state,
                "reason": reason,
                # the moment it took effect, which a dated pause (`at`) sets apart from the
                # event's own time
                "paused_at": now,
                **(payload or {}),
            },
        )
    return journey


def resume_journey(*, journey: Journey, by, note: str, at=None) -> Journey:
    """Resume automation of a paused journey.

    Rules: always a person, a manager of the journey or a superuser, even after a guardrail
    paused it; a note is required; resuming a running journey is refused. `at` dates the
    history row (default now), for the demo's story told in the past.
    """
    _check_manager(by, journey, "resume")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say why automation may resume: the note is required.")
    with transaction.atomic():
        journey = _lock(journey)
        if not journey.is_paused:
            raise StaleState(f"Automation of {journey} is running: there is nothing to resume.")
        previous = {
            "state": journey.automation_state,
            "reason": journey.paused_reason,
            "paused_at": journey.paused_at,
        }
        journey.automation_state = AutomationState.RUNNING
        journey.paused_reason = ""
        journey.paused_at = None
        journey.paused_by = None
        journey._history_user = by
        resumed_at = at or timezone.now()
        journey._history_date = resumed_at
        journey.save(
            update_fields=[
                "automation_state",
                "paused_reason",
                "paused_at",
                "paused_by",
                "updated_at",
            ]
        )
        append_event(
            actor=Actor.for_user(by),
            action="automation.resumed",
            obj=journey,
            payload={
                "journey": journey.slug,
                "ai_system": journey.ai_system.slug,
                "note": note,
                "resumed_at": resumed_at,
                "paused": previous,
            },
        )
    return journey
