"""Shadow mode and the go-live sign-off (oversight.services.golive), with the stop button and
the guardrails around them."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from simple_history.utils import get_history_manager_for_model

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import (
    AutomationState,
    DecisionOutcome,
    GoLiveSignOff,
    GuardrailBreachAction,
    ImmutableRecordError,
    Journey,
    JourneyMode,
    ReportKind,
    ReportRequest,
    RequestedVia,
)
from oversight.services.automation import pause_journey
from oversight.services.configuration import save_journey, save_judgement_point
from oversight.services.golive import (
    MIN_SIGN_OFF_DECISIONS,
    return_to_shadow,
    sign_off_go_live,
)
from oversight.services.guardrails import evaluate_guardrail
from tests.factories import DecisionFactory, GuardrailFactory, JudgementPointFactory
from tests.oversight.authority_world import DAY, NOW, world
from tests.oversight.shadow_cases import decided_shadow_case, shadow_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield world()


@pytest.fixture
def shadow(w):
    """Refunds back in shadow since yesterday (by its manager), with one judgement point."""
    w.point = JudgementPointFactory(journey=w.refunds, slug="big-refund", name="Big refund")
    return_to_shadow(journey=w.refunds, by=w.manager, reason="New model", at=NOW - DAY)
    w.refunds.refresh_from_db()
    return w


def snapshot(journey):
    journey = Journey.objects.get(pk=journey.pk)
    history = get_history_manager_for_model(Journey).filter(id=journey.pk).count()
    return (
        journey.automation_state,
        journey.shadow_since,
        history,
        GoLiveSignOff.objects.count(),
        ReportRequest.objects.count(),
        AuditEvent.objects.count(),
    )


def sign(w, *, by=None, target="0.9", minimum=MIN_SIGN_OFF_DECISIONS, note="Ready"):
    return sign_off_go_live(
        journey=w.refunds,
        by=by or w.manager,
        target_agreement=target,
        min_decisions=minimum,
        note=note,
    )


# --- the mode -----------------------------------------------------------------------------------


def test_a_new_journey_starts_in_shadow(w):
    journey = save_journey(
        journey=Journey(ai_system=w.assistant, slug="returns", name="Returns"), by=w.manager
    )

    assert journey.automation_state == AutomationState.SHADOW
    assert journey.mode == JourneyMode.SHADOW
    assert journey.get_mode_display() == "Shadow"


def test_the_mode_is_read_from_the_one_automation_state(w):
    assert w.refunds.mode == JourneyMode.LIVE  # the factories make live journeys
    pause_journey(journey=w.refunds, by=w.manager, reason="Check")
    w.refunds.refresh_from_db()
    assert w.refunds.mode == JourneyMode.PAUSED


def test_a_journey_in_shadow_cannot_be_paused_and_nothing_changes(shadow):
    before = snapshot(shadow.refunds)

    with pytest.raises(StaleState, match="shadow mode: every gate call already goes to a person"):
        pause_journey(journey=shadow.refunds, by=shadow.manager, reason="Stop")

    assert snapshot(shadow.refunds) == before


# --- the go-live sign-off -----------------------------------------------------------------------


def test_a_manager_signs_off_go_live_when_agreement_meets_the_target(shadow):
    w = shadow
    shadow_history(w.refunds, agreed=28, disagreed=2, points=[w.point])
    w.point.name = "Big refund (edited)"
    save_judgement_point(point=w.point, changed_by=w.manager)  # version 2 is in force
    events = AuditEvent.objects.count()

    with time_machine.travel(NOW, tick=False):
        sign_off = sign(w, target="0.9", minimum=30, note="Shadow month went well")

    journey = Journey.objects.get(pk=w.refunds.pk)
    assert journey.mode == JourneyMode.LIVE
    assert (sign_off.decisions, sign_off.agreed) == (30, 28)
    assert sign_off.agreement == pytest.approx(28 / 30)
    assert sign_off.interval_low == pytest.approx(0.7868, abs=1e-4)
    assert sign_off.interval_high == pytest.approx(0.9815, abs=1e-4)
    assert sign_off.target_agreement == Decimal("0.9000")
    assert (sign_off.min_decisions, sign_off.signed_off_by, sign_off.signed_off_at) == (
        30,
        w.manager,
        NOW,
    )
    assert sign_off.shadow_since == NOW - DAY
    assert sign_off.rule_versions == [
        {
            "judgement_point": str(w.point.pk),
            "slug": "big-refund",
            "name": "Big refund (edited)",
            "version": 2,
        }
    ]
    assert [row["label"] for row in sign_off.by_point] == ["Big refund (edited)"]
    latest = journey.history.latest()
    assert (latest.automation_state, latest.history_user) == ("running", w.manager)
    assert latest.history_change_reason == f"Go-live sign-off {sign_off.pk}"
    assert sign_off.history.get().history_user == w.manager
    went_live = AuditEvent.objects.get(action="journey.went_live")
    assert went_live.actor_user == w.manager
    assert went_live.payload["sign_off"] == str(sign_off.pk)
    assert went_live.payload["decisions"] == 30
    assert went_live.payload["target_agreement"] == "0.9000"
    assert went_live.payload["rule_versions"][0]["version"] == 2
    ordered = ReportRequest.objects.get()
    assert (ordered.kind, ordered.params, ordered.requested_via) == (
        ReportKind.GO_LIVE,
        {"sign_off": str(sign_off.pk)},
        RequestedVia.SIGN_OFF,
    )
    assert AuditEvent.objects.count() == events + 2  # went live, report requested


def test_go_live_below_the_target_is_refused_and_nothing_changes(shadow):
    shadow_history(shadow.refunds, agreed=26, disagreed=4)  # 86.7 %
    before = snapshot(shadow.refunds)

    with pytest.raises(
        NotAllowed,
        match=r"agreement 86\.7 % over 30 shadow decisions is below "
        r"the target 90\.0 %",
    ):
        sign(shadow, target="0.9")

    assert snapshot(shadow.refunds) == before


def test_go_live_below_the_minimum_of_decisions_is_refused_and_nothing_changes(shadow):
    shadow_history(shadow.refunds, agreed=35, disagreed=0)
    before = snapshot(shadow.refunds)

    with pytest.raises(NotAllowed, match="35 shadow decisions so far, fewer than the 40"):
        sign(shadow, minimum=40)

    assert snapshot(shadow.refunds) == before


def test_only_the_current_shadow_period_counts(shadow):
    """Decisions from before the journey went back to shadow measured another AI."""
    shadow_history(shadow.refunds, agreed=30, disagreed=0, opened_at=NOW - 3 * DAY)
    shadow_history(shadow.refunds, agreed=5, disagreed=0)
    before = snapshot(shadow.refunds)

    with pytest.raises(NotAllowed, match="5 shadow decisions so far"):
        sign(shadow)

    assert snapshot(shadow.refunds) == before


@pytest.mark.parametrize(
    ("target", "minimum", "message"),
    [
        ("0.4", 30, "between 0.5 and 1"),
        ("1.2", 30, "between 0.5 and 1"),
        ("ninety", 30, "must be a number"),
        ("", 30, "must be a number"),
        ("NaN", 30, "must be a number"),
        ("0.9", 29, f"at least {MIN_SIGN_OFF_DECISIONS}, not 29"),
        ("0.9", "many", "whole number"),
    ],
)
def test_bad_targets_and_minimums_are_refused_and_nothing_changes(shadow, target, minimum, message):
    shadow_history(shadow.refunds, agreed=40, disagreed=0)
    before = snapshot(shadow.refunds)

    with pytest.raises(InvalidInput, match=message):
        sign(shadow, target=target, minimum=minimum)

    assert snapshot(shadow.refunds) == before


def test_a_target_in_percent_is_understood(shadow):
    shadow_history(shadow.refunds, agreed=30, disagreed=0)

    assert sign(shadow, target="95 %").target_agreement == Decimal("0.9500")


@pytest.mark.parametrize("who", ["rhea", "untrained"])
def test_only_a_manager_of_the_journey_signs_off_and_nothing_changes(shadow, who):
    shadow_history(shadow.refunds, agreed=30, disagreed=0)
    before = snapshot(shadow.refunds)

    with pytest.raises(NotAllowed, match="Only a manager of Support assistant / Refunds"):
        sign(shadow, by=getattr(shadow, who))

    assert snapshot(shadow.refunds) == before


def test_a_manager_of_another_system_cannot_sign_off_its_journeys(shadow):
    return_to_shadow(journey=shadow.credit, by=shadow.admin, reason="New model", at=NOW - DAY)
    shadow_history(shadow.credit, agreed=30, disagreed=0)
    before = snapshot(shadow.credit)

    with pytest.raises(NotAllowed):
        sign_off_go_live(
            journey=shadow.credit, by=shadow.manager, target_agreement="0.9", min_decisions=30
        )

    assert snapshot(shadow.credit) == before


def test_a_live_journey_cannot_be_signed_off_again_and_nothing_changes(w):
    shadow_history(w.refunds, agreed=30, disagreed=0)
    before = snapshot(w.refunds)

    with pytest.raises(StaleState, match="not in shadow mode"):
        sign(w)

    assert snapshot(w.refunds) == before


def test_a_sign_off_is_evidence_and_cannot_be_changed_or_deleted(shadow):
    shadow_history(shadow.refunds, agreed=30, disagreed=0)
    sign_off = sign(shadow)

    sign_off.note = "rewritten"
    with pytest.raises(ImmutableRecordError):
        sign_off.save()
    with pytest.raises(ImmutableRecordError):
        sign_off.delete()


# --- back to shadow -----------------------------------------------------------------------------


def test_back_to_shadow_needs_only_a_reason(w):
    with time_machine.travel(NOW, tick=False):
        journey = return_to_shadow(journey=w.refunds, by=w.manager, reason="Complaints rising")

    assert journey.mode == JourneyMode.SHADOW
    assert journey.shadow_since == NOW
    latest = journey.history.latest()
    assert (latest.automation_state, latest.history_user) == ("shadow", w.manager)
    event = AuditEvent.objects.get(action="journey.returned_to_shadow")
    assert event.actor_user == w.manager
    assert event.payload["reason"] == "Complaints rising"
    assert event.payload["previous"]["state"] == "running"


def test_a_paused_journey_may_go_back_to_shadow(w):
    pause_journey(journey=w.refunds, by=w.manager, reason="Stop")

    journey = return_to_shadow(journey=w.refunds, by=w.manager, reason="Measure it again")

    assert (journey.mode, journey.paused_reason, journey.paused_at) == ("shadow", "", None)


@pytest.mark.parametrize(
    ("who", "reason", "error", "message"),
    [
        ("manager", "  ", InvalidInput, "the reason is required"),
        ("rhea", "Complaints", NotAllowed, "Only a manager"),
    ],
)
def test_back_to_shadow_refusals_change_nothing(w, who, reason, error, message):
    before = snapshot(w.refunds)

    with pytest.raises(error, match=message):
        return_to_shadow(journey=w.refunds, by=getattr(w, who), reason=reason)

    assert snapshot(w.refunds) == before


def test_a_journey_already_in_shadow_is_not_returned_twice(shadow):
    before = snapshot(shadow.refunds)

    with pytest.raises(StaleState, match="already in shadow"):
        return_to_shadow(journey=shadow.refunds, by=shadow.manager, reason="Again")

    assert snapshot(shadow.refunds) == before


# --- guardrails ---------------------------------------------------------------------------------


def overriding_history(journey, n=10):
    for _ in range(n):
        case = decided_shadow_case(journey, DecisionOutcome.REJECT, opened_at=NOW - DAY)
        assert case.decisions.get().is_override


@pytest.mark.parametrize(
    ("on_breach", "mode", "paused", "shadowed"),
    [
        (GuardrailBreachAction.PAUSE, JourneyMode.PAUSED, True, False),
        (GuardrailBreachAction.SHADOW, JourneyMode.SHADOW, False, True),
    ],
)
def test_a_guardrail_pauses_or_returns_to_shadow_as_set(w, on_breach, mode, paused, shadowed):
    rail = GuardrailFactory(journey=w.refunds, on_breach=on_breach, min_sample=5)
    overriding_history(w.refunds)

    evaluation = evaluate_guardrail(rail, now=NOW)

    journey = Journey.objects.get(pk=w.refunds.pk)
    assert journey.mode == mode
    assert (evaluation.breached, evaluation.paused_automation, evaluation.returned_to_shadow) == (
        True,
        paused,
        shadowed,
    )
    if shadowed:
        event = AuditEvent.objects.get(action="journey.returned_to_shadow")
        assert (event.actor_label, event.actor_user) == ("guardrails", None)
        assert event.payload["on_breach"] == "shadow"
        assert journey.shadow_since == NOW


def test_the_default_guardrail_action_is_to_pause(w):
    assert GuardrailFactory(journey=w.refunds).on_breach == GuardrailBreachAction.PAUSE


@pytest.mark.parametrize("state", [AutomationState.PAUSED_BY_PERSON, AutomationState.SHADOW])
def test_a_shadow_guardrail_leaves_a_journey_that_is_not_live_alone(w, state):
    if state == AutomationState.SHADOW:
        return_to_shadow(journey=w.refunds, by=w.manager, reason="Measure", at=NOW - 2 * DAY)
    else:
        pause_journey(journey=w.refunds, by=w.manager, reason="Stop")
    rail = GuardrailFactory(journey=w.refunds, on_breach=GuardrailBreachAction.SHADOW, min_sample=5)
    overriding_history(w.refunds)
    before = snapshot(w.refunds)

    evaluation = evaluate_guardrail(rail, now=NOW)

    assert evaluation.breached and not evaluation.returned_to_shadow
    assert not evaluation.paused_automation
    assert snapshot(w.refunds) == before


def test_the_four_eyes_second_review_decides_agreement(shadow):
    """A case approved by one reviewer then confirmed by another agrees once."""
    case = decided_shadow_case(shadow.refunds, DecisionOutcome.APPROVE)
    DecisionFactory(
        case=case,
        stage="second",
        outcome=DecisionOutcome.APPROVE,
        decided_at=case.opened_at + datetime.timedelta(hours=1),
    )
    shadow_history(shadow.refunds, agreed=29, disagreed=0)

    assert sign(shadow).agreed == 30


def test_a_guardrail_returning_a_journey_to_shadow_tells_its_managers(
    w, mailoutbox, django_capture_on_commit_callbacks
):
    rail = GuardrailFactory(journey=w.refunds, on_breach=GuardrailBreachAction.SHADOW, min_sample=5)
    overriding_history(w.refunds)

    with django_capture_on_commit_callbacks(execute=True):
        evaluate_guardrail(rail, now=NOW)

    (mail,) = mailoutbox
    assert mail.subject == "Journey returned to shadow by a guardrail: Support assistant / Refunds"
    assert w.manager.email in mail.to
    assert "returned to shadow mode at 2026-06-01 09:00 UTC" in mail.body
    assert "only with a new go-live sign-off" in mail.body


def test_agreement_exactly_at_the_target_is_enough(shadow):
    shadow_history(shadow.refunds, agreed=21, disagreed=9)  # 21/30 is 0.6999… as a float

    assert sign(shadow, target="0.7").agreed == 21
