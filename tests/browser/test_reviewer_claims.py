"""Two reviewers in two browsers: the queue's one-click Open claims a free case, the second
reviewer sees who holds it and until when, and a stale page says what happened instead of
failing. A reviewer who escalated a case still opens it, read-only, from "Cases I escalated".
"""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from oversight.models import CaseStatus
from oversight.roles import REVIEWER
from oversight.services.cases import claim_case, take_over_claim
from oversight.services.decisions import DecisionInput, decide_case
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    JourneyFactory,
    UserFactory,
)

# serialized_rollback: the roles (groups) come from a data migration, which the flush after
# each transaction=True test would otherwise leave empty for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

QUEUE = "/admin/oversight/case/queue/"


@pytest.fixture
def world():
    """A refunds journey, two reviewers of the same level, a team lead above them."""
    journey = JourneyFactory(slug="refunds", name="Refunds")
    reviewer = AuthorityLevelFactory(name="Reviewer", rank=1)
    lead = AuthorityLevelFactory(name="Team lead", rank=3, may_override=True)
    people = {}
    for username, first, last, level in (
        ("rhea", "Rhea", "Ray", reviewer),
        ("rita", "Rita", "Roe", reviewer),
        ("lee", "Lee", "Lang", lead),
    ):
        user = UserFactory(username=username, first_name=first, last_name=last, is_staff=True)
        user.groups.add(Group.objects.get(name=REVIEWER))
        AuthorityGrantFactory(
            user=user,
            level=level,
            journey=journey,
            valid_from=timezone.now() - datetime.timedelta(days=30),
        )
        people[username] = user
    case = CaseFactory(
        journey=journey,
        required_level=reviewer,
        action_type="refund_delivery_fee",
        context={"order_id": "A-1001", "note": "parcel arrived late"},
        options=["refund_delivery_fee", "decline"],
    )
    return {"case": case, **people}


def sign_in_to_queue(page, live_server, username: str) -> None:
    """The login form, straight on to the queue (where a reviewer's day starts)."""
    page.goto(f"{live_server.url}/admin/login/?next={QUEUE}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{QUEUE}")


def row_of(page, case):
    return page.locator("#queue tbody tr").filter(has=page.locator(f'a[href*="{case.pk}"]'))


def test_the_second_reviewer_sees_who_holds_the_case_and_a_stale_page_says_what_happened(
    browser, live_server, world
):
    case = world["case"]
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    sign_in_to_queue(first, live_server, "rhea")
    sign_in_to_queue(second, live_server, "rita")

    # Rita's page shows the case free, with its claim button, while Rhea opens it from her queue.
    second.goto(f"{live_server.url}/admin/oversight/case/{case.pk}/review/")
    expect(second.get_by_role("button", name="Claim it to decide")).to_be_visible()
    expect(row_of(first, case)).to_contain_text("Refund delivery fee")
    row_of(first, case).get_by_role("button", name="Open").click()
    expect(first.locator("#claim-state")).to_contain_text("You hold this case")
    expect(first.locator("#decision-form")).to_be_visible()

    # Rita's stale claim: a clear message on the case page, nothing recorded.
    second.get_by_role("button", name="Claim it to decide").click()
    expect(second.locator(".messagelist .error")).to_contain_text(
        "This case is claimed by Rhea Ray until"
    )
    expect(second.locator(".messagelist .error")).to_contain_text("nothing was recorded")
    expect(second.locator(".messagelist .success")).to_have_count(0)
    case.refresh_from_db()
    assert case.claimed_by == world["rhea"]

    # From her queue, Rita sees the holder by name; Open shows the case to read, saying who.
    second.goto(f"{live_server.url}{QUEUE}")
    expect(row_of(second, case)).to_contain_text("Rhea Ray")
    row_of(second, case).get_by_role("button", name="Open").click()
    expect(second.locator(".messagelist")).to_contain_text("Rhea Ray holds this case since")
    expect(second.locator("#claim-state")).to_contain_text("Claimed by Rhea Ray")
    expect(second.locator("#claim-state")).to_contain_text("once their claim lapses at")
    expect(second.get_by_text("Claim the case to decide it.")).to_have_count(0)
    expect(second.locator("#decision-form")).to_have_count(0)

    # Rhea's decision form is open when the team lead takes over and decides: her stale submit
    # lands on the case with who decided, when, and that nothing was recorded.
    take_over_claim(case=case, user=world["lee"], reason="VIP customer")
    decide_case(case=case, reviewer=world["lee"], decision=DecisionInput(outcome="approve"))
    first.locator("#decision-form").get_by_role("radio", name=re.compile("Approve")).first.check()
    first.locator("#decision-form [type=submit]").first.click()
    message = first.locator(".messagelist .error")
    expect(message).to_contain_text(
        re.compile(r"Decided by Lee Lang at \d\d:\d\d \w+ \(Approve the proposal\) while your")
    )
    expect(message).to_contain_text("nothing was recorded")
    expect(first.locator("#claim-state")).to_contain_text("Decided")
    case.refresh_from_db()
    assert (case.status, case.decisions.count()) == (CaseStatus.DECIDED, 1)
    first.context.close()
    second.context.close()


def test_a_reviewer_opens_a_case_they_escalated_read_only(page, live_server, world):
    case = world["case"]
    claim_case(case=case, reviewer=world["rhea"])
    decide_case(
        case=case,
        reviewer=world["rhea"],
        decision=DecisionInput(outcome="escalate", rationale="The customer threatens to sue."),
    )
    sign_in_to_queue(page, live_server, "rhea")

    expect(page.locator("#queue")).to_have_count(0)  # gone from her waiting queue
    page.get_by_role("link", name="Cases I escalated (1)").click()
    page.locator("#past-cases").get_by_role("link", name="Refunds").click()

    expect(page.locator("#read-only")).to_contain_text("Read-only.")
    expect(page.locator("#what-it-saw")).to_contain_text("parcel arrived late")
    expect(page.locator("#history")).to_contain_text("The customer threatens to sue.")
    expect(page.locator("#history")).to_contain_text("Rhea Ray (you)")
    expect(page.locator("#decision-form")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Claim"))).to_have_count(0)


def test_from_login_to_a_decided_case_in_four_clicks(page, live_server, world):
    """Login, Open, Approve, submit: four clicks and four page loads (six of each before)."""
    loads = []
    page.on(
        "framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else 0
    )
    page.goto(f"{live_server.url}/admin/login/?next={QUEUE}")
    page.get_by_label("Username").fill("rhea")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()  # click 1
    page.wait_for_url(f"{live_server.url}{QUEUE}")
    row_of(page, world["case"]).get_by_role("button", name="Open").click()  # click 2
    expect(page.locator("#decision-form")).to_be_visible()
    page.locator("#decision-form").get_by_role(
        "radio", name=re.compile("Approve")
    ).first.check()  # click 3
    page.locator("#decision-form [type=submit]").first.click()  # click 4
    page.wait_for_url(re.compile(r"/admin/oversight/case/"))
    expect(page.locator(".messagelist .success")).to_contain_text("decided")

    world["case"].refresh_from_db()
    assert world["case"].status == CaseStatus.DECIDED
    # login page, the queue, the case (claimed), the queue after the decision
    assert len(loads) == 4, loads
