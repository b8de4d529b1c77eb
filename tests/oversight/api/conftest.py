import random

import pytest
from rest_framework.test import APIClient

from audit.services.ledger import Actor
from oversight.services import gate
from oversight.services.credentials import create_api_key
from tests.factories import (
    AISystemFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    JudgementPointFactory,
    TriggerConditionFactory,
)


@pytest.fixture(autouse=True)
def seeded_sampling(monkeypatch):
    """Sampling draws from a seeded source so every run routes the same way."""
    monkeypatch.setattr(gate, "sampling_random", random.Random(1234))


@pytest.fixture
def ai_system(db):
    return AISystemFactory(slug="support-assistant", name="Support assistant")


@pytest.fixture
def api_key(ai_system):
    _, plain = create_api_key(ai_system=ai_system, name="tests", actor=Actor.system("tests"))
    return plain


@pytest.fixture
def client(api_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return api


@pytest.fixture
def levels(db):
    return {
        "reviewer": AuthorityLevelFactory(name="Reviewer", rank=1),
        "senior": AuthorityLevelFactory(name="Senior reviewer", rank=2, may_override=True),
        "lead": AuthorityLevelFactory(
            name="Team lead", rank=3, may_override=True, may_approve_irreversible=True
        ),
    }


@pytest.fixture
def refunds(ai_system, levels):
    """A refunds journey with the reference article's judgement points."""
    journey = JourneyFactory(
        ai_system=ai_system, slug="refunds", name="Refunds", required_context_keys=["order_id"]
    )
    low = JudgementPointFactory(
        journey=journey,
        slug="low-confidence",
        name="Low confidence",
        required_level=levels["reviewer"],
        sla_minutes=120,
        options=["refund in full", "partial refund", "decline"],
    )
    TriggerConditionFactory(judgement_point=low, signal="confidence", operator="lt", value=0.7)
    irreversible = JudgementPointFactory(
        journey=journey,
        slug="irreversible-action",
        name="Irreversible action",
        required_level=levels["lead"],
        sla_minutes=60,
        priority=3,
    )
    TriggerConditionFactory(
        judgement_point=irreversible, signal="irreversible", operator="is_true", value=None
    )
    upset = JudgementPointFactory(
        journey=journey,
        slug="emotional-customer",
        name="Upset customer",
        required_level=levels["senior"],
    )
    TriggerConditionFactory(judgement_point=upset, signal="sentiment", operator="lt", value=-0.5)
    return journey


@pytest.fixture
def identity(ai_system, levels):
    """Identity mismatch AND recent fraud attempts: fires only together."""
    journey = JourneyFactory(ai_system=ai_system, slug="identity-verification")
    point = JudgementPointFactory(
        journey=journey,
        slug="identity-fraud-combination",
        name="Identity mismatch with recent fraud",
        combinator="all",
        four_eyes=True,
        required_level=levels["lead"],
    )
    TriggerConditionFactory(
        judgement_point=point, signal="identity_mismatch", operator="is_true", value=None
    )
    TriggerConditionFactory(
        judgement_point=point, signal="recent_fraud_attempts", operator="gte", value=1
    )
    return journey


def gate_body(journey="refunds", **overrides):
    body = {
        "journey": journey,
        "action": {"type": "refund", "amount": "40.00", "currency": "EUR"},
        "signals": {"confidence": 0.95, "sentiment": 0.1},
        "context": {"order_id": "A-10023"},
        "proposal": {"reply": "Your refund of 40.00 EUR is on its way."},
        "subject_ref": "cust-4821",
    }
    body.update(overrides)
    return body
