"""POST /api/v1/gate/ on a journey in shadow mode: every call to a person, route reason shadow."""

import pytest

from oversight.models import AutomationState, Case, GateEvaluation, RouteReason
from oversight.services.gate import SHADOW_REASON
from tests.oversight.api.conftest import gate_body

URL = "/api/v1/gate/"


@pytest.fixture
def shadow_refunds(refunds):
    refunds.automation_state = AutomationState.SHADOW
    refunds.save()
    return refunds


def test_a_call_that_would_proceed_goes_to_a_person_in_shadow(client, shadow_refunds):
    response = client.post(URL, gate_body(), format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    case = Case.objects.get(pk=body["case"]["id"])
    assert body["route"] == "human"
    assert body["case"]["route_reason"] == "shadow"
    assert body["matched"] == []
    assert body["reasons"] == [SHADOW_REASON]
    assert case.route_reason == RouteReason.SHADOW
    assert case.get_route_reason_display().startswith("Shadow mode")
    assert case.proposal == gate_body()["proposal"]  # the AI's proposal, kept to measure it
    assert GateEvaluation.objects.get().route == "human"


def test_in_shadow_a_fired_judgement_point_still_shapes_the_case(client, shadow_refunds):
    response = client.post(
        URL, gate_body(signals={"confidence": 0.55, "sentiment": 0.0}), format="json"
    )

    body = response.json()
    case = Case.objects.get(pk=body["case"]["id"])
    assert body["case"]["route_reason"] == "shadow"
    assert body["matched"] == ["low-confidence"]
    assert body["reasons"][-1] == SHADOW_REASON
    assert case.route_reason == RouteReason.SHADOW
    assert list(case.judgement_points.values_list("slug", flat=True)) == ["low-confidence"]
    assert case.options == ["refund in full", "partial refund", "decline"]


def test_a_live_journey_answers_with_its_own_route_reason(client, refunds):
    body = client.post(
        URL, gate_body(signals={"confidence": 0.55, "sentiment": 0.0}), format="json"
    ).json()

    assert body["case"]["route_reason"] == "trigger"


def test_the_journey_list_shows_the_mode(client, shadow_refunds):
    journeys = {j["slug"]: j for j in client.get("/api/v1/journeys/").json()}

    assert (journeys["refunds"]["mode"], journeys["refunds"]["automation_state"]) == (
        "shadow",
        "shadow",
    )
