"""Idempotency-Key: a retried POST creates nothing new; a reused key with a new body is a 409."""

from audit.models import AuditEvent
from oversight.models import Case, GateEvaluation, IdempotencyRecord
from tests.oversight.api.conftest import gate_body


def counts():
    return (GateEvaluation.objects.count(), Case.objects.count(), AuditEvent.objects.count())


def test_a_retried_gate_call_returns_the_first_answer_and_creates_nothing(client, refunds):
    body = gate_body(signals={"confidence": 0.3})
    first = client.post("/api/v1/gate/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 202
    after_first = counts()
    again = client.post("/api/v1/gate/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert counts() == after_first == (1, 1, after_first[2])


def test_a_retried_case_creation_does_not_open_a_second_case(client, refunds):
    body = gate_body(reason="system_unsure")
    first = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="case-1")
    again = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="case-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1


def test_the_same_key_with_a_different_body_is_a_conflict(client, refunds):
    client.post("/api/v1/gate/", gate_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    before = counts()
    response = client.post(
        "/api/v1/gate/",
        gate_body(subject_ref="cust-9999"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert counts() == before


def test_refused_requests_are_not_remembered(client, refunds):
    bad = client.post(
        "/api/v1/gate/", gate_body(journey="nope"), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert bad.status_code == 404
    assert IdempotencyRecord.objects.count() == 0
    good = client.post("/api/v1/gate/", gate_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 200


def test_keys_are_per_ai_system(client, refunds):
    from rest_framework.test import APIClient

    from audit.services.ledger import Actor
    from oversight.services.credentials import create_api_key
    from tests.factories import AISystemFactory, JourneyFactory

    other = AISystemFactory(slug="other-bot")
    JourneyFactory(ai_system=other, slug="refunds")
    _, other_key = create_api_key(ai_system=other, name="x", actor=Actor.system("t"))
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    body = gate_body(context={})
    client.post("/api/v1/gate/", gate_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = other_client.post(
        "/api/v1/gate/", body, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert response.status_code == 200
    assert GateEvaluation.objects.count() == 2


def test_an_overlong_key_is_refused(client, refunds):
    response = client.post(
        "/api/v1/gate/", gate_body(), format="json", HTTP_IDEMPOTENCY_KEY="x" * 300
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert GateEvaluation.objects.count() == 0


def test_a_post_without_a_key_is_carried_out_once_with_a_warning_header(client, refunds):
    from oversight.models import GateEvaluation

    body = {
        "journey": "refunds",
        "action": {"type": "refund", "amount": "5.00", "currency": "EUR"},
        "signals": {"confidence": 0.9},
        "context": {"order_id": "A-1"},
    }
    response = client.post("/api/v1/gate/", body, format="json")
    assert response.status_code == 200
    assert "No Idempotency-Key" in response["X-HITL-Warning"]
    assert GateEvaluation.objects.count() == 1
    keyed = client.post("/api/v1/gate/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert "X-HITL-Warning" not in keyed
