"""The incident register in the admin: list by deadline, raising and moving through the forms."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from oversight.models import Incident, IncidentClass, IncidentState
from oversight.services.incidents import advance_incident
from tests.oversight.incidents.world import incident_world, raise_one

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 9, 15, 10, 0, tzinfo=datetime.UTC)
LIST = "admin:oversight_incident_changelist"


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield incident_world()


def test_the_list_is_sorted_by_deadline_with_time_left_in_words_and_an_overdue_flag(
    w, client, django_assert_max_num_queries
):
    with time_machine.travel(NOW - datetime.timedelta(days=3), tick=False):
        late = raise_one(w, title="Late one", incident_class=IncidentClass.WIDESPREAD)
    with time_machine.travel(NOW, tick=False):
        slow = raise_one(w, title="Slow one", incident_class=IncidentClass.OTHER)
        soon = raise_one(w, title="Soon one", incident_class=IncidentClass.DEATH)
    client.force_login(w.officer)

    with (
        time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False),
        django_assert_max_num_queries(20),
    ):
        response = client.get(reverse(LIST))

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows == [late, soon, slow]
    html = response.content.decode()
    assert '<strong class="incident-overdue">1 day 1 h overdue</strong>' in html
    assert "9 days 23 h left" in html and "14 days 23 h left" in html
    assert "Raise a serious incident" in html


def test_an_officer_raises_an_incident_through_the_form(w, client):
    client.force_login(w.officer)
    url = reverse("admin:oversight_incident_raise")
    form = {
        "ai_system": w.system.pk,
        "title": "Identity checks failed for elderly customers",
        "what_happened": "Rejected valid IDs.",
        "affected": "12 customers over 80",
        "incident_class": IncidentClass.OTHER,
        "source": "case",
        "source_reference": str(w.case.pk)[:8],
        "became_aware_at": "2026-09-14T09:30",
        "time_zone": "Europe/Berlin",
    }

    with time_machine.travel(NOW, tick=False):
        response = client.post(url, form)

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:oversight_incident_change", args=[incident.pk])
    assert incident.raised_by == w.officer
    assert list(incident.related_cases.all()) == [w.case]
    # Typed in the person's zone (UTC here); due 15 days later at 09:30 UTC, 11:30 in Berlin.
    assert incident.deadline == datetime.datetime(2026, 9, 29, 9, 30, tzinfo=datetime.UTC)


def test_bad_input_on_the_raise_form_shows_the_error_and_creates_nothing(w, client):
    client.force_login(w.officer)
    form = {
        "ai_system": w.system.pk,
        "title": "T",
        "what_happened": "W",
        "affected": "A",
        "incident_class": IncidentClass.OTHER,
        "source": "case",
        "source_reference": str(w.other_case.pk),
    }

    response = client.post(reverse("admin:oversight_incident_raise"), form)

    assert response.status_code == 200
    assert "is not of Refund assistant" in response.content.decode()
    assert Incident.objects.count() == 0


def test_a_reviewer_cannot_open_the_forms(w, client):
    incident = raise_one(w)
    client.force_login(w.reviewer)

    for name, args in (("raise", []), ("advance", [incident.pk]), ("deadline", [incident.pk])):
        response = client.get(reverse(f"admin:oversight_incident_{name}", args=args))
        assert response.status_code in (403, 404), name


def test_moving_forward_and_the_deadline_through_the_forms(w, client):
    incident = raise_one(w)
    client.force_login(w.manager)
    change = reverse("admin:oversight_incident_change", args=[incident.pk])
    assert "Move forward" in client.get(change).content.decode()

    response = client.post(
        reverse("admin:oversight_incident_advance", args=[incident.pk]), {"to_state": "confirmed"}
    )
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).state == IncidentState.CONFIRMED

    refused = client.post(
        reverse("admin:oversight_incident_deadline", args=[incident.pk]),
        {"deadline": "2026-09-20T12:00", "reason": ""},
    )
    assert refused.status_code == 200
    assert Incident.objects.get(pk=incident.pk).deadline == incident.deadline

    moved = client.post(
        reverse("admin:oversight_incident_deadline", args=[incident.pk]),
        {"deadline": "2026-09-20T12:00", "reason": "Authority asked for it earlier."},
    )
    assert moved.status_code == 302
    assert Incident.objects.get(pk=incident.pk).deadline == datetime.datetime(
        2026, 9, 20, 12, 0, tzinfo=datetime.UTC
    )


def test_a_refused_step_shows_the_services_message_and_changes_nothing(w, client):
    incident = advance_incident(incident=raise_one(w), by=w.officer, to_state="confirmed")
    client.force_login(w.officer)

    response = client.post(
        reverse("admin:oversight_incident_advance", args=[incident.pk]),
        {"to_state": "reported_to_authority", "note": "Provider unreachable"},
    )

    assert response.status_code == 200
    assert "reference for the report is required" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).state == IncidentState.CONFIRMED


def test_the_compliance_home_shows_open_incidents_by_deadline_with_the_overdue_flag(w, client):
    with time_machine.travel(NOW - datetime.timedelta(days=3), tick=False):
        raise_one(w, title="Late one", incident_class=IncidentClass.WIDESPREAD)
    with time_machine.travel(NOW, tick=False):
        raise_one(w, title="Fresh one")
    client.force_login(w.officer)

    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("admin:index")).content.decode()

    assert "Serious incidents: reporting deadlines" in html
    assert html.index("Late one") < html.index("Fresh one")
    assert '<strong class="incident-overdue">1 day overdue</strong>' in html
    assert "15 days left" in html


def test_the_home_of_a_reviewer_shows_no_incidents(w, client):
    raise_one(w, title="Hidden one")
    client.force_login(w.reviewer)

    html = client.get(reverse("admin:index")).content.decode()

    assert "Hidden one" not in html


def test_a_case_page_offers_to_raise_an_incident_from_it(w, client):
    client.force_login(w.officer)

    page = client.get(reverse("admin:oversight_case_change", args=[w.case.pk])).content.decode()
    link = (
        f"{reverse('admin:oversight_incident_raise')}?source=case&amp;source_reference={w.case.pk}"
    )
    form = client.get(
        f"{reverse('admin:oversight_incident_raise')}?source=case&source_reference={w.case.pk}"
    )

    assert link in page
    assert form.context["form"].initial == {"source": "case", "source_reference": str(w.case.pk)}
