"""The stop button: pause_journey / resume_journey, and the gate while paused (invariant 9)."""

import datetime

import pytest
import time_machine
from simple_history.utils import get_history_manager_for_model

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import AutomationState, Case, GateEvaluation, Journey, RouteReason
from oversight.services.automation import pause_journey, resume_journey
from oversight.services.gate import GateRequest, ProposedAction, evaluate_gate
from tests.oversight.authority_world import NOW, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield world()


def snapshot(journey):
    journey = Journey.objects.get(pk=journey.pk)
    history = get_history_manager_for_model(Journey).filter(id=journey.pk).count()
    return (
        journey.automation_state,
        journey.paused_reason,
        journey.paused_at,
        journey.paused_by_id,
        history,
        AuditEvent.objects.count(),
    )


def ask_gate(journey):
    return evaluate_gate(
        ai_system=journey.ai_system,
        request=GateRequest(
            journey=journey.slug,
            action=ProposedAction(type="refund"),
            signals={"confidence": 0.99},
            context={"order_id": "A-1"},
        ),
    )


def test_a_manager_pauses_and_every_gate_call_goes_to_a_person(w):
    assert ask_gate(w.refunds).route == "automate"
    pause_journey(journey=w.refunds, by=w.manager, reason="Refund complaints spiked.")

    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.PAUSED_BY_PERSON
    assert w.refunds.paused_reason == "Refund complaints spiked."
    assert w.refunds.paused_by == w.manager
    assert w.refunds.paused_at is not None
    assert w.refunds.history.first().history_user == w.manager
    event = AuditEvent.objects.filter(action="automation.paused").get()
    assert event.actor_user == w.manager
    assert event.payload["reason"] == "Refund complaints spiked."
    assert event.object_id == str(w.refunds.pk)

    results = [ask_gate(w.refunds) for _ in range(3)]
    assert [result.route for result in results] == ["human"] * 3
    assert {result.case.route_reason for result in results} == {RouteReason.AUTOMATION_PAUSED}
    # Another journey of the same system keeps running.
    assert ask_gate(w.billing).route == "automate"


def test_a_manager_resumes_with_a_note_and_automation_proceeds_again(w):
    pause_journey(journey=w.refunds, by=w.manager, reason="Investigating.")
    resume_journey(journey=w.refunds, by=w.manager, note="Fixed the refund prompt.")

    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.RUNNING
    assert (w.refunds.paused_reason, w.refunds.paused_at, w.refunds.paused_by) == ("", None, None)
    assert w.refunds.history.first().history_user == w.manager
    event = AuditEvent.objects.filter(action="automation.resumed").get()
    assert event.actor_user == w.manager
    assert event.payload["note"] == "Fixed the refund prompt."
    assert event.payload["paused"]["reason"] == "Investigating."
    assert ask_gate(w.refunds).route == "automate"


def test_a_superuser_may_pause_any_journey(w):
    pause_journey(journey=w.credit, by=w.admin, reason="Audit finding.")
    w.credit.refresh_from_db()
    assert w.credit.automation_state == AutomationState.PAUSED_BY_PERSON


def test_a_guardrail_pause_is_recorded_as_the_guardrails_system(w):
    pause_journey(journey=w.refunds, reason="Override rate 0.5 above 0.2.", guardrail=True)
    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.PAUSED_BY_GUARDRAIL
    assert w.refunds.paused_by is None
    event = AuditEvent.objects.filter(action="automation.paused").get()
    assert (event.actor_type, event.actor_label, event.actor_user) == ("system", "guardrails", None)
    assert ask_gate(w.refunds).route == "human"


@pytest.mark.parametrize("who", ["rhea", "untrained"])
def test_pausing_by_someone_who_does_not_manage_the_journey_is_refused(w, who):
    before = snapshot(w.refunds)
    with pytest.raises(NotAllowed, match="Only a manager of Support assistant / Refunds"):
        pause_journey(journey=w.refunds, by=getattr(w, who), reason="Because.")
    assert snapshot(w.refunds) == before


def test_a_manager_may_not_pause_a_journey_they_do_not_manage(w):
    before = snapshot(w.credit)
    with pytest.raises(NotAllowed, match="Only a manager of Credit checker / Credit limits"):
        pause_journey(journey=w.credit, by=w.manager, reason="Because.")
    assert snapshot(w.credit) == before


@pytest.mark.parametrize("who", ["rhea", "sam"])
def test_resuming_by_a_non_manager_is_refused_and_nothing_changes(w, who):
    pause_journey(journey=w.refunds, reason="Effort too high.", guardrail=True)
    before = snapshot(w.refunds)
    with pytest.raises(NotAllowed, match="may resume its automation"):
        resume_journey(journey=w.refunds, by=getattr(w, who), note="Looks fine to me.")
    assert snapshot(w.refunds) == before
    assert ask_gate(w.refunds).route == "human"


def test_pausing_without_a_reason_is_refused_and_nothing_changes(w):
    before = snapshot(w.refunds)
    with pytest.raises(InvalidInput, match="the reason is required"):
        pause_journey(journey=w.refunds, by=w.manager, reason="   ")
    assert snapshot(w.refunds) == before


def test_resuming_without_a_note_is_refused_and_nothing_changes(w):
    pause_journey(journey=w.refunds, by=w.manager, reason="Investigating.")
    before = snapshot(w.refunds)
    with pytest.raises(InvalidInput, match="the note is required"):
        resume_journey(journey=w.refunds, by=w.manager, note="")
    assert snapshot(w.refunds) == before


def test_pausing_a_paused_journey_is_refused_and_nothing_changes(w):
    pause_journey(journey=w.refunds, by=w.manager, reason="First press.")
    before = snapshot(w.refunds)
    with pytest.raises(StaleState, match="is already paused \\(paused by a person\\)"):
        pause_journey(journey=w.refunds, by=w.admin, reason="Second press.")
    assert snapshot(w.refunds) == before


def test_resuming_a_running_journey_is_refused_and_nothing_changes(w):
    before = snapshot(w.refunds)
    with pytest.raises(StaleState, match="is running: there is nothing to resume"):
        resume_journey(journey=w.refunds, by=w.manager, note="Just in case.")
    assert snapshot(w.refunds) == before


def test_the_admin_actions_ask_for_a_reason_then_pause_and_resume(w, client):
    client.force_login(w.manager)
    url = "/admin/oversight/journey/"
    data = {"action": "pause_automation", "_selected_action": [str(w.refunds.pk)]}
    page = client.post(url, data)
    assert page.status_code == 200
    assert b"Reason for pausing" in page.content
    assert Journey.objects.get(pk=w.refunds.pk).automation_state == AutomationState.RUNNING

    response = client.post(url, {**data, "confirm": "yes", "text": "Spike in complaints."})
    assert response.status_code == 302
    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.PAUSED_BY_PERSON
    assert w.refunds.paused_reason == "Spike in complaints."

    resume = {"action": "resume_automation", "_selected_action": [str(w.refunds.pk)]}
    client.post(url, {**resume, "confirm": "yes", "text": "Prompt fixed."})
    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.RUNNING


def test_the_admin_action_shows_the_refusal_and_changes_nothing(w, client):
    client.force_login(w.manager)
    before = snapshot(w.credit)
    data = {
        "action": "pause_automation",
        "_selected_action": [str(w.credit.pk)],
        "confirm": "yes",
        "text": "Because.",
    }
    response = client.post("/admin/oversight/journey/", data, follow=True)
    assert "Only a manager of Credit checker / Credit limits may pause" in response.content.decode()
    assert snapshot(w.credit) == before
    assert GateEvaluation.objects.count() == Case.objects.count() == 0


def test_a_pause_and_resume_dated_in_the_past_carry_their_moments(w):
    """The demo's story pauses and resumes weeks back: history rows, the journey's paused_at
    and the events' payloads say when it took effect (the ledger keeps its own time)."""
    paused_at = NOW + datetime.timedelta(days=10)  # after the world was made, before today
    resumed_at = paused_at + datetime.timedelta(hours=19)

    pause_journey(
        journey=w.refunds, reason="Override rate 0.45 above 0.25.", guardrail=True, at=paused_at
    )
    w.refunds.refresh_from_db()
    assert w.refunds.paused_at == paused_at
    resume_journey(journey=w.refunds, by=w.manager, note="Threshold raised.", at=resumed_at)

    rows = list(w.refunds.history.order_by("history_date"))
    assert [(row.automation_state, row.history_date) for row in rows[-2:]] == [
        (AutomationState.PAUSED_BY_GUARDRAIL, paused_at),
        (AutomationState.RUNNING, resumed_at),
    ]
    paused = AuditEvent.objects.get(action="automation.paused").payload
    resumed = AuditEvent.objects.get(action="automation.resumed").payload
    moment = datetime.datetime.fromisoformat
    assert moment(paused["paused_at"]) == moment(resumed["paused"]["paused_at"]) == paused_at
    assert moment(resumed["resumed_at"]) == resumed_at
