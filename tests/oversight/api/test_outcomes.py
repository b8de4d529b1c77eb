"""POST /api/v1/outcomes/: outcome signals reported after the fact."""

import pytest

from audit.models import AuditEvent
from oversight.models import Outcome
from tests.factories import AISystemFactory, CaseFactory, GateEvaluationFactory, JourneyFactory

URL = "/api/v1/outcomes/"


def test_an_outcome_attaches_to_an_evaluation(client, refunds):
    evaluation = GateEvaluationFactory(journey=refunds, route="automate")
    response = client.post(
        URL,
        {"evaluation": str(evaluation.id), "customer_effort": 2, "repeat_contact": False},
        format="json",
    )
    assert response.status_code == 201, response.json()
    outcome = Outcome.objects.get()
    assert response.json() == {
        "id": str(outcome.id),
        "evaluation": str(evaluation.id),
        "case": None,
    }
    assert (outcome.customer_effort, outcome.repeat_contact) == (2, False)
    assert outcome.reported_by.slug == "support-assistant"
    assert AuditEvent.objects.filter(action="outcome.recorded").count() == 1


def test_an_outcome_of_an_evaluation_that_opened_a_case_links_both(client, refunds):
    evaluation = GateEvaluationFactory(journey=refunds)
    case = CaseFactory(journey=refunds, evaluation=evaluation)
    response = client.post(
        URL, {"evaluation": str(evaluation.id), "complaint": True}, format="json"
    )
    assert response.json()["case"] == str(case.id)


@pytest.mark.parametrize(
    "body",
    [
        {"customer_effort": 3},
        {"case": "not-a-uuid", "customer_effort": 3},
        {"case": "5f0c3c9e-1d3e-4c1e-9a53-3f4f2b6a9a10", "customer_effort": 8},
        {"case": "5f0c3c9e-1d3e-4c1e-9a53-3f4f2b6a9a10", "customer_effort": 0},
        {"case": "5f0c3c9e-1d3e-4c1e-9a53-3f4f2b6a9a10", "repeat_contact": "often"},
    ],
)
def test_bad_outcomes_are_refused_and_nothing_is_stored(client, refunds, body):
    before = (Outcome.objects.count(), AuditEvent.objects.count())
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert (Outcome.objects.count(), AuditEvent.objects.count()) == before


def test_an_outcome_without_any_signal_is_refused(client, refunds):
    case = CaseFactory(journey=refunds)
    response = client.post(URL, {"case": str(case.id)}, format="json")
    assert response.status_code == 400
    assert "at least one of customer_effort" in response.json()["error"]["message"]
    assert Outcome.objects.count() == 0


def test_another_systems_case_is_unknown(client, refunds):
    foreign = CaseFactory(journey=JourneyFactory(ai_system=AISystemFactory()))
    response = client.post(URL, {"case": str(foreign.id), "reversed": True}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Outcome.objects.count() == 0
