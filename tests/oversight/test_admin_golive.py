"""The journey page's shadow-mode panel: the mode, the agreement figures, and the "Sign off
go-live" and "Back to shadow" buttons with their forms, for the journey's managers only."""

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from simple_history.utils import get_history_manager_for_model

from audit.models import AuditEvent
from oversight.models import GoLiveSignOff, Journey, JourneyMode, ReportRequest
from oversight.roles import COMPLIANCE_OFFICER
from oversight.services.golive import return_to_shadow
from oversight.services.reports import generate_report
from tests.factories import JudgementPointFactory, StaffUserFactory
from tests.oversight.authority_world import DAY, NOW, world
from tests.oversight.shadow_cases import shadow_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        w = world()
        JudgementPointFactory(journey=w.refunds, slug="big-refund", name="Big refund")
        return_to_shadow(journey=w.refunds, by=w.manager, reason="New model", at=NOW - DAY)
        w.refunds.refresh_from_db()
        yield w


def snapshot(journey):
    journey = Journey.objects.get(pk=journey.pk)
    history = get_history_manager_for_model(Journey).filter(id=journey.pk).count()
    return (
        journey.automation_state,
        history,
        GoLiveSignOff.objects.count(),
        ReportRequest.objects.count(),
        AuditEvent.objects.count(),
    )


def change_url(journey):
    return reverse("admin:oversight_journey_change", args=[journey.pk])


def go_live_url(journey):
    return reverse("admin:oversight_journey_go_live", args=[journey.pk])


def shadow_url(journey):
    return reverse("admin:oversight_journey_back_to_shadow", args=[journey.pk])


def button(url, label):
    return f'<a class="button" href="{url}">{label}</a>'


def test_a_shadow_journey_shows_its_mode_figures_and_the_sign_off_button(w, client):
    shadow_history(w.refunds, agreed=9, disagreed=1, confidence=0.85)
    client.force_login(w.manager)

    page = client.get(change_url(w.refunds)).content.decode()

    assert "Mode: Shadow" in page
    assert "<td>10</td><td>9</td><td>90.0 %</td><td>59.6 % – 98.2 %</td>" in page
    assert "By the AI's confidence" in page and '<th scope="row">0.8–0.9</th>' in page
    assert "No judgement point fired" in page
    assert button(go_live_url(w.refunds), "Sign off go-live") in page
    assert "Back to shadow" not in page
    assert "Pause automation" not in page  # nothing to pause in shadow


def test_a_live_journey_shows_back_to_shadow_and_the_pause_button(w, client):
    client.force_login(w.manager)

    page = client.get(change_url(w.billing)).content.decode()

    assert "Mode: Live" in page
    assert button(shadow_url(w.billing), "Back to shadow") in page
    assert "Pause automation" in page
    assert "Sign off go-live" not in page


def test_people_who_do_not_manage_the_journey_see_the_mode_but_no_button(w, client):
    officer = StaffUserFactory(username="cora")
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    before = snapshot(w.refunds)

    page = client.get(change_url(w.refunds))
    form = client.get(go_live_url(w.refunds))
    pressed = client.post(
        go_live_url(w.refunds), {"target_agreement": "0.5", "min_decisions": "30"}
    )

    assert page.status_code == 200
    assert "Mode: Shadow" in page.content.decode()
    assert "Sign off go-live</a>" not in page.content.decode()
    assert form.status_code == pressed.status_code == 403
    assert snapshot(w.refunds) == before


def test_a_manager_of_another_system_cannot_open_the_forms(w, client):
    client.force_login(w.manager)
    before = snapshot(w.credit)

    assert client.get(shadow_url(w.credit)).status_code == 403
    assert client.post(shadow_url(w.credit), {"reason": "Because"}).status_code == 403
    assert snapshot(w.credit) == before


def test_the_sign_off_form_shows_the_figures_and_signs_off(w, client):
    shadow_history(w.refunds, agreed=30, disagreed=1)
    client.force_login(w.manager)

    form = client.get(go_live_url(w.refunds))
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            go_live_url(w.refunds),
            {"target_agreement": "0.95", "min_decisions": "30", "note": "Reviewed with QA"},
        )

    assert form.status_code == 200
    assert "96.8 %" in form.content.decode()
    assert response.status_code == 302
    assert response["Location"] == change_url(w.refunds)
    sign_off = GoLiveSignOff.objects.get()
    assert (sign_off.signed_off_by, sign_off.note, sign_off.decisions) == (
        w.manager,
        "Reviewed with QA",
        31,
    )
    assert Journey.objects.get(pk=w.refunds.pk).mode == JourneyMode.LIVE


def test_a_sign_off_below_target_shows_the_refusal_and_nothing_changes(w, client):
    shadow_history(w.refunds, agreed=27, disagreed=3)
    client.force_login(w.manager)
    before = snapshot(w.refunds)

    response = client.post(
        go_live_url(w.refunds), {"target_agreement": "0.95", "min_decisions": "30"}
    )

    assert response.status_code == 200
    assert "Go-live refused: agreement 90.0 % over 30 shadow decisions is below the target" in (
        response.content.decode()
    )
    assert snapshot(w.refunds) == before


def test_a_minimum_below_the_floor_is_refused_on_the_form_and_nothing_changes(w, client):
    shadow_history(w.refunds, agreed=30, disagreed=0)
    client.force_login(w.manager)
    before = snapshot(w.refunds)

    response = client.post(
        go_live_url(w.refunds), {"target_agreement": "0.9", "min_decisions": "5"}
    )

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 30" in response.content.decode()
    assert snapshot(w.refunds) == before


def test_back_to_shadow_asks_for_a_reason_then_returns_the_journey(w, client):
    client.force_login(w.manager)
    before = snapshot(w.billing)

    empty = client.post(shadow_url(w.billing), {"reason": "  "})
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert snapshot(w.billing) == before

    response = client.post(shadow_url(w.billing), {"reason": "Complaints rising"})

    assert response.status_code == 302
    assert Journey.objects.get(pk=w.billing.pk).mode == JourneyMode.SHADOW


def test_past_sign_offs_are_listed_with_their_evaluation_pdf(w, client):
    shadow_history(w.refunds, agreed=30, disagreed=0)
    client.force_login(w.manager)
    with time_machine.travel(NOW, tick=False):
        client.post(go_live_url(w.refunds), {"target_agreement": "0.9", "min_decisions": "30"})
        issued = generate_report(ReportRequest.objects.get().pk)
    client.force_login(w.admin)

    page = client.get(change_url(w.refunds)).content.decode()

    assert "Go-live sign-offs" in page
    assert "Mark Ellison" in page and "100.0 %" in page
    assert reverse("admin:oversight_issuedreport_download", args=[issued.pk]) in page


def test_the_journey_page_takes_a_fixed_number_of_queries(w, client):
    """The panel adds a fixed number of grouped queries, whatever the shadow history."""
    points = [JudgementPointFactory(journey=w.refunds) for _ in range(3)]
    shadow_history(w.refunds, agreed=5, disagreed=1, points=points[:1])
    client.force_login(w.manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(change_url(w.refunds)).status_code == 200
        return len(captured)

    queries()  # warm the per-process caches (content types, permissions)
    few = queries()
    for index in range(len(points)):
        shadow_history(w.refunds, agreed=5 + index, disagreed=index, points=points[index:])
    assert queries() == few <= 45


def test_a_disagreeing_history_shows_its_rate(w, client):
    shadow_history(w.refunds, agreed=0, disagreed=2)
    client.force_login(w.manager)

    page = client.get(change_url(w.refunds)).content.decode()

    assert "<td>2</td><td>0</td><td>0.0 %</td><td>0.0 % – 65.8 %</td>" in page


def test_a_compliance_officer_orders_a_go_live_evaluation_again(w, client):
    shadow_history(w.refunds, agreed=30, disagreed=0)
    with time_machine.travel(NOW, tick=False):
        client.force_login(w.manager)
        client.post(go_live_url(w.refunds), {"target_agreement": "0.9", "min_decisions": "30"})
    sign_off = GoLiveSignOff.objects.get()
    officer = StaffUserFactory(username="cora")
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    url = reverse("admin:oversight_reportrequest_order_go_live")

    refused = client.post(url, {"sign_off": "not-an-id"})
    assert refused.status_code == 200
    assert ReportRequest.objects.count() == 1  # the sign-off's own only
    response = client.post(url, {"sign_off": str(sign_off.pk)})

    assert response.status_code == 302
    ordered = ReportRequest.objects.get(requested_by=officer)
    assert (ordered.kind, ordered.params) == ("go_live", {"sign_off": str(sign_off.pk)})
