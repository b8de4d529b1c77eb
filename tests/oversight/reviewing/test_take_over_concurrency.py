"""Two team leads taking over one claimed case at the same moment: exactly one wins.

PostgreSQL row locks; SQLite serialises writers itself, so this runs in the PostgreSQL pass.
"""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import Case
from oversight.services.cases import claim_case, take_over_claim
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    JourneyFactory,
    UserFactory,
)
from tests.oversight.reviewing.test_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def holder(name, level, journey):
    user = UserFactory(username=name)
    AuthorityGrantFactory(
        user=user,
        level=level,
        journey=journey,
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    return user


def test_two_take_overs_at_once_exactly_one_wins(postgres_only):
    reviewer_level = AuthorityLevelFactory(name="Reviewer", rank=1)
    lead_level = AuthorityLevelFactory(name="Team lead", rank=3, may_override=True)
    journey = JourneyFactory()
    ana = holder("ana", reviewer_level, journey)
    lee = holder("lee", lead_level, journey)
    lou = holder("lou", lead_level, journey)
    case = CaseFactory(journey=journey, required_level=reviewer_level, amount=None, callback_url="")
    claim_case(case=case, reviewer=ana)

    results = run_together(
        lambda: take_over_claim(case=case, user=lee, reason="Ana is off sick."),
        lambda: take_over_claim(case=case, user=lou, reason="Ana is off sick."),
    )

    assert sorted(kind for kind, _ in results) == ["ok", "refused"], results
    [message] = [detail for kind, detail in results if kind == "refused"]
    case.refresh_from_db()
    winner = case.claimed_by.get_username()
    assert winner in ("lee", "lou")
    assert message == (
        f"{winner} holds Team lead on this journey; taking over needs a higher level than that, "
        "and you hold Team lead."
    )
    assert AuditEvent.objects.filter(action="case.claim_taken_over").count() == 1
    taken = Case.history.filter(id=case.id, history_change_reason__startswith="claim taken over")
    assert taken.count() == 1
