import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    JourneyFactory,
    OverrideReasonFactory,
    UserFactory,
)


@pytest.fixture
def levels(db):
    return {
        "reviewer": AuthorityLevelFactory(name="Reviewer", rank=1, monetary_limit=Decimal(100)),
        "senior": AuthorityLevelFactory(
            name="Senior reviewer", rank=2, may_override=True, monetary_limit=Decimal(1000)
        ),
        "lead": AuthorityLevelFactory(
            name="Team lead", rank=3, may_override=True, may_approve_irreversible=True
        ),
    }


@pytest.fixture
def journey(db):
    return JourneyFactory(slug="refunds", name="Refunds")


def person(name, level, journey):
    user = UserFactory(username=name, is_staff=True)
    AuthorityGrantFactory(
        user=user,
        level=level,
        journey=journey,
        valid_from=timezone.now() - datetime.timedelta(days=30),
    )
    return user


@pytest.fixture
def reviewer(levels, journey):
    return person("rhea", levels["reviewer"], journey)


@pytest.fixture
def senior(levels, journey):
    return person("sam", levels["senior"], journey)


@pytest.fixture
def lead(levels, journey):
    return person("lee", levels["lead"], journey)


@pytest.fixture
def other_lead(levels, journey):
    return person("lou", levels["lead"], journey)


@pytest.fixture
def reason(db):
    return OverrideReasonFactory(code="policy-exception", label="Policy exception")


@pytest.fixture
def case(journey, levels):
    return CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        amount=Decimal("40.00"),
        proposal={"reply": "Refund in full."},
        options=["refund in full", "partial refund", "decline"],
        callback_url="https://bot.example.com/hook",
    )
