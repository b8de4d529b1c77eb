"""POST /api/v1/gate/: may I proceed?"""

import datetime
import json
import random

import pytest

from audit.models import AuditEvent
from oversight.models import AutomationState, Case, GateEvaluation, RouteReason
from oversight.services.configuration import save_judgement_point
from tests.factories import AISystemFactory, JourneyFactory, SuperUserFactory
from tests.oversight.api.conftest import gate_body

URL = "/api/v1/gate/"


def counts():
    return (GateEvaluation.objects.count(), Case.objects.count(), AuditEvent.objects.count())


def post(client, body, **extra):
    return client.post(URL, body, format="json", **extra)


def test_nothing_fires_so_automation_proceeds_and_the_call_is_stored(client, refunds):
    response = post(client, gate_body())
    assert response.status_code == 200, response.json()
    evaluation = GateEvaluation.objects.get(pk=response.json()["evaluation"])
    assert response.json() == {"route": "automate", "evaluation": str(evaluation.id)}
    assert evaluation.route == "automate"
    assert evaluation.signals == {"confidence": 0.95, "sentiment": 0.1}
    assert evaluation.server_signals["missing_context"] is False
    assert evaluation.matched == []
    assert Case.objects.count() == 0


def test_low_confidence_routes_to_a_person_with_the_reasons(client, refunds):
    response = post(client, gate_body(signals={"confidence": 0.55, "sentiment": 0.0}))
    assert response.status_code == 202, response.json()
    body = response.json()
    case = Case.objects.get(pk=body["case"]["id"])
    assert body["route"] == "human"
    assert body["matched"] == ["low-confidence"]
    assert body["case"]["status"] == "open"
    assert body["case"]["url"].endswith(f"/api/v1/cases/{case.id}/")
    assert body["reasons"] == ["Low confidence: confidence is below 0.7 (was 0.55)"]
    assert case.route_reason == RouteReason.TRIGGER
    assert case.required_level.name == "Reviewer"
    assert case.options == ["refund in full", "partial refund", "decline"]
    assert case.confidence == 0.55
    assert case.context == {"order_id": "A-10023"}
    assert case.sla_deadline - case.evaluation.created_at == datetime.timedelta(minutes=120)
    assert list(case.judgement_points.values_list("slug", flat=True)) == ["low-confidence"]
    fired = case.evaluation.matched[0]
    assert fired["slug"] == "low-confidence"
    assert fired["version"] == 1
    assert fired["fired"] == [
        {"signal": "confidence", "operator": "lt", "value": 0.7, "actual": 0.55}
    ]
    opened = AuditEvent.objects.get(action="case.opened")
    assert opened.object_id == str(case.id)
    assert opened.actor_type == "ai_system"


def test_several_points_take_the_highest_level_and_the_shortest_sla(client, refunds):
    body = gate_body(
        action={"type": "close_account", "irreversible": True},
        signals={"confidence": 0.4, "sentiment": -0.9},
    )
    response = post(client, body)
    assert response.status_code == 202
    assert sorted(response.json()["matched"]) == [
        "emotional-customer",
        "irreversible-action",
        "low-confidence",
    ]
    case = Case.objects.get()
    assert case.required_level.name == "Team lead"
    assert case.sla_deadline - case.evaluation.created_at == datetime.timedelta(minutes=60)
    assert case.priority == 3
    assert case.irreversible is True


@pytest.mark.parametrize(
    ("signals", "route"),
    [
        ({"identity_mismatch": True, "recent_fraud_attempts": 0}, "automate"),
        ({"identity_mismatch": False, "recent_fraud_attempts": 3}, "automate"),
        ({"identity_mismatch": True}, "automate"),
        ({"identity_mismatch": True, "recent_fraud_attempts": 2}, "human"),
    ],
)
def test_identity_mismatch_and_recent_fraud_fire_only_together(client, identity, signals, route):
    body = gate_body(journey="identity-verification", signals=signals, context={})
    body["action"] = {"type": "verify_identity"}
    response = post(client, body)
    assert response.json()["route"] == route
    if route == "human":
        case = Case.objects.get()
        assert case.four_eyes is True
        assert response.json()["matched"] == ["identity-fraud-combination"]


def test_missing_required_context_routes_to_a_person(client, refunds):
    response = post(client, gate_body(context={"customer_tier": "gold"}))
    assert response.status_code == 202
    assert response.json()["reasons"] == ["Required context missing: order_id"]
    evaluation = GateEvaluation.objects.get()
    assert evaluation.server_signals["missing_context_keys"] == ["order_id"]
    assert Case.objects.get().required_level.name == "Reviewer"


def test_personal_data_in_the_proposal_routes_to_a_person(client, refunds):
    proposal = {
        "reply": "Refund sent to IBAN GB82 WEST 1234 5698 7654 32, card 4111 1111 1111 1111"
    }
    response = post(client, gate_body(proposal=proposal))
    assert response.status_code == 202
    assert response.json()["reasons"] == ["Personal data in the proposal: iban, card_number"]


def test_personal_data_is_allowed_where_the_journey_says_so(client, refunds):
    refunds.allow_pii_in_proposal = True
    refunds.save()
    response = post(client, gate_body(proposal="We will e-mail you at jane@example.com"))
    assert response.status_code == 200
    assert GateEvaluation.objects.get().server_signals["pii_kinds"] == ["email"]


def test_the_system_cannot_overrule_the_servers_own_signals(client, refunds):
    body = gate_body(
        action={"type": "close_account", "irreversible": True},
        signals={"confidence": 0.99, "irreversible": False},
    )
    response = post(client, body)
    assert response.status_code == 202
    assert response.json()["matched"] == ["irreversible-action"]


@pytest.mark.parametrize("state", [AutomationState.PAUSED_BY_PERSON, "paused_by_guardrail"])
def test_a_paused_journey_routes_every_call_to_a_person(client, refunds, state):
    refunds.automation_state = state
    refunds.save()
    response = post(client, gate_body())
    assert response.status_code == 202
    case = Case.objects.get()
    assert case.route_reason == RouteReason.AUTOMATION_PAUSED
    assert "paused" in response.json()["reasons"][0]


def test_sampling_opens_sample_audit_cases_deterministically(client, refunds, monkeypatch):
    from oversight.services import gate

    refunds.sampling_rate = "0.3"
    refunds.save()
    monkeypatch.setattr(gate, "sampling_random", random.Random(7))
    expected_rng = random.Random(7)
    expected = [expected_rng.random() < 0.3 for _ in range(20)]
    answers = [post(client, gate_body()) for _ in range(20)]
    assert all(a.status_code == 200 for a in answers)
    sampled = [GateEvaluation.objects.get(pk=a.json()["evaluation"]).sampled for a in answers]
    assert sampled == expected
    assert 0 < sum(expected) < 20
    assert Case.objects.filter(route_reason=RouteReason.SAMPLE_AUDIT).count() == sum(expected)


def test_an_evaluation_keeps_the_rule_version_it_was_judged_by(client, refunds):
    post(client, gate_body(signals={"confidence": 0.5}))
    point = refunds.judgement_points.get(slug="low-confidence")
    point.name = "Low confidence (stricter)"
    save_judgement_point(point=point, changed_by=SuperUserFactory())
    post(client, gate_body(signals={"confidence": 0.5}))
    versions = [e.matched[0]["version"] for e in GateEvaluation.objects.order_by("created_at")]
    assert versions == [1, 2]


def test_a_journey_of_another_ai_system_is_unknown(client, refunds):
    JourneyFactory(ai_system=AISystemFactory(), slug="disputes")
    evaluations, cases, events = counts()
    response = post(client, gate_body(journey="disputes"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_journey"
    assert "disputes" in response.json()["error"]["message"]
    # The only trace is the security event (tests/oversight/api/test_refusals.py).
    assert counts() == (evaluations, cases, events + 1)
    assert AuditEvent.objects.latest("sequence").action == "security.refused"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"signals": {"confidence": "high"}}, None),
        ({"signals": {"confidence": {"value": 0.2}}}, "signals"),
        ({"signals": ["confidence", 0.2]}, "signals"),
        ({"signals": {"Bad Name": 1}}, "signals"),
        ({"action": {"amount": "10.00", "currency": "EUR"}}, "action.type"),
        ({"action": {"type": "refund", "amount": "-1", "currency": "EUR"}}, "action.amount"),
        ({"action": {"type": "refund", "amount": "10.00"}}, "action.currency"),
        ({"context": "order A-1"}, "context"),
        ({"callback_url": "ftp://bot.example.com/hook"}, "callback_url"),
        ({"callback_url": "file:///etc/passwd"}, "callback_url"),
        ({"journey": "not a slug!"}, "journey"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(
    client, refunds, change, field
):
    before = counts()
    response = post(client, gate_body(**change))
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] in {"invalid_input", "invalid"}
    assert error["message"]
    if field:
        assert field in error["fields"]
    assert counts() == before


def test_a_signal_of_the_wrong_type_for_its_condition_is_named(client, refunds):
    before = counts()
    response = post(client, gate_body(signals={"confidence": "high"}))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Signals of the wrong type: confidence must be a number."
    )
    assert counts() == before


def test_a_body_that_is_not_json_is_refused(client, refunds):
    before = counts()
    response = client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert counts() == before


def test_a_body_that_is_not_declared_json_is_refused(client, refunds):
    response = client.post(URL, data="journey=refunds", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_an_oversized_body_is_refused(client, refunds, settings):
    settings.API_MAX_BODY_BYTES = 2048
    before = counts()
    response = post(client, gate_body(context={"order_id": "A-1", "notes": "x" * 4000}))
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "The request body is over the limit of 2048 bytes.",
        "request_id": response["X-Request-ID"],
    }
    assert counts() == before


def test_the_default_body_limit_is_256_kb(settings):
    assert settings.API_MAX_BODY_BYTES == 256 * 1024


def test_routed_and_automated_calls_cost_a_fixed_number_of_queries(
    client, refunds, django_assert_max_num_queries
):
    # Warm-up: loads the journey's rules into this process's cache (two more queries, once).
    with django_assert_max_num_queries(5):
        assert post(client, gate_body()).status_code == 200
    # The key with the journey and its rules' stamp (one read), the evaluation (one write).
    with django_assert_max_num_queries(2):
        assert post(client, gate_body()).status_code == 200
    with django_assert_max_num_queries(15):
        assert post(client, gate_body(signals={"confidence": 0.2})).status_code == 202


def test_query_count_does_not_grow_with_the_number_of_points(
    client, refunds, levels, django_assert_max_num_queries
):
    from tests.factories import JudgementPointFactory, TriggerConditionFactory

    for n in range(20):
        point = JudgementPointFactory(journey=refunds, required_level=levels["reviewer"])
        TriggerConditionFactory(judgement_point=point, signal=f"score_{n}", operator="gt", value=5)
    with django_assert_max_num_queries(5):
        assert post(client, gate_body()).status_code == 200
    with django_assert_max_num_queries(2):
        assert post(client, gate_body()).status_code == 200


def test_the_answer_is_json_with_the_evaluation_id(client, refunds):
    response = post(client, gate_body())
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["evaluation"]
