"""The reviewer's path in a real browser: open a case from the queue, claim it, decide it.

Approve with the keyboard, override with a reason through the modification fields, escalate
with a note (the keys stay quiet while the note is typed), see a bad submission's errors beside
the fields with the case's URL unchanged, and "Decide and open next" with its key.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from oversight.models import Case, CaseStatus, Decision
from oversight.roles import REVIEWER
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    JourneyFactory,
    OverrideReasonFactory,
    UserFactory,
)

# serialized_rollback: the roles (groups) come from a data migration, which the flush after
# each transaction=True test would otherwise leave empty for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

QUEUE = "/admin/oversight/case/queue/"


@pytest.fixture
def journey():
    return JourneyFactory(slug="refunds", name="Refunds")


@pytest.fixture
def levels():
    return {
        "reviewer": AuthorityLevelFactory(name="Reviewer", rank=1, monetary_limit=Decimal(100)),
        "senior": AuthorityLevelFactory(
            name="Senior reviewer", rank=2, may_override=True, monetary_limit=Decimal(1000)
        ),
    }


def person(username, first_name, level, journey):
    user = UserFactory(username=username, first_name=first_name, last_name="Tester", is_staff=True)
    user.groups.add(Group.objects.get(name=REVIEWER))
    AuthorityGrantFactory(
        user=user,
        level=level,
        journey=journey,
        valid_from=timezone.now() - datetime.timedelta(days=30),
    )
    return user


@pytest.fixture
def rhea(levels, journey):
    return person("rhea", "Rhea", levels["reviewer"], journey)


@pytest.fixture
def sam(levels, journey):
    return person("sam", "Sam", levels["senior"], journey)


def waiting_case(journey, levels, minutes=60, **fields):
    return CaseFactory(
        journey=journey,
        required_level=levels["reviewer"],
        amount=Decimal("40.00"),
        proposal={"reply": "Refund in full."},
        options=["refund in full", "partial refund", "decline"],
        sla_deadline=timezone.now() + datetime.timedelta(minutes=minutes),
        **fields,
    )


def open_and_claim(page, live_server, case):
    """From the queue, open the case and claim it: the decision form appears."""
    page.goto(f"{live_server.url}{QUEUE}")
    page.locator(f'a[href$="/case/{case.pk}/review/"]').first.click()
    page.get_by_role("button", name="Claim it to decide").click()
    expect(page.locator("#claim-state")).to_contain_text("You hold this case")
    expect(page.locator("#decision-form")).to_be_visible()
    # The shortcut keys listen once the deferred script has run: never press one before.
    expect(page.locator('#decision-form[data-keys="ready"]')).to_have_count(1)


def review_path(case) -> str:
    return f"/admin/oversight/case/{case.pk}/review/"


def test_a_reviewer_claims_and_approves_with_the_keyboard(
    page, live_server, sign_in, journey, levels, rhea
):
    case = waiting_case(journey, levels)
    sign_in(page, "rhea")
    open_and_claim(page, live_server, case)

    form = page.locator("#decision-form")
    # A level that may not override is not offered modify or reject, and is told why.
    expect(form.get_by_role("radio", name=re.compile("^Modify the proposal"))).to_have_count(0)
    expect(page.locator("#refused-outcomes")).to_contain_text(
        "Your level Reviewer may not override the AI's proposal. Escalate instead."
    )
    expect(form.get_by_text("Approve the proposal (A)")).to_be_visible()
    page.keyboard.press("a")
    expect(form.get_by_role("radio", name=re.compile("^Approve the proposal"))).to_be_checked()
    page.keyboard.press("Control+Enter")

    page.wait_for_url(f"{live_server.url}{QUEUE}")
    expect(page.get_by_text("decided: Approve the proposal.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert Decision.objects.get(case=case).outcome == "approve"


def test_a_senior_overrides_with_a_reason_through_the_fields(
    page, live_server, sign_in, journey, levels, sam
):
    case = waiting_case(journey, levels)
    reason = OverrideReasonFactory(code="used-item", label="Used item")
    sign_in(page, "sam")
    open_and_claim(page, live_server, case)

    form = page.locator("#decision-form")
    form.get_by_role("radio", name=re.compile("^Modify the proposal")).check()
    form.get_by_label("partial refund").check()
    form.get_by_label("Amount (EUR)").fill("20")
    form.get_by_label("Reply or note for the system").fill("We refund half: the item was used.")
    form.get_by_label("Override reason").select_option(label=reason.label)
    form.get_by_label("Rationale").fill("Policy allows half for a used item.")
    form.get_by_role("button", name=re.compile("^Record decision")).click()

    page.wait_for_url(f"{live_server.url}{QUEUE}")
    expect(page.get_by_text("decided: Modify the proposal as an override.")).to_be_visible()
    decision = Decision.objects.get(case=case)
    assert decision.is_override and decision.override_reason == reason
    assert decision.final_action == {
        "option": "partial refund",
        "amount": "20.00",
        "reply": "We refund half: the item was used.",
    }


def test_a_reviewer_escalates_with_a_note_and_the_keys_stay_quiet_while_typing(
    page, live_server, sign_in, journey, levels, rhea, sam
):
    case = waiting_case(journey, levels)
    sign_in(page, "rhea")
    open_and_claim(page, live_server, case)

    form = page.locator("#decision-form")
    page.keyboard.press("e")
    escalate = form.get_by_role("radio", name=re.compile("^Escalate to a higher authority"))
    expect(escalate).to_be_checked()
    form.get_by_label("Rationale").click()
    # "a" would pick approve and "n" decide-and-next, were the keys not quiet in a text field.
    page.keyboard.type("Customer threatens to sue; needs a senior.")
    expect(escalate).to_be_checked()
    assert page.url == f"{live_server.url}{review_path(case)}"
    form.get_by_role("button", name=re.compile("^Record decision")).click()

    page.wait_for_url(f"{live_server.url}{QUEUE}")
    expect(page.get_by_text("escalated: it waits for Senior reviewer")).to_be_visible()
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
    assert case.escalation_note == "Customer threatens to sue; needs a senior."


def test_a_bad_submission_shows_every_error_beside_its_field_at_the_cases_url(
    page, live_server, sign_in, journey, levels, sam
):
    case = waiting_case(journey, levels)
    sign_in(page, "sam")
    open_and_claim(page, live_server, case)

    page.keyboard.press("m")
    page.keyboard.press("Control+Enter")

    page.wait_for_load_state()
    expect(page.get_by_text("The decision was not recorded: see the form below.")).to_be_visible()
    assert page.url == f"{live_server.url}{review_path(case)}"
    expect(page.locator("#field-option .errorlist")).to_have_text(
        "A modification needs the final action you decided on."
    )
    expect(page.locator("#field-override-reason .errorlist")).to_have_text(
        "An override needs a reason category."
    )
    expect(page.locator("#field-rationale .errorlist")).to_have_text(
        "An override needs a rationale: say why you decided otherwise."
    )
    expect(
        page.locator("#decision-form").get_by_role("radio", name=re.compile("^Modify the"))
    ).to_be_checked()
    case.refresh_from_db()
    assert case.status == CaseStatus.CLAIMED and not Decision.objects.filter(case=case).exists()


def test_decide_and_open_next_with_its_key_opens_the_next_case_claimed(
    page, live_server, sign_in, journey, levels, rhea
):
    first = waiting_case(journey, levels, minutes=30)
    following = waiting_case(journey, levels, minutes=90)
    sign_in(page, "rhea")
    open_and_claim(page, live_server, first)

    page.keyboard.press("a")
    page.keyboard.press("n")

    page.wait_for_url(f"{live_server.url}{review_path(following)}")
    expect(page.get_by_text(f"Next: case {str(following.pk)[:8]}")).to_be_visible()
    expect(page.locator("#decision-form")).to_be_visible()
    assert Case.objects.get(pk=first.pk).status == CaseStatus.DECIDED
    assert Case.objects.get(pk=following.pk).claimed_by.username == "rhea"
