"""Approval tokens: a decision that lets an action proceed carries a signed token binding the
case, the exact action, who decided and an expiry; checked here with the public key alone."""

import base64
import datetime
import hashlib
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import timezone

from oversight.models import CaseStatus
from tests.factories import CaseFactory, DecisionFactory, OverrideReasonFactory, UserFactory

DECIDED_AT = timezone.now().replace(microsecond=0)


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(value) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check(client, token: str) -> dict:
    """Verify like an integrator: the published key, the format prefix, the signature."""
    key = client.get("/api/v1/approval-key/").json()
    assert key["format"] == "hitl-approval/1" and key["algorithm"] == "Ed25519"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    body, signature = token.split(".")
    public.verify(unb64(signature), f"hitl-approval/1.{body}".encode())
    payload = json.loads(unb64(body))
    assert payload["key_id"] == key["key_id"]
    return payload


def decided(journey, outcome, **fields):
    case = CaseFactory(
        journey=journey,
        status=CaseStatus.DECIDED,
        decided_at=DECIDED_AT,
        proposal={"reply": "Full refund."},
        amount="80",
        currency="EUR",
    )
    decision = DecisionFactory(
        case=case,
        outcome=outcome,
        decided_at=DECIDED_AT,
        reviewer=UserFactory(username="sam"),
        **fields,
    )
    return case, decision


def test_an_approval_binds_the_action_and_proposal_as_sent(client, refunds):
    case, decision = decided(refunds, "approve")
    step = client.get(f"/api/v1/cases/{case.id}/").json()["next_step"]
    payload = check(client, step["approval_token"])
    assert payload["case"] == str(case.id)
    assert payload["decision"] == str(decision.id)
    assert payload["decided_by"] == "sam"
    assert payload["outcome"] == "approve"
    assert payload["action_sha256"] == digest(
        {
            "action": {
                "type": "refund",
                "amount": "80.00",
                "currency": "EUR",
                "irreversible": False,
            },
            "proposal": {"reply": "Full refund."},
        }
    )
    assert payload["expires_at"] == (DECIDED_AT + datetime.timedelta(hours=24)).astimezone(
        datetime.UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    again = client.get(f"/api/v1/cases/{case.id}/").json()["next_step"]["approval_token"]
    assert again == step["approval_token"]  # deterministic: nothing stored, nothing drifts


def test_a_modification_binds_the_final_action_and_the_journey_sets_the_expiry(client, refunds):
    refunds.approval_valid_minutes = 30
    refunds.save()
    case, _ = decided(
        refunds,
        "modify",
        final_action={"option": "partial refund", "amount": "40.00"},
        is_override=True,
        override_reason=OverrideReasonFactory(code="policy-exception", label="Policy exception"),
        rationale="Half refund.",
    )
    step = client.get(f"/api/v1/cases/{case.id}/").json()["next_step"]
    payload = check(client, step["approval_token"])
    assert payload["action_sha256"] == digest(
        {"final_action": {"option": "partial refund", "amount": "40.00"}}
    )
    assert payload["expires_at"] == (DECIDED_AT + datetime.timedelta(minutes=30)).astimezone(
        datetime.UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_rejection_has_no_token_and_tells_the_agent_why(client, refunds):
    case, _ = decided(
        refunds,
        "reject",
        is_override=True,
        override_reason=OverrideReasonFactory(code="fraud-risk", label="Fraud risk"),
        rationale="Refunded twice already; the customer wrote from jo@example.com.",
    )
    body = client.get(f"/api/v1/cases/{case.id}/").json()
    assert body["next_step"] == {"instruction": "do_not_proceed", "may_proceed": False}
    assert body["decision"]["override_reason"] == "fraud-risk"
    assert body["decision"]["override_reason_label"] == "Fraud risk"
    assert body["decision"]["rationale"] == (
        "Refunded twice already; the customer wrote from [email]."
    )


def test_a_changed_token_does_not_verify(client, refunds):
    case, _ = decided(refunds, "approve")
    token = client.get(f"/api/v1/cases/{case.id}/").json()["next_step"]["approval_token"]
    body, signature = token.split(".")
    payload = json.loads(unb64(body))
    payload["expires_at"] = "2099-01-01T00:00:00Z"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        check(client, f"{forged}.{signature}")


def test_the_key_needs_an_api_key(refunds):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/approval-key/").status_code == 401
