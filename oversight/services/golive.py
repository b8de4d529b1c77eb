"""Shadow mode and the go-live sign-off: how a journey goes live, and how it goes back.

A new journey starts in shadow: the gate sends every call to a person (route reason "shadow")
and the AI's proposal is measured against people's final decisions
(`oversight.metrics.agreement`). Going live is a manager's sign-off, never automatic: a manager
of the journey sets a target agreement and a minimum number of shadow decisions, and the switch
happens only when the measured agreement meets the target over at least that many decisions.
The sign-off keeps who, when, the target, the figures and the judgement point versions in force,
in a GoLiveSignOff row, the journey's history and the ledger, and orders the signed "Go-live
evaluation" PDF.

Back to shadow needs only a reason: a manager from live or paused, or a guardrail set to return
its journey to shadow instead of pausing it (actor "guardrails", from live only). Coming back
out of shadow is a new sign-off, measured on the new shadow period only (`shadow_since`).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from audit.services.ledger import Actor, append_event
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.metrics.agreement import AgreementReport, agreement_for
from oversight.models import (
    AutomationState,
    GoLiveSignOff,
    Journey,
    JudgementPoint,
    ReportKind,
    RequestedVia,
)
from oversight.services.authority import manages_scope

GUARDRAILS_ACTOR = "guardrails"
# Fewer decided shadow cases than this say too little for a go-live, whatever the manager asks.
MIN_SIGN_OFF_DECISIONS = 30
# Below one in two, the AI is wrong more often than right: no target so low is accepted.
MIN_TARGET = Decimal("0.5")
JOURNEY_FIELDS = ["automation_state", "paused_reason", "paused_at", "paused_by", "shadow_since"]


def _lock(journey: Journey) -> Journey:
    return Journey.objects.select_for_update().select_related("ai_system").get(pk=journey.pk)


def _check_manager(user, journey: Journey, verb: str) -> None:
    if user is None or not manages_scope(user, journey=journey):
        raise NotAllowed(f"Only a manager of {journey} may {verb}.")


def _target(value) -> Decimal:
    text = str(value if value is not None else "").strip()
    try:
        target = Decimal(text.rstrip("% ")) if text else None
    except InvalidOperation:
        target = None
    if target is None or not target.is_finite():
        raise InvalidInput("The target agreement must be a number between 0.5 and 1, e.g. 0.9.")
    if text.endswith("%"):
        target = target / 100
    if not MIN_TARGET <= target <= 1:
        raise InvalidInput(
            f"The target agreement must be between {MIN_TARGET} and 1 (e.g. 0.9 for 90 %), "
            f"not {value}."
        )
    return target.quantize(Decimal("0.0001"))


def _min_decisions(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            "The minimum number of shadow decisions must be a whole number."
        ) from None
    if number < MIN_SIGN_OFF_DECISIONS:
        raise InvalidInput(
            f"The minimum number of shadow decisions must be at least {MIN_SIGN_OFF_DECISIONS}, "
            f"not {number}."
        )
    return number


def rule_versions(journey: Journey) -> list[dict]:
    """The journey's active judgement points with their versions, as a sign-off records them."""
    points = JudgementPoint.objects.filter(journey=journey, is_active=True).order_by("slug")
    return [
        {"judgement_point": str(p.pk), "slug": p.slug, "name": p.name, "version": p.version}
        for p in points
    ]


def _percent(value: float | Decimal | None) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def sign_off_go_live(
    *,
    journey: Journey,
    by,
    target_agreement,
    min_decisions,
    note: str = "",
    at: datetime.datetime | None = None,
) -> GoLiveSignOff:
    """Switch a journey from shadow to live on a manager's sign-off, if the figures allow it.

    Rules: `by` manages the journey (or is a superuser); the journey is in shadow; the target
    is between 0.5 and 1 and the minimum at least MIN_SIGN_OFF_DECISIONS; the current shadow
    period holds at least that many decided shadow cases and their agreement is at or above the
    target. A refusal changes nothing. `at` dates the sign-off (the demo's story).
    """
    _check_manager(by, journey, "sign off its go-live")
    target = _target(target_agreement)
    minimum = _min_decisions(min_decisions)
    note = (note or "").strip()
    now = at or timezone.now()
    with transaction.atomic():
        journey = _lock(journey)
        if not journey.is_shadow:
            raise StaleState(
                f"{journey} is not in shadow mode ({journey.get_mode_display().lower()}): only a "
                "journey in shadow can be signed off to go live."
            )
        figures: AgreementReport = agreement_for(journey)
        overall = figures.overall
        if overall.decided < minimum:
            raise NotAllowed(
                f"Go-live refused: {overall.decided} shadow decisions so far, fewer than the "
                f"{minimum} you require."
            )
        # Compared exactly (agreed against target × decided): 21 of 30 meets a 0.7 target,
        # which the float 21/30 = 0.6999… would not.
        if Decimal(overall.agreed) < target * overall.decided:
            raise NotAllowed(
                f"Go-live refused: agreement {_percent(overall.rate)} over {overall.decided} "
                f"shadow decisions is below the target {_percent(target)}."
            )
        low, high = overall.interval
        sign_off = GoLiveSignOff(
            journey=journey,
            signed_off_by=by,
            signed_off_at=now,
            target_agreement=target,
            min_decisions=minimum,
            note=note,
            shadow_since=figures.since,
            decisions=overall.decided,
            agreed=overall.agreed,
            agreement=overall.rate,
            interval_low=low,
            interval_high=high,
            by_band=[band.as_dict() for band in figures.by_band],
            by_point=[point.as_dict() for point in figures.by_point],
            rule_versions=rule_versions(journey),
        )
        sign_off._history_user = by
        sign_off._history_date = now
        sign_off.save()
        journey.automation_state = AutomationState.RUNNING
        journey._history_user = by
        journey._history_date = now
        journey._change_reason = f"Go-live sign-off {sign_off.pk}"
        journey.save(update_fields=[*JOURNEY_FIELDS, "updated_at"])
        append_event(
            actor=Actor.for_user(by),
            action="journey.went_live",
            obj=journey,
            payload={
                "journey": journey.slug,
                "ai_system": journey.ai_system.slug,
                "sign_off": str(sign_off.pk),
                "signed_off_at": now,
                "target_agreement": str(target),
                "min_decisions": minimum,
                "decisions": overall.decided,
                "agreed": overall.agreed,
                "agreement": overall.rate,
                "interval": [low, high],
                "shadow_since": figures.since,
                "rule_versions": sign_off.rule_versions,
                "note": note,
            },
        )
        _order_report(sign_off)
    return sign_off


def _order_report(sign_off: GoLiveSignOff) -> None:
    # Every sign-off gets its signed PDF; ordered by the product (no person to check), queued
    # after commit like any report.
    from oversight.services.reports import request_report

    request_report(
        user=None,
        kind=ReportKind.GO_LIVE,
        params={"sign_off": str(sign_off.pk)},
        via=RequestedVia.SIGN_OFF,
    )


def return_to_shadow(
    *,
    journey: Journey,
    by=None,
    reason: str,
    guardrail: bool = False,
    payload: dict | None = None,
    at: datetime.datetime | None = None,
) -> Journey:
    """Put a live or paused journey back in shadow: every call to a person, agreement measured
    afresh from now.

    Rules: a person (`by`) must manage the journey or be a superuser; a guardrail
    (`guardrail=True`) acts as the guardrails system and only on a live journey (a paused one
    stays paused for a manager to judge). A reason is required. A journey already in shadow is
    refused. `payload` adds a guardrail's figures to the audit event.
    """
    reason = (reason or "").strip()
    if not guardrail:
        _check_manager(by, journey, "return it to shadow")
    if not reason:
        raise InvalidInput("Say why the journey goes back to shadow: the reason is required.")
    now = at or timezone.now()
    with transaction.atomic():
        journey = _lock(journey)
        if journey.is_shadow:
            raise StaleState(f"{journey} is already in shadow mode.")
        if guardrail and journey.is_paused:
            raise StaleState(f"{journey} is paused: a guardrail leaves it to a manager.")
        previous = {"state": journey.automation_state, "reason": journey.paused_reason}
        journey.automation_state = AutomationState.SHADOW
        journey.paused_reason = ""
        journey.paused_at = None
        journey.paused_by = None
        journey.shadow_since = now
        journey._history_user = None if guardrail else by
        journey._history_date = now
        journey._change_reason = f"Back to shadow: {reason}"[:100]
        journey.save(update_fields=[*JOURNEY_FIELDS, "updated_at"])
        append_event(
            actor=Actor.system(GUARDRAILS_ACTOR) if guardrail else Actor.for_user(by),
            action="journey.returned_to_shadow",
            obj=journey,
            payload={
                "journey": journey.slug,
                "ai_system": journey.ai_system.slug,
                "reason": reason,
                "shadow_since": now,
                "previous": previous,
                **(payload or {}),
            },
        )
    return journey
