"""My queue: only decidable cases, most urgent first, filters, tabs, counts, fixed query count."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oversight.models import Case, CaseStatus, Priority, RouteReason
from oversight.roles import REVIEWER
from oversight.services.authority import decidable_cases
from tests.factories import (
    AuthorityGrantFactory,
    CaseFactory,
    JourneyFactory,
    JudgementPointFactory,
    StaffUserFactory,
    SuperUserFactory,
    UserFactory,
)
from tests.oversight.reviewing.workspace import QUEUE_URL, html, log_in, review_url

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def listed(response) -> list[str]:
    """The ids of the cases in the queue table, in the order shown."""
    table = html(response).split('id="queue"', 1)
    if len(table) == 1:
        return []
    ids = re.findall(r"/admin/oversight/case/([0-9a-f-]{36})/review/", table[1])
    return list(dict.fromkeys(ids))


def ids(*cases) -> list[str]:
    return [str(case.pk) for case in cases]


@pytest.fixture
def open_case(journey, levels):
    def make(**fields):
        return CaseFactory(journey=journey, required_level=levels["reviewer"], **fields)

    return make


def test_the_queue_lists_only_cases_the_reviewer_may_decide_most_urgent_first(
    client, open_case, journey, levels, reviewer
):
    now = timezone.now()
    later = open_case(sla_deadline=now + 3 * HOUR, priority=Priority.URGENT)
    soon_normal = open_case(sla_deadline=now + HOUR, priority=Priority.NORMAL)
    soon_urgent = open_case(sla_deadline=now + HOUR, priority=Priority.URGENT)
    overdue = open_case(sla_deadline=now - HOUR, priority=Priority.LOW)
    CaseFactory(journey=journey, required_level=levels["lead"])  # above the reviewer's level
    CaseFactory(required_level=levels["reviewer"])  # another journey: no grant there
    open_case(status=CaseStatus.DECIDED, decided_at=now)  # decided: not waiting

    response = log_in(client, reviewer).get(QUEUE_URL)

    assert response.status_code == 200
    assert listed(response) == ids(overdue, soon_urgent, soon_normal, later)


def test_each_row_says_journey_why_priority_sla_state_claim_and_amount(
    client, open_case, journey, reviewer
):
    point = JudgementPointFactory(journey=journey, name="Low confidence on a refund")
    case = open_case(
        priority=Priority.HIGH,
        amount=Decimal("89.99"),
        currency="GBP",
        confidence_reasons=["Two card payments found.", "Second reason."],
        sla_deadline=timezone.now() + 2 * HOUR + datetime.timedelta(minutes=5),
    )
    case.judgement_points.add(point)
    breached = open_case(
        sla_deadline=timezone.now() - 2 * HOUR,
        status=CaseStatus.CLAIMED,
        claimed_by=reviewer,
        claim_expires_at=timezone.now() + HOUR,
    )

    page = html(log_in(client, reviewer).get(QUEUE_URL))

    row = page.split(str(case.pk))[1].split("</tr>")[0]
    assert "Refunds" in row
    assert "Low confidence on a refund" in row
    assert "Two card payments found." in row
    assert "High" in row
    assert "2 h 4 min left" in row or "2 h 5 min left" in row
    assert "Open" in row
    assert "89.99 GBP" in row
    breached_row = page.split(str(breached.pk))[1].split("</tr>")[0]
    assert "breached 2 h 0 min ago" in breached_row or "breached 1 h 59 min ago" in breached_row
    assert "rhea (you)" in breached_row
    assert "Claimed" in breached_row


def test_sample_audits_have_their_own_tab_and_never_crowd_out_live_cases(
    client, open_case, reviewer
):
    now = timezone.now()
    live = open_case(sla_deadline=now + 4 * HOUR)
    audits = [
        open_case(route_reason=RouteReason.SAMPLE_AUDIT, sla_deadline=now + HOUR) for _ in range(3)
    ]
    log_in(client, reviewer)

    live_tab = client.get(QUEUE_URL)
    audit_tab = client.get(QUEUE_URL, {"tab": "audit"})

    assert listed(live_tab) == ids(live)
    assert set(listed(audit_tab)) == set(ids(*audits))
    assert "Live cases (1 waiting)" in html(live_tab)
    assert "Sample audits (3 waiting)" in html(live_tab)
    assert "agree or disagree" in html(audit_tab)


def test_filters_narrow_the_queue(client, open_case, journey, levels, reviewer):
    other_journey = JourneyFactory(ai_system=journey.ai_system, name="Billing disputes")
    AuthorityGrantFactory(user=reviewer, level=levels["reviewer"], journey=other_journey)
    point = JudgementPointFactory(journey=journey, name="Upset customer")
    now = timezone.now()
    with_point = open_case()
    with_point.judgement_points.add(point)
    asked_human = open_case(route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN)
    breached = open_case(sla_deadline=now - HOUR)
    breached_before = open_case(sla_breached_at=now - HOUR, sla_deadline=now + HOUR)
    escalated = open_case(status=CaseStatus.ESCALATED, review_round=2)
    billing = CaseFactory(journey=other_journey, required_level=levels["reviewer"])
    log_in(client, reviewer)

    def shown(**params):
        return set(listed(client.get(QUEUE_URL, params)))

    assert shown(journey=str(other_journey.pk)) == set(ids(billing))
    assert shown(judgement_point=str(point.pk)) == set(ids(with_point))
    assert shown(route_reason=RouteReason.CUSTOMER_REQUESTED_HUMAN) == set(ids(asked_human))
    assert shown(state=CaseStatus.ESCALATED) == set(ids(escalated))
    assert shown(sla="breached") == set(ids(breached, breached_before))
    assert shown(sla="on_time") == set(ids(with_point, asked_human, escalated, billing))
    assert shown(journey=str(journey.pk), sla="breached") == set(ids(breached, breached_before))


def test_decided_cases_show_only_when_asked_for(client, open_case, reviewer):
    waiting = open_case()
    decided = open_case(status=CaseStatus.DECIDED, decided_at=timezone.now())
    log_in(client, reviewer)

    assert listed(client.get(QUEUE_URL)) == ids(waiting)
    assert listed(client.get(QUEUE_URL, {"state": CaseStatus.DECIDED})) == ids(decided)


def test_a_filter_value_that_is_not_a_choice_is_ignored(client, open_case, reviewer):
    case = open_case()

    response = log_in(client, reviewer).get(
        QUEUE_URL, {"journey": "not-a-journey", "state": "bogus", "sla": "x", "page": "abc"}
    )

    assert response.status_code == 200
    assert listed(response) == ids(case)


def test_the_queue_counts_cases_per_state_under_the_other_filters(
    client, open_case, reviewer, senior
):
    open_case()
    open_case()
    open_case(status=CaseStatus.CLAIMED, claimed_by=senior, claim_expires_at=timezone.now() + HOUR)
    open_case(status=CaseStatus.DECIDED, decided_at=timezone.now())
    open_case(route_reason=RouteReason.SAMPLE_AUDIT)  # the other tab

    page = html(log_in(client, reviewer).get(QUEUE_URL))

    assert "All waiting: 3" in page
    assert "Open: 2" in page
    assert "Claimed: 1" in page
    assert "Escalated: 0" in page
    assert "Decided: 1" in page


def test_the_queue_is_paginated(client, open_case, reviewer):
    for _ in range(55):
        open_case()
    log_in(client, reviewer)

    first = client.get(QUEUE_URL)
    second = client.get(QUEUE_URL, {"page": 2})

    assert len(listed(first)) == 50
    assert len(listed(second)) == 5
    assert "page 2 of 2" in html(second)


def _bulk_cases(journey, level, point, count: int, claimed_by) -> None:
    """`count` waiting cases, inserted at once (a read-side test needs no history rows)."""
    now = timezone.now()
    cases = Case.objects.bulk_create(
        Case(
            journey=journey,
            required_level=level,
            route_reason=RouteReason.SAMPLE_AUDIT if n % 10 == 0 else RouteReason.TRIGGER,
            status=CaseStatus.CLAIMED if n % 7 == 0 else CaseStatus.OPEN,
            claimed_by=claimed_by if n % 7 == 0 else None,
            claim_expires_at=now + HOUR if n % 7 == 0 else None,
            confidence_reasons=[f"reason {n}"],
            amount=Decimal(n),
            currency="EUR",
            subject_ref=f"cust-{n}",
            sla_deadline=now + datetime.timedelta(minutes=n + 1),
        )
        for n in range(count)
    )
    Case.judgement_points.through.objects.bulk_create(
        Case.judgement_points.through(case_id=case.pk, judgementpoint_id=point.pk) for case in cases
    )


@pytest.mark.parametrize("cases", [5, 500])
def test_the_queue_costs_the_same_queries_for_5_or_500_cases(
    client, journey, levels, reviewer, django_assert_num_queries, cases
):
    point = JudgementPointFactory(journey=journey)
    _bulk_cases(journey, levels["reviewer"], point, cases, claimed_by=reviewer)
    log_in(client, reviewer)
    client.get(QUEUE_URL)  # warm the caches (content types, permissions of the session)
    # The authority look-up belongs to the authority service; counted so this pins our own.
    with CaptureQueriesContext(connection) as authority:
        list(decidable_cases(reviewer)[:1])
    authority_queries = len(authority) - 1  # less the probe's own SELECT

    # session, user, 2 × permissions, journeys and points to filter by, page count, rows,
    # their points, counts per tab, counts of the cases I escalated / decided, counts per state
    with django_assert_num_queries(authority_queries + 12):
        response = client.get(QUEUE_URL, {"journey": str(journey.pk), "sla": "on_time"})

    live = cases - len(range(0, cases, 10))
    assert len(listed(response)) == min(50, live)


def test_a_superuser_without_grants_sees_an_empty_queue(client, open_case):
    open_case()
    client.force_login(SuperUserFactory(username="root"))

    response = client.get(QUEUE_URL)

    assert response.status_code == 200
    assert listed(response) == []
    assert "Nothing is waiting for you" in html(response)


def test_staff_who_may_not_view_cases_are_refused(client, open_case):
    open_case()
    client.force_login(StaffUserFactory(username="trainee"))

    assert client.get(QUEUE_URL).status_code == 403


def test_the_queue_needs_a_login(client):
    response = client.get(QUEUE_URL)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_admin_index_and_the_case_list_lead_to_the_queue(client, open_case, reviewer):
    open_case()
    log_in(client, reviewer)

    index = html(client.get("/admin/"))
    changelist = html(client.get("/admin/oversight/case/"))

    assert f'href="{QUEUE_URL}"' in index
    assert "1 live case" in index
    assert f'href="{QUEUE_URL}"' in changelist


def test_the_index_shows_no_queue_to_people_who_may_not_view_cases(client):
    user = UserFactory(username="hr", is_staff=True)
    user.groups.add(Group.objects.get(name="Trainer"))
    client.force_login(user)

    assert QUEUE_URL not in html(client.get("/admin/"))


def test_each_row_links_to_the_decision_screen(client, open_case, reviewer):
    case = open_case()

    page = html(log_in(client, reviewer).get(QUEUE_URL))

    assert review_url(case) in page


def test_reviewer_group_is_what_opens_the_admin(reviewer):
    # The workspace relies on the Reviewer role's permission to view cases.
    assert Group.objects.get(name=REVIEWER).permissions.filter(codename="view_case").exists()
