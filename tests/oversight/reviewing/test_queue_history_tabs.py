""" "Cases I escalated" and "Decided by me": the reviewer keeps track of their cases and opens
them read-only once out of reach; nobody else gains anything (invariant 10)."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oversight.models import Case, CaseStatus, Decision, DecisionOutcome, DecisionStage
from oversight.services.cases import claim_case
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import CaseFactory, StaffUserFactory
from tests.oversight.reviewing.conftest import person
from tests.oversight.reviewing.workspace import QUEUE_URL, html, log_in, review_url, section

pytestmark = pytest.mark.django_db


def escalate(case, who, note="Customer threatens to sue."):
    claim_case(case=case, reviewer=who)
    decide_case(case=case, reviewer=who, decision=DecisionInput(outcome="escalate", rationale=note))


def approve(case, who):
    claim_case(case=case, reviewer=who)
    decide_case(case=case, reviewer=who, decision=DecisionInput(outcome="approve"))


def tab_rows(response) -> str:
    return html(response).split('id="past-cases"', 1)[1].split("</table>", 1)[0]


@pytest.fixture
def named(reviewer, senior):
    reviewer.first_name, reviewer.last_name = "Rhea", "Ray"
    reviewer.save()
    senior.first_name, senior.last_name = "Sam", "Lee"
    senior.save()


def test_an_escalated_case_is_listed_under_cases_i_escalated_and_opens_read_only(
    client, case, reviewer, senior, named
):
    case.action_type = "refund_delivery_fee"
    case.context = {"order_id": "A-77", "note": "parcel lost"}
    case.save()
    escalate(case, reviewer)
    approve(case, senior)  # what happened next
    log_in(client, reviewer)

    queue = client.get(QUEUE_URL)
    escalated = client.get(QUEUE_URL, {"tab": "escalated"})
    screen = client.get(review_url(case))

    assert "Cases I escalated (1)" in html(queue)
    assert "Decided by me (0)" in html(queue)
    rows = tab_rows(escalated)
    assert review_url(case) in rows
    assert "Refund delivery fee" in rows
    assert "Escalate to a higher authority" in rows
    assert "Approve the proposal by Sam Lee" in rows
    assert screen.status_code == 200
    page = html(screen)
    assert "Read-only." in page
    assert "parcel lost" in section(screen, "what-it-saw")
    history = section(screen, "history")
    assert "Rhea Ray (you)" in history and "Sam Lee" in history
    assert "Customer threatens to sue." in history
    assert "Decided</strong>" in page and "by Sam Lee" in page
    for absent in ('id="decision-form"', "Claim it to decide", "Claim this case", "Take over"):
        assert absent not in page
    assert "Full record of this case" not in page  # the change page stays out of reach


def test_a_decided_case_is_listed_under_decided_by_me(client, case, reviewer):
    approve(case, reviewer)
    other = CaseFactory(journey=case.journey, required_level=case.required_level)
    log_in(client, reviewer)

    decided = client.get(QUEUE_URL, {"tab": "decided"})

    assert "Decided by me (1)" in html(decided)
    rows = tab_rows(decided)
    assert review_url(case) in rows and review_url(other) not in rows
    assert "Approve the proposal" in rows
    assert client.get(QUEUE_URL, {"tab": "escalated"}).status_code == 200
    assert "You have not escalated any case." in html(client.get(QUEUE_URL, {"tab": "escalated"}))


def test_a_stranger_cannot_open_the_case_read_only(client, case, reviewer, levels, journey):
    escalate(case, reviewer)
    stranger = StaffUserFactory(username="stan")
    colleague = person("rita", levels["reviewer"], journey)  # same grant, no decision on it

    for user in (stranger, colleague):
        browser = log_in(Client(), user)
        screen = browser.get(review_url(case))
        assert screen.status_code == 403
        assert "Customer threatens to sue." not in html(screen)
        assert review_url(case) not in html(browser.get(QUEUE_URL, {"tab": "escalated"}))


def test_reading_your_case_does_not_widen_the_case_admin_or_its_history(client, case, reviewer):
    escalate(case, reviewer)
    log_in(client, reviewer)

    assert client.get(review_url(case)).status_code == 200
    for name in ("oversight_case_change", "oversight_case_history"):
        assert client.get(reverse(f"admin:{name}", args=[case.pk])).status_code in (403, 404)
    assert str(case.pk) not in html(client.get(reverse("admin:oversight_case_changelist")))


def test_staff_who_may_not_view_cases_cannot_read_their_old_cases(client, case, reviewer):
    escalate(case, reviewer)
    reviewer.groups.clear()
    client.force_login(reviewer)

    assert client.get(review_url(case)).status_code == 403
    assert client.get(QUEUE_URL, {"tab": "escalated"}).status_code == 403


def _bulk_escalated(reviewer, journey, levels, count: int) -> None:
    """`count` cases the reviewer escalated and a senior took, inserted at once (read side)."""
    now = timezone.now()
    cases = Case.objects.bulk_create(
        Case(
            journey=journey,
            required_level=levels["senior"],
            route_reason="trigger",
            status=CaseStatus.ESCALATED,
            review_round=2,
            action_type="refund_delivery_fee",
            sla_deadline=now + datetime.timedelta(hours=4),
        )
        for _ in range(count)
    )
    Decision.objects.bulk_create(
        Decision(
            case=case,
            reviewer=reviewer,
            outcome=DecisionOutcome.ESCALATE,
            stage=DecisionStage.FIRST,
            review_round=1,
            authority_level=levels["reviewer"],
            rationale="Above my level.",
            decided_at=now - datetime.timedelta(minutes=n),
        )
        for n, case in enumerate(cases)
    )


@pytest.mark.parametrize("count", [10, 200])
@pytest.mark.parametrize("tab", ["escalated", "decided"])
def test_the_tabs_cost_the_same_queries_for_10_or_200_cases(
    client, reviewer, journey, levels, django_assert_max_num_queries, count, tab
):
    _bulk_escalated(reviewer, journey, levels, count)
    log_in(client, reviewer)
    client.get(QUEUE_URL)  # warm the session's caches

    # session, user, 2 × permissions, the authority look-up (grants, records, guardian), the
    # filter choices, page count, rows, their decisions, their points, the tab counts: the same
    # bound for 10 cases or 200.
    with django_assert_max_num_queries(16):
        response = client.get(QUEUE_URL, {"tab": tab})

    assert response.status_code == 200
    if tab == "escalated":
        assert f"Cases I escalated ({count})" in html(response)
        assert html(response).count("/review/") >= min(count, 50)
        assert "page 1 of" in html(response) or count <= 50


def test_the_tabs_are_paginated(client, reviewer, journey, levels):
    _bulk_escalated(reviewer, journey, levels, 55)
    log_in(client, reviewer)

    second = client.get(QUEUE_URL, {"tab": "escalated", "page": 2})

    assert "page 2 of 2" in html(second)
    assert tab_rows(second).count("/review/") == 5
