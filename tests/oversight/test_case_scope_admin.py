"""Invariant 2 in the admin lists: reviewers see only cases they may decide; managers and
compliance officers see all."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_journeys():
    level = AuthorityLevelFactory(name="Reviewer", rank=1)
    mine, theirs = JourneyFactory(name="Refunds"), JourneyFactory(name="Disputes")
    reviewer = UserFactory(username="rhea", is_staff=True)
    reviewer.groups.add(Group.objects.get(name=REVIEWER))
    AuthorityGrantFactory(
        user=reviewer,
        level=level,
        journey=mine,
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    visible = CaseFactory(journey=mine, required_level=level, subject_ref="cust-mine")
    hidden = CaseFactory(journey=theirs, required_level=level, subject_ref="cust-theirs")
    DecisionFactory(case=hidden, authority_level=level)
    return reviewer, visible, hidden


def test_a_reviewer_lists_and_opens_only_cases_they_may_decide(client, two_journeys):
    reviewer, visible, hidden = two_journeys
    client.force_login(reviewer)
    listed = client.get(reverse("admin:oversight_case_changelist")).context["cl"].result_list
    assert list(listed) == [visible]
    response = client.get(reverse("admin:oversight_case_change", args=[hidden.pk]))
    assert response.status_code == 404  # outside the scope: as if it did not exist
    decisions = client.get(reverse("admin:oversight_decision_changelist")).context["cl"]
    assert list(decisions.result_list) == []


def test_a_compliance_officer_sees_every_case(client, two_journeys):
    _, visible, hidden = two_journeys
    officer = UserFactory(username="cora", is_staff=True)
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    assert client.get(reverse("admin:oversight_case_change", args=[hidden.pk])).status_code == 200
    assert client.get(reverse("admin:oversight_case_change", args=[visible.pk])).status_code == 200
