"""End to end: an AI system asks the gate, a person decides, the system learns the decision by
polling and by a signed webhook to a real endpoint on loopback."""

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.services.ledger import Actor, verify_ledger
from oversight.models import Case, WebhookDelivery
from oversight.services.cases import claim_case
from oversight.services.credentials import create_api_key, rotate_webhook_secret
from oversight.services.decisions import DecisionInput, decide_case
from oversight.services.webhooks import attempt_delivery, verify_signature
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    JudgementPointFactory,
    OverrideReasonFactory,
    TriggerConditionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_gate_routes_a_person_decides_and_the_ai_system_is_told(
    receiver, django_capture_on_commit_callbacks
):
    system = AISystemFactory(slug="support-assistant")
    _, key = create_api_key(ai_system=system, name="e2e", actor=Actor.system("e2e"))
    secret = rotate_webhook_secret(ai_system=system, actor=Actor.system("e2e"))
    level = AuthorityLevelFactory(name="Senior reviewer", rank=2, may_override=True)
    journey = JourneyFactory(ai_system=system, slug="refunds")
    point = JudgementPointFactory(
        journey=journey,
        slug="low-confidence",
        required_level=level,
        options=["refund in full", "partial refund", "decline"],
    )
    TriggerConditionFactory(judgement_point=point, signal="confidence", operator="lt", value=0.7)
    reviewer = UserFactory(username="sam")
    AuthorityGrantFactory(
        user=reviewer,
        level=level,
        journey=journey,
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    answer = api.post(
        "/api/v1/gate/",
        {
            "journey": "refunds",
            "action": {"type": "refund", "amount": "80.00", "currency": "EUR"},
            "signals": {"confidence": 0.41},
            "context": {"order_id": "A-1"},
            "proposal": {"reply": "Full refund."},
            "subject_ref": "cust-1",
            "callback_url": receiver.url,
        },
        format="json",
    )
    assert answer.status_code == 202
    case_url = answer.json()["case"]["url"]
    assert api.get(case_url).json()["next_step"]["instruction"] == "wait"

    case = Case.objects.get(pk=answer.json()["case"]["id"])
    claim_case(case=case, reviewer=reviewer)
    with django_capture_on_commit_callbacks(execute=False):
        decide_case(
            case=case,
            reviewer=reviewer,
            decision=DecisionInput(
                outcome="modify",
                final_action={"option": "partial refund", "amount": "40.00"},
                override_reason=OverrideReasonFactory(code="policy-exception"),
                rationale="Opened item: half refund under the returns policy.",
            ),
        )

    state = api.get(case_url).json()
    assert state["status"] == "decided"
    assert state["decision"]["overridden"] is True
    assert state["next_step"].pop("approval_token")
    assert state["next_step"] == {
        "instruction": "proceed_with_changes",
        "may_proceed": True,
        "action": {"option": "partial refund", "amount": "40.00"},
    }

    delivery = WebhookDelivery.objects.get(case=case)
    attempt_delivery(delivery_id=delivery.id)
    [received] = receiver.requests
    assert verify_signature(
        received.body,
        secret,
        received.headers["X-HITL-Timestamp"],
        received.headers["X-HITL-Signature"],
    )
    sent = json.loads(received.body)
    assert sent["event"] == "case.decided"
    assert sent["sent_for"]["decision"] == state["decision"]
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert verify_ledger().ok
