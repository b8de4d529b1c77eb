"""The queue's one-click "Open" claims a free case and opens it; the claim-race loser's panel
says who holds the case until when and offers the button that is possible."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from oversight.models import CaseStatus
from oversight.services.cases import claim_case
from tests.factories import CaseFactory, StaffUserFactory
from tests.oversight.reviewing.workspace import (
    QUEUE_URL,
    html,
    log_in,
    review_url,
    section,
    shows,
    snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(senior):
    senior.first_name, senior.last_name = "Sam", "Lee"
    senior.save()
    return senior


def open_url(case) -> str:
    return reverse("admin:oversight_case_review_open", args=[case.pk])


def test_each_queue_row_has_a_one_click_open_that_posts(client, case, reviewer):
    page = html(log_in(client, reviewer).get(QUEUE_URL))

    row = page.split(open_url(case))[0].rsplit("<tr>", 1)[1]
    assert 'method="post"' in page.split(open_url(case))[0].rsplit("<form", 1)[1]
    assert "Refunds" in row
    assert 'value="Open"' in page.split(open_url(case))[1].split("</form>")[0]


def test_open_claims_a_free_case_and_shows_the_decision_form(client, case, reviewer):
    log_in(client, reviewer)

    response = client.post(open_url(case), follow=True)

    assert response.redirect_chain[-1][0] == review_url(case)
    case.refresh_from_db()
    assert (case.status, case.claimed_by) == (CaseStatus.CLAIMED, reviewer)
    assert "You hold this case until" in html(response)
    assert 'id="decision-form"' in html(response)
    assert AuditEvent.objects.filter(action="case.claimed", object_id=str(case.pk)).count() == 1


def test_open_on_your_own_claim_keeps_it(client, case, reviewer):
    claim_case(case=case, reviewer=reviewer)
    log_in(client, reviewer)
    before = snapshot(case)

    response = client.post(open_url(case), follow=True)

    assert 'id="decision-form"' in html(response)
    assert snapshot(case) == before


def test_open_on_a_case_someone_else_holds_opens_it_to_read_saying_who(client, case, reviewer, sam):
    claim_case(case=case, reviewer=sam)
    log_in(client, reviewer)
    before = snapshot(case)

    response = client.post(open_url(case), follow=True)

    assert response.status_code == 200
    assert shows(response, "Sam Lee holds this case since ")
    assert "it is open for you to read." in html(response)
    assert 'id="decision-form"' not in html(response)
    assert snapshot(case) == before


def test_open_outside_authority_is_refused_and_changes_nothing(client, case):
    stranger = log_in(Client(), StaffUserFactory(username="stan"))
    before = snapshot(case)

    assert stranger.post(open_url(case)).status_code == 403
    assert stranger.get(open_url(case)).status_code == 405
    assert snapshot(case) == before


def test_the_race_loser_sees_who_holds_it_until_when_and_when_they_can_claim(
    client, case, reviewer, sam
):
    claim_case(case=case, reviewer=sam)
    log_in(client, reviewer)

    screen = client.get(review_url(case))

    panel = section(screen, "claim-state")
    assert "Claimed by Sam Lee</strong> since " in panel
    assert "once their claim lapses at" in panel
    assert "Take over this case" not in panel  # same or lower level: not possible
    decide = section(screen, "decide")
    assert "Claim the case to decide it." not in decide
    assert "Sam Lee holds this case until" in decide


def test_a_higher_level_sees_the_take_over_button(client, case, reviewer, lead):
    claim_case(case=case, reviewer=reviewer)
    log_in(client, lead)

    panel = section(client.get(review_url(case)), "claim-state")

    assert "Take over this case" in panel
    assert "Claimed by rhea" in panel


def test_a_lapsed_claim_of_someone_else_offers_the_claim_button(client, case, reviewer, sam):
    claim_case(case=case, reviewer=sam)
    case.refresh_from_db()
    case.claim_expires_at = timezone.now() - datetime.timedelta(minutes=1)
    case.save()
    log_in(client, reviewer)

    screen = client.get(review_url(case))

    panel = section(screen, "claim-state")
    assert "The claim of Sam Lee lapsed at" in panel
    assert 'value="Claim it to decide"' in panel
    response = client.post(open_url(case), follow=True)
    case.refresh_from_db()
    assert case.claimed_by == reviewer
    assert 'id="decision-form"' in html(response)


def test_a_free_case_shows_a_claim_button_where_the_form_would_be(client, case, reviewer):
    decide = section(log_in(client, reviewer).get(review_url(case)), "decide")

    assert 'value="Claim this case to decide it"' in decide


def test_the_queue_shows_the_holder_by_name_with_the_time(client, case, reviewer, sam):
    other = CaseFactory(journey=case.journey, required_level=case.required_level)
    claim_case(case=other, reviewer=sam)

    page = html(log_in(client, reviewer).get(QUEUE_URL))

    row = next(row for row in page.split("<tr>") if str(other.pk) in row)
    assert "Sam Lee" in row and "until " in row
    assert "Read it: Sam Lee holds it" in row
