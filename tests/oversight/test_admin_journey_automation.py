"""The stop button on a journey's own page: labelled Pause / Resume buttons, the reason form,
the pause_journey / resume_journey services, shown only to the journey's managers."""

import pytest
import time_machine
from django.urls import reverse
from simple_history.utils import get_history_manager_for_model

from audit.models import AuditEvent
from oversight.models import AutomationState, Journey
from oversight.services.automation import pause_journey
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


def change_url(journey):
    return reverse("admin:oversight_journey_change", args=[journey.pk])


def pause_url(journey):
    return reverse("admin:oversight_journey_pause", args=[journey.pk])


def resume_url(journey):
    return reverse("admin:oversight_journey_resume", args=[journey.pk])


def button(url, label):
    return f'<a class="button" href="{url}">{label}</a>'


def test_a_running_journey_page_shows_the_pause_button_to_its_manager(w, client):
    client.force_login(w.manager)

    page = client.get(change_url(w.refunds)).content.decode()

    assert button(pause_url(w.refunds), "Pause automation") in page
    assert "Resume automation" not in page


def test_a_paused_journey_page_shows_the_resume_button_only(w, client):
    pause_journey(journey=w.refunds, by=w.manager, reason="Complaints spiked.")
    client.force_login(w.manager)

    page = client.get(change_url(w.refunds)).content.decode()

    assert button(resume_url(w.refunds), "Resume automation") in page
    assert "Pause automation" not in page


def test_a_journey_someone_else_manages_shows_no_button_and_its_form_is_refused(w, client):
    client.force_login(w.manager)  # manages the support assistant, not the credit checker
    before = snapshot(w.credit)

    page = client.get(change_url(w.credit))
    form = client.get(pause_url(w.credit))
    pressed = client.post(pause_url(w.credit), {"text": "Because."})

    assert page.status_code == 200
    assert "Pause automation" not in page.content.decode()
    assert "Resume automation" not in page.content.decode()
    assert form.status_code == pressed.status_code == 403
    assert snapshot(w.credit) == before


def test_the_pause_button_asks_for_a_reason_then_pauses(w, client):
    client.force_login(w.manager)

    form = client.get(pause_url(w.refunds))
    assert form.status_code == 200
    assert "Reason for pausing" in form.content.decode()
    assert 'value="Pause automation"' in form.content.decode()

    response = client.post(pause_url(w.refunds), {"text": "Spike in complaints."}, follow=True)

    assert response.redirect_chain == [(change_url(w.refunds), 302)]
    page = response.content.decode()
    assert f"Paused automation of {w.refunds}." in page
    assert button(resume_url(w.refunds), "Resume automation") in page
    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.PAUSED_BY_PERSON
    assert w.refunds.paused_reason == "Spike in complaints."
    assert w.refunds.paused_by == w.manager
    assert AuditEvent.objects.filter(action="automation.paused").count() == 1


def test_the_resume_button_asks_why_then_resumes(w, client):
    pause_journey(journey=w.refunds, by=w.manager, reason="Complaints spiked.")
    client.force_login(w.manager)

    form = client.get(resume_url(w.refunds)).content.decode()
    assert "Why automation may resume" in form
    response = client.post(resume_url(w.refunds), {"text": "Prompt fixed."}, follow=True)

    page = response.content.decode()
    assert f"Resumed automation of {w.refunds}." in page
    assert button(pause_url(w.refunds), "Pause automation") in page
    w.refunds.refresh_from_db()
    assert w.refunds.automation_state == AutomationState.RUNNING
    assert AuditEvent.objects.filter(action="automation.resumed").count() == 1


def test_pausing_without_a_reason_is_refused_on_the_form_and_nothing_changes(w, client):
    client.force_login(w.manager)
    before = snapshot(w.refunds)

    response = client.post(pause_url(w.refunds), {"text": "   "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert snapshot(w.refunds) == before


def test_a_stale_resume_shows_the_services_refusal_and_nothing_changes(w, client):
    # The page was opened while paused; someone else resumed in between.
    client.force_login(w.manager)
    before = snapshot(w.refunds)

    response = client.post(resume_url(w.refunds), {"text": "Prompt fixed."})

    assert response.status_code == 200
    assert "is running: there is nothing to resume" in response.content.decode()
    assert snapshot(w.refunds) == before
