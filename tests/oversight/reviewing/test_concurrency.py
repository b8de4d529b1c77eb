"""Two reviewers acting on one case at the same moment: exactly one wins (PostgreSQL row locks).

SQLite serialises writers itself, so these run in CI's PostgreSQL pass only.
"""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from oversight.exceptions import DomainError
from oversight.models import CaseStatus, Decision
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    JourneyFactory,
    UserFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*calls):
    """Start every call at once, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def runner(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except DomainError as error:
            results[index] = ("refused", error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def setting(postgres_only):
    level = AuthorityLevelFactory(name="Reviewer", rank=1)
    journey = JourneyFactory()
    people = []
    for name in ("ana", "ben"):
        user = UserFactory(username=name)
        AuthorityGrantFactory(
            user=user,
            level=level,
            journey=journey,
            valid_from=timezone.now() - datetime.timedelta(days=1),
        )
        people.append(user)
    case = CaseFactory(journey=journey, required_level=level, amount=None, callback_url="")
    return case, people


def test_two_claims_at_once_exactly_one_wins(setting):
    case, (ana, ben) = setting
    for _ in range(3):
        results = run_together(
            lambda: claim_case(case=case, reviewer=ana),
            lambda: claim_case(case=case, reviewer=ben),
        )
        outcomes = sorted(kind for kind, _ in results)
        assert outcomes == ["ok", "refused"], results
        [message] = [detail for kind, detail in results if kind == "refused"]
        assert "is claimed by" in message
        case.refresh_from_db()
        winner = case.claimed_by
        from oversight.services.cases import release_case

        release_case(case=case, reviewer=winner)


def test_two_decisions_at_once_exactly_one_is_recorded(setting):
    case, (ana, _) = setting
    claim_case(case=case, reviewer=ana)
    results = run_together(
        lambda: decide_case(case=case, reviewer=ana, decision=DecisionInput(outcome="approve")),
        lambda: decide_case(case=case, reviewer=ana, decision=DecisionInput(outcome="approve")),
    )
    assert sorted(kind for kind, _ in results) == ["ok", "refused"], results
    [message] = [detail for kind, detail in results if kind == "refused"]
    assert message == "This case has already been decided."
    assert Decision.objects.filter(case=case).count() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
