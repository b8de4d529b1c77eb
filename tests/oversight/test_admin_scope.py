"""Invariant 10 in the admin: every URL that names an object finds it through the admin's own
scoped queryset, so an object outside a person's scope answers 404 on its change, history,
past-version, delete and custom pages alike (simple-history's views included)."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from oversight.admin.common import ScopedAdminMixin
from oversight.roles import REVIEWER
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    OutcomeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {"oversight", "audit", "literacy"}


@pytest.fixture
def reviewer_world():
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
    visible = CaseFactory(journey=mine, required_level=level, context={"secret": "mine"})
    hidden = CaseFactory(journey=theirs, required_level=level, context={"secret": "theirs"})
    visible_decision = DecisionFactory(case=visible, authority_level=level)
    hidden_decision = DecisionFactory(case=hidden, authority_level=level)
    hidden_outcome = OutcomeFactory(case=hidden)
    return {
        "reviewer": reviewer,
        "visible": visible,
        "hidden": hidden,
        "visible_decision": visible_decision,
        "hidden_decision": hidden_decision,
        "hidden_outcome": hidden_outcome,
    }


def url(obj, view, *extra):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk, *extra])


def test_history_of_a_case_outside_the_reviewers_authority_answers_404(client, reviewer_world):
    client.force_login(reviewer_world["reviewer"])
    hidden = reviewer_world["hidden"]

    response = client.get(url(hidden, "history"))

    assert response.status_code == 404
    assert b"theirs" not in response.content


def test_past_version_of_a_case_outside_the_reviewers_authority_answers_404(client, reviewer_world):
    client.force_login(reviewer_world["reviewer"])
    hidden = reviewer_world["hidden"]
    record = hidden.history.latest()

    response = client.get(url(hidden, "simple_history", record.history_id))

    assert response.status_code == 404
    assert b"theirs" not in response.content


def test_history_pages_of_a_decision_outside_the_reviewers_authority_answer_404(
    client, reviewer_world
):
    client.force_login(reviewer_world["reviewer"])
    decision = reviewer_world["hidden_decision"]
    record = decision.history.latest()

    assert client.get(url(decision, "history")).status_code == 404
    assert client.get(url(decision, "simple_history", record.history_id)).status_code == 404


def test_change_and_delete_of_records_outside_the_scope_answer_404_not_a_redirect(
    client, reviewer_world
):
    client.force_login(reviewer_world["reviewer"])
    for key in ("hidden", "hidden_decision", "hidden_outcome"):
        obj = reviewer_world[key]
        assert client.get(url(obj, "change")).status_code == 404, key
        assert client.get(url(obj, "delete")).status_code == 404, key
        assert client.get(url(obj, "history")).status_code == 404, key


def test_a_past_version_is_found_only_under_its_own_object(client, reviewer_world):
    # The visible case's URL with the hidden case's history id must not show the hidden case.
    client.force_login(reviewer_world["reviewer"])
    visible, hidden = reviewer_world["visible"], reviewer_world["hidden"]
    record = hidden.history.latest()

    response = client.get(url(visible, "simple_history", record.history_id))

    assert response.status_code == 404


def test_pages_inside_the_reviewers_authority_still_open(client, reviewer_world):
    client.force_login(reviewer_world["reviewer"])
    visible, decision = reviewer_world["visible"], reviewer_world["visible_decision"]

    assert client.get(url(visible, "change")).status_code == 200
    assert client.get(url(visible, "history")).status_code == 200
    assert (
        client.get(url(visible, "simple_history", visible.history.latest().history_id)).status_code
        == 200
    )
    assert client.get(url(decision, "history")).status_code == 200
    # Deleting stays refused for evidence, inside the scope too.
    assert client.get(url(visible, "delete")).status_code == 403


def test_a_posted_revert_of_a_hidden_case_changes_nothing(client, reviewer_world):
    client.force_login(reviewer_world["reviewer"])
    hidden = reviewer_world["hidden"]
    record = hidden.history.latest()
    rows = hidden.history.count()

    response = client.post(url(hidden, "simple_history", record.history_id), {"status": "open"})

    assert response.status_code == 404
    assert hidden.history.count() == rows


@pytest.mark.parametrize(
    "model",
    sorted(
        (m for m in admin.site._registry if m._meta.app_label in OUR_APPS),
        key=lambda m: m._meta.label,
    ),
    ids=lambda m: m._meta.label,
)
def test_every_admin_of_our_apps_resolves_objects_through_its_scoped_queryset(model):
    # New admins must start from the scoped base, or their history pages skip the scope.
    assert isinstance(admin.site._registry[model], ScopedAdminMixin), (
        f"{model._meta.label}'s admin must inherit oversight.admin.common.ScopedAdminMixin "
        "(HistoryAdmin, ViewOnlyHistoryAdmin and ViewOnlyAdmin already do)."
    )


@pytest.mark.parametrize("version_id", ["not-a-number", "1e3", "%20"])
def test_a_malformed_past_version_id_answers_404_not_a_server_error(
    client, reviewer_world, version_id
):
    # History ids are whole numbers; anything else in the URL is a page that does not exist.
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    visible = reviewer_world["visible"]
    rows = visible.history.count()
    history_url = reverse("admin:oversight_case_history", args=[visible.pk])

    response = client.get(f"{history_url}{version_id}/")

    assert response.status_code == 404
    assert visible.history.count() == rows
