"""A key that reaches for another AI system's objects leaves `security.refused` in the ledger.

The answer stays what it was (the object is as unknown as a missing one), nothing else
changes, and the ledger grows by at most one event per key per API_REFUSAL_EVENT_SECONDS, the
next event counting the refusals in between.
"""

import datetime
import uuid

import pytest
import time_machine
from rest_framework.exceptions import PermissionDenied
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services.ledger import Actor, verify_ledger
from oversight.models import APIRefusalWindow, Case, GateEvaluation, Outcome
from oversight.services.credentials import create_api_key
from tests.factories import (
    AISystemFactory,
    CaseFactory,
    GateEvaluationFactory,
    JourneyFactory,
)
from tests.oversight.api.conftest import gate_body

START = datetime.datetime(2026, 3, 3, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def other_system(db):
    return AISystemFactory(slug="billing-bot")


@pytest.fixture
def foreign_journey(other_system):
    return JourneyFactory(ai_system=other_system, slug="billing-disputes")


@pytest.fixture
def foreign_case(foreign_journey):
    return CaseFactory(journey=foreign_journey)


def refusals():
    return list(AuditEvent.objects.filter(action="security.refused").order_by("sequence"))


def state():
    """Everything a refused request must leave as it was, the security events aside."""
    return (
        GateEvaluation.objects.count(),
        Case.objects.count(),
        Outcome.objects.count(),
        AuditEvent.objects.exclude(action="security.refused").count(),
    )


def test_reading_another_systems_case_is_a_404_and_a_security_event(
    client, refunds, ai_system, foreign_case
):
    before = state()
    response = client.get(f"/api/v1/cases/{foreign_case.id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert state() == before
    [event] = refusals()
    assert event.actor_type == "ai_system"
    assert event.actor_id == str(ai_system.pk)
    assert (event.object_type, event.object_id) == ("oversight.case", str(foreign_case.id))
    key = ai_system.api_keys.get()
    assert event.payload == {
        "api_key": key.prefix,
        "method": "GET",
        "path": f"/api/v1/cases/{foreign_case.id}/",
        "status": 404,
        "code": "not_found",
        "suppressed_since_last_event": 0,
    }


def test_a_case_that_does_not_exist_writes_no_event(client, refunds):
    response = client.get(f"/api/v1/cases/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert refusals() == []


def test_the_gate_with_another_systems_journey_is_recorded(client, refunds, foreign_journey):
    before = state()
    response = client.post("/api/v1/gate/", gate_body(journey="billing-disputes"), format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_journey"
    assert state() == before
    [event] = refusals()
    assert (event.object_type, event.object_id) == ("oversight.journey", str(foreign_journey.pk))
    assert event.payload["code"] == "unknown_journey"


def test_opening_a_case_on_another_systems_journey_is_recorded(client, refunds, foreign_journey):
    body = gate_body(journey="billing-disputes", reason="system_unsure")
    before = state()
    response = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    assert response.status_code == 404
    assert state() == before
    [event] = refusals()
    assert event.object_id == str(foreign_journey.pk)


def test_a_journey_nobody_has_writes_no_event(client, refunds):
    response = client.post("/api/v1/gate/", gate_body(journey="nowhere"), format="json")
    assert response.status_code == 404
    assert refusals() == []


def test_an_outcome_for_another_systems_evaluation_or_case_is_recorded(
    client, refunds, foreign_journey, foreign_case
):
    evaluation = GateEvaluationFactory(journey=foreign_journey)
    before = state()
    response = client.post(
        "/api/v1/outcomes/", {"evaluation": str(evaluation.id), "reversed": True}, format="json"
    )
    assert response.status_code == 404
    with time_machine.travel(datetime.timedelta(minutes=2)):
        response = client.post(
            "/api/v1/outcomes/", {"case": str(foreign_case.id), "reversed": True}, format="json"
        )
    assert response.status_code == 404
    assert state() == before
    assert [(e.object_type, e.object_id) for e in refusals()] == [
        ("oversight.gateevaluation", str(evaluation.id)),
        ("oversight.case", str(foreign_case.id)),
    ]


def test_listing_cases_of_another_systems_journey_is_refused_and_recorded(
    client, refunds, foreign_journey, foreign_case
):
    response = client.get("/api/v1/cases/?journey=billing-disputes")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["journey"]
    assert str(foreign_case.id) not in response.content.decode()
    [event] = refusals()
    assert event.object_id == str(foreign_journey.pk)
    assert event.payload["status"] == 400


def test_a_403_of_an_authenticated_request_is_recorded(client, refunds, monkeypatch):
    def forbidden(self, request):
        raise PermissionDenied("Not for this key.")

    monkeypatch.setattr("oversight.api.views.PingView.get", forbidden)
    response = client.get("/api/v1/ping/")
    assert response.status_code == 403
    [event] = refusals()
    assert (event.object_type, event.object_id) == ("", "")
    assert event.payload["status"] == 403


def test_a_request_without_a_valid_key_writes_no_event(refunds, foreign_case):
    anonymous = APIClient()
    assert anonymous.get(f"/api/v1/cases/{foreign_case.id}/").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    assert anonymous.get(f"/api/v1/cases/{foreign_case.id}/").status_code == 401
    assert refusals() == []


def test_a_probing_key_grows_the_ledger_by_one_event_a_minute_at_most(
    client, refunds, ai_system, foreign_case, settings
):
    assert settings.API_REFUSAL_EVENT_SECONDS == 60
    url = f"/api/v1/cases/{foreign_case.id}/"
    ledger = AuditEvent.objects.count()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(50):
            assert client.get(url).status_code == 404
        assert AuditEvent.objects.count() == ledger + 1
        window = APIRefusalWindow.objects.get(api_key=ai_system.api_keys.get())
        assert window.suppressed == 49

        clock.shift(datetime.timedelta(seconds=59))
        assert client.get(url).status_code == 404
        assert AuditEvent.objects.count() == ledger + 1

        clock.shift(datetime.timedelta(seconds=1))
        assert client.get(url).status_code == 404
        assert AuditEvent.objects.count() == ledger + 2
        first, second = refusals()
        assert first.payload["suppressed_since_last_event"] == 0
        assert second.payload["suppressed_since_last_event"] == 50
        window.refresh_from_db()
        assert window.suppressed == 0

        # 600 refusals over ten minutes: at most one event per minute.
        for _ in range(10):
            for _ in range(60):
                client.get(url)
            clock.shift(datetime.timedelta(seconds=60))
        assert AuditEvent.objects.count() <= ledger + 2 + 10
        total = sum(1 + e.payload["suppressed_since_last_event"] for e in refusals())
        window.refresh_from_db()
        assert total + window.suppressed == 50 + 1 + 1 + 600
    assert verify_ledger().ok


def test_each_key_has_its_own_bound(client, refunds, ai_system, foreign_case):
    _, second_plain = create_api_key(ai_system=ai_system, name="second", actor=Actor.system("t"))
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Api-Key {second_plain}")
    url = f"/api/v1/cases/{foreign_case.id}/"
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            client.get(url)
            second.get(url)
    assert sorted(e.payload["api_key"] for e in refusals()) == sorted(
        key.prefix for key in ai_system.api_keys.all()
    )
