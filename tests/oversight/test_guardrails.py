"""Guardrails: an hourly look at each journey's goals; a breach stops automation (frozen clock)."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django_q.models import Schedule

from audit.history import history_token
from audit.models import AuditEvent
from oversight.exceptions import NotAllowed
from oversight.models import (
    AutomationState,
    GuardrailEvaluation,
    GuardrailKind,
    Journey,
    RouteReason,
)
from oversight.models.guardrails import Guardrail
from oversight.services.automation import pause_journey, resume_journey
from oversight.services.guardrails import evaluate_guardrails, save_guardrail
from oversight.tasks import evaluate_guardrails as evaluate_guardrails_task
from tests.factories import CaseFactory, DecisionFactory, OutcomeFactory, OverrideReasonFactory
from tests.oversight.authority_world import NOW, world

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        w = world()
        w.manager.email = "mark@example.com"
        w.manager.save()
        yield w


def outcomes(journey, efforts, *, level):
    for minutes, effort in enumerate(efforts):
        OutcomeFactory(
            case=CaseFactory(journey=journey, required_level=level),
            customer_effort=effort,
            reported_at=NOW - HOUR + datetime.timedelta(minutes=minutes),
        )


def decisions(journey, overrides: list[bool], *, reviewer, level):
    reason = OverrideReasonFactory()
    for minutes, override in enumerate(overrides):
        extra = {"override_reason": reason, "rationale": "Policy."} if override else {}
        DecisionFactory(
            case=CaseFactory(journey=journey, required_level=level),
            reviewer=reviewer,
            outcome="modify" if override else "approve",
            is_override=override,
            decided_at=NOW - HOUR + datetime.timedelta(minutes=minutes),
            **extra,
        )


def guardrail(journey, kind, threshold, *, window=5, min_sample=3):
    return Guardrail.objects.create(
        journey=journey,
        kind=kind,
        threshold=Decimal(threshold),
        window=window,
        min_sample=min_sample,
    )


def state(journey):
    return Journey.objects.get(pk=journey.pk).automation_state


def test_the_hourly_schedule_exists():
    schedule = Schedule.objects.get(name="Evaluate guardrails")
    assert (schedule.func, schedule.schedule_type) == ("oversight.tasks.evaluate_guardrails", "H")


def test_high_customer_effort_pauses_the_journey_and_tells_its_managers(
    w, django_capture_on_commit_callbacks
):
    # Older outcomes are easy; the last five (the window) have median 6.
    outcomes(w.refunds, [1, 1, 1, 6, 7, 5, 6, 2], level=w.reviewer)
    rail = guardrail(w.refunds, GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "4.5")
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        run = evaluate_guardrails()

    assert run.paused == [str(w.refunds)]
    journey = Journey.objects.get(pk=w.refunds.pk)
    assert journey.automation_state == AutomationState.PAUSED_BY_GUARDRAIL
    assert "above 4.5" in journey.paused_reason
    evaluation = GuardrailEvaluation.objects.get()
    assert (evaluation.value, evaluation.sample_size) == (6.0, 5)
    assert (evaluation.breached, evaluation.paused_automation) == (True, True)
    event = AuditEvent.objects.get(action="automation.paused")
    assert (event.actor_type, event.actor_label) == ("system", "guardrails")
    assert event.payload["guardrail"] == rail.pk
    assert event.payload["value"] == 6.0
    assert event.payload["kind"] == "median_customer_effort_max"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["mark@example.com"]
    assert "Support assistant / Refunds" in mail.outbox[0].subject
    assert "Resume automation" in mail.outbox[0].body

    # Only a manager resumes it, with a note.
    with pytest.raises(NotAllowed):
        resume_journey(journey=journey, by=w.rhea, note="Fine by me.")
    assert state(w.refunds) == AutomationState.PAUSED_BY_GUARDRAIL
    resume_journey(journey=journey, by=w.manager, note="Effort issue fixed.")
    assert state(w.refunds) == AutomationState.RUNNING


def test_a_high_override_rate_pauses_the_journey(w):
    decisions(w.billing, [False, True, True, False, True], reviewer=w.rhea, level=w.reviewer)
    guardrail(w.billing, GuardrailKind.OVERRIDE_RATE_MAX, "0.5")
    with time_machine.travel(NOW, tick=False):
        evaluate_guardrails()
    evaluation = GuardrailEvaluation.objects.get()
    assert (evaluation.value, evaluation.sample_size, evaluation.breached) == (0.6, 5, True)
    assert state(w.billing) == AutomationState.PAUSED_BY_GUARDRAIL
    assert state(w.refunds) == AutomationState.RUNNING


def test_sample_audit_disagreement_within_the_limit_changes_nothing(
    w, django_capture_on_commit_callbacks
):
    audit = {"route_reason": RouteReason.SAMPLE_AUDIT, "required_level": w.reviewer}
    for minutes, outcome in enumerate(["agree", "disagree", "agree", "agree"]):
        DecisionFactory(
            case=CaseFactory(journey=w.refunds, **audit),
            reviewer=w.rhea,
            outcome=outcome,
            decided_at=NOW - HOUR + datetime.timedelta(minutes=minutes),
        )
    guardrail(w.refunds, GuardrailKind.SAMPLE_AUDIT_DISAGREEMENT_MAX, "0.25")
    events = AuditEvent.objects.count()
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        run = evaluate_guardrails()
    assert (run.evaluated, run.breached, run.paused) == (1, [], [])
    evaluation = GuardrailEvaluation.objects.get()
    assert (evaluation.value, evaluation.breached, evaluation.paused_automation) == (
        0.25,
        False,
        False,
    )
    assert state(w.refunds) == AutomationState.RUNNING
    assert AuditEvent.objects.count() == events
    assert mail.outbox == []


def test_too_few_values_are_not_judged(w):
    outcomes(w.refunds, [7, 7], level=w.reviewer)
    guardrail(w.refunds, GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "3", min_sample=3)
    with time_machine.travel(NOW, tick=False):
        evaluate_guardrails()
    evaluation = GuardrailEvaluation.objects.get()
    assert (evaluation.value, evaluation.sample_size, evaluation.breached) == (None, 2, False)
    assert state(w.refunds) == AutomationState.RUNNING


def test_an_inactive_guardrail_is_not_evaluated(w):
    outcomes(w.refunds, [7, 7, 7], level=w.reviewer)
    rail = guardrail(w.refunds, GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "3")
    rail.is_active = False
    rail.save()
    with time_machine.travel(NOW, tick=False):
        evaluate_guardrails()
    assert GuardrailEvaluation.objects.count() == 0
    assert state(w.refunds) == AutomationState.RUNNING


def test_a_breach_on_a_paused_journey_neither_pauses_nor_notifies_again(
    w, django_capture_on_commit_callbacks
):
    outcomes(w.refunds, [7, 7, 7], level=w.reviewer)
    guardrail(w.refunds, GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "3")
    with time_machine.travel(NOW, tick=False):
        pause_journey(journey=w.refunds, by=w.manager, reason="Investigating already.")
    history = Journey.history.filter(id=w.refunds.pk).count()
    events = AuditEvent.objects.count()
    for hours in (0, 1):
        with (
            time_machine.travel(NOW + hours * HOUR, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            run = evaluate_guardrails()
        assert run.paused == []
    journey = Journey.objects.get(pk=w.refunds.pk)
    assert journey.automation_state == AutomationState.PAUSED_BY_PERSON
    assert journey.paused_reason == "Investigating already."
    assert Journey.history.filter(id=w.refunds.pk).count() == history
    assert AuditEvent.objects.count() == events
    assert mail.outbox == []
    assert list(GuardrailEvaluation.objects.values_list("breached", "paused_automation")) == [
        (True, False),
        (True, False),
    ]


def test_the_task_runs_twice_and_pauses_once(w, django_capture_on_commit_callbacks):
    outcomes(w.refunds, [7, 7, 7], level=w.reviewer)
    guardrail(w.refunds, GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "3")
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        first = evaluate_guardrails_task()
        second = evaluate_guardrails_task()
    assert "paused: Support assistant / Refunds" in first
    assert "paused: -" in second
    assert AuditEvent.objects.filter(action="automation.paused").count() == 1
    assert len(mail.outbox) == 1


def test_a_manager_sets_guardrails_only_on_journeys_they_manage(w, client):
    client.force_login(w.manager)
    page = client.get("/admin/oversight/guardrail/add/")
    choices = {
        str(journey) for journey in page.context["adminform"].form.fields["journey"].queryset
    }
    assert choices == {"Support assistant / Refunds", "Support assistant / Billing"}
    data = {
        "journey": str(w.credit.pk),
        "kind": GuardrailKind.OVERRIDE_RATE_MAX,
        "threshold": "0.3",
        "window": "50",
        "min_sample": "10",
        "on_breach": "pause",
        "is_active": "on",
    }
    response = client.post("/admin/oversight/guardrail/add/", data)
    assert response.status_code == 200  # the form comes back with the error
    assert "Select a valid choice" in response.content.decode()
    assert Guardrail.objects.count() == 0
    response = client.post(
        "/admin/oversight/guardrail/add/", {**data, "journey": str(w.refunds.pk)}
    )
    assert response.status_code == 302
    rail = Guardrail.objects.get()
    assert rail.history.get().history_user == w.manager
    other = Guardrail.objects.create(
        journey=w.credit, kind=GuardrailKind.OVERRIDE_RATE_MAX, threshold=Decimal("0.3")
    )
    page = client.get(f"/admin/oversight/guardrail/{other.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False


def test_creating_and_changing_a_guardrail_in_the_admin_are_ledger_events(w, client):
    client.force_login(w.manager)
    data = {
        "journey": str(w.refunds.pk),
        "kind": GuardrailKind.OVERRIDE_RATE_MAX,
        "threshold": "0.3",
        "window": "50",
        "min_sample": "10",
        "on_breach": "pause",
        "is_active": "on",
    }
    assert client.post("/admin/oversight/guardrail/add/", data).status_code == 302
    rail = Guardrail.objects.get()
    created = AuditEvent.objects.get(action="guardrail.created")
    assert created.actor_label == w.manager.username
    assert created.object_id == str(rail.pk)
    assert created.payload["changes"]["threshold"] == [None, "0.3000"]

    loosened = {**data, "threshold": "0.6", "_loaded_version": history_token(rail)}
    assert client.post(f"/admin/oversight/guardrail/{rail.pk}/change/", loosened).status_code == 302
    changed = AuditEvent.objects.get(action="guardrail.changed")
    assert changed.payload["changes"] == {"threshold": ["0.3000", "0.6000"]}
    assert rail.history.count() == 2


def test_only_a_manager_of_the_journey_sets_its_guardrails(w):
    rail = Guardrail(journey=w.credit, kind=GuardrailKind.OVERRIDE_RATE_MAX, threshold=Decimal(1))
    for person in (w.manager, w.rhea, None):  # mark manages refunds and billing, not credit
        with pytest.raises(NotAllowed):
            save_guardrail(guardrail=rail, by=person)
    assert Guardrail.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="guardrail.").exists()


def test_a_guardrail_cannot_be_moved_away_from_a_journey_its_editor_does_not_manage(w):
    rail = Guardrail.objects.create(
        journey=w.credit, kind=GuardrailKind.OVERRIDE_RATE_MAX, threshold=Decimal("0.3")
    )
    rail.journey = w.refunds
    with pytest.raises(NotAllowed):
        save_guardrail(guardrail=rail, by=w.manager)
    assert Guardrail.objects.get(pk=rail.pk).journey == w.credit
    assert not AuditEvent.objects.filter(action__startswith="guardrail.").exists()


def test_the_pause_reason_names_the_guardrail_as_written(w, django_capture_on_commit_callbacks):
    # Issue #15: the kind's label was lower-cased ("of the last n outcomes").
    outcomes(w.refunds, [6, 7, 5, 6, 6], level=w.reviewer)
    guardrail(w.refunds, GuardrailKind.MEDIAN_CUSTOMER_EFFORT_MAX, "4.5")
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        evaluate_guardrails()

    assert Journey.objects.get(pk=w.refunds.pk).paused_reason == (
        "Guardrail breached: Median customer effort (1-7) of the last N outcomes at most — "
        "6 over the last 5 is above 4.5."
    )
    assert (
        AuditEvent.objects.get(action="automation.paused")
        .payload["reason"]
        .startswith("Guardrail breached: Median customer effort (1-7) of the last N outcomes")
    )
