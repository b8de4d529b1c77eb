"""A live product for the Python client: an AI system with a key, a journey whose
low-confidence point routes to a person, and a reviewer who may decide it."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from audit.services.ledger import Actor
from oversight.services.credentials import create_api_key, rotate_webhook_secret
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    JudgementPointFactory,
    TriggerConditionFactory,
    UserFactory,
)


@dataclass
class Product:
    url: str
    key: str
    secret: str
    journey: object
    reviewer: object


@pytest.fixture
def product(live_server, transactional_db):
    system = AISystemFactory(slug="support-assistant")
    _, key = create_api_key(ai_system=system, name="client", actor=Actor.system("test"))
    secret = rotate_webhook_secret(ai_system=system, actor=Actor.system("test"))
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
    return Product(live_server.url, key, secret, journey, reviewer)
