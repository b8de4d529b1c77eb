"""A page that was out of date when its button was pressed: the reviewer lands on the case with
what happened, in names and local times, and the assurance that nothing was recorded. Never a
bare 403 page, never under a success banner; a stranger learns nothing."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from oversight.models import CaseStatus
from oversight.services.cases import claim_case, sweep_cases
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import StaffUserFactory
from tests.oversight.reviewing.conftest import person
from tests.oversight.reviewing.workspace import html, log_in, review_url, shows, snapshot

pytestmark = pytest.mark.django_db

ACTIONS = ("open", "claim", "release", "take_over", "decide")
# Tomorrow 13:05 UTC, 22:05 in Tokyo (no summer time, so the zone reads JST all year).
NOON_UTC = (timezone.now() + datetime.timedelta(days=1)).replace(
    hour=13, minute=5, second=0, microsecond=0
)
LATER = NOON_UTC + datetime.timedelta(minutes=5)  # the stale page's submit, the same day


@pytest.fixture(autouse=True)
def tokyo(settings):
    settings.TIME_ZONE = "Asia/Tokyo"


@pytest.fixture
def rita(levels, journey):
    user = person("rita", levels["reviewer"], journey)
    user.first_name, user.last_name = "Rita", "Ray"
    user.save()
    return user


@pytest.fixture
def sam(senior):
    senior.first_name, senior.last_name = "Sam", "Lee"
    senior.save()
    return senior


def post(client, case, action):
    data = {"outcome": "approve", "rationale": "x", "reason": "stepping in"}
    return client.post(review_url(case, action), data, follow=True)


def test_a_case_decided_by_someone_else_lands_on_the_case_with_who_and_when(
    client, case, reviewer, sam
):
    log_in(client, reviewer)
    client.get(review_url(case))  # the reviewer's page is open
    with time_machine.travel(NOON_UTC, tick=False):
        claim_case(case=case, reviewer=sam)
        decide_case(case=case, reviewer=sam, decision=DecisionInput(outcome="approve"))

    with time_machine.travel(LATER, tick=False):
        for action in ACTIONS:
            before = snapshot(case)
            response = post(client, case, action)
            assert response.status_code == 200
            assert response.redirect_chain[-1][0] == review_url(case)
            assert shows(
                response,
                "Decided by Sam Lee at 22:05 JST (Approve the proposal) while your page was open; "
                "nothing was recorded.",
            ), action
            assert 'class="success"' not in html(response)
            assert snapshot(case) == before


def test_a_case_you_escalated_lands_on_its_read_only_page(client, case, reviewer):
    claim_case(case=case, reviewer=reviewer)
    decide_case(
        case=case, reviewer=reviewer, decision=DecisionInput(outcome="escalate", rationale="Up.")
    )
    log_in(client, reviewer)

    for action in ACTIONS:
        before = snapshot(case)
        response = post(client, case, action)
        assert response.status_code == 200, action
        assert "Read-only." in html(response)
        assert shows(response, "Escalated by you at ")
        assert shows(response, "to Senior reviewer while your page was open; nothing was recorded.")
        assert snapshot(case) == before


def test_a_case_escalated_by_a_colleague_above_your_level_says_so_on_the_refusal(
    client, case, reviewer, rita
):
    log_in(client, reviewer)
    client.get(review_url(case))
    with time_machine.travel(NOON_UTC, tick=False):
        claim_case(case=case, reviewer=rita)
        decide_case(
            case=case, reviewer=rita, decision=DecisionInput(outcome="escalate", rationale="Up.")
        )

    with time_machine.travel(LATER, tick=False):
        for action in ACTIONS:
            before = snapshot(case)
            response = post(client, case, action)
            # Still outside their authority (invariant 10): a 403, but saying what happened.
            assert response.status_code == 403
            assert shows(
                response,
                "Escalated by Rita Ray at 22:05 JST to Senior reviewer while your page was open; "
                "nothing was recorded. It now needs Senior reviewer.",
            )
            assert "Refund in full." not in html(response)  # nothing of the case itself
            assert snapshot(case) == before


def test_an_escalation_by_the_sla_sweep_is_named_as_such(client, case, reviewer):
    log_in(client, reviewer)
    sweep_cases(now=case.sla_deadline + datetime.timedelta(minutes=1))
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED

    response = post(client, case, "claim")

    assert response.status_code == 403
    assert shows(response, "Escalated automatically (its SLA deadline passed) at ")


def test_a_stranger_learns_nothing_of_what_happened(client, case, rita):
    claim_case(case=case, reviewer=rita)
    decide_case(
        case=case, reviewer=rita, decision=DecisionInput(outcome="escalate", rationale="Up.")
    )
    stranger = log_in(Client(), StaffUserFactory(username="stan"))

    for action in ACTIONS:
        before = snapshot(case)
        response = post(stranger, case, action)
        assert response.status_code == 403
        assert "Rita" not in html(response) and "Escalated by" not in html(response)
        assert snapshot(case) == before


def test_a_lost_claim_says_who_holds_the_case_until_when(client, case, reviewer, lead):
    lead.first_name, lead.last_name = "Lee", "Lang"
    lead.save()
    with time_machine.travel(NOON_UTC, tick=False):
        claim_case(case=case, reviewer=reviewer)
    with time_machine.travel(NOON_UTC + datetime.timedelta(minutes=5), tick=False):
        from oversight.services.cases import take_over_claim

        take_over_claim(case=case, user=lead, reason="VIP customer")
        log_in(client, reviewer)
        before = snapshot(case)
        response = post(client, case, "decide")

    assert response.redirect_chain == [] or response.redirect_chain[-1][0] == review_url(case)
    assert shows(response, "This case is claimed by Lee Lang until ")
    assert shows(response, "JST: you cannot decide it; nothing was recorded.")
    assert snapshot(case) == before
