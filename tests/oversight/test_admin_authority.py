"""The grant admin for managers: grant, extend and revoke through the service, the effective
authority of a person, and the authority register."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.history import history_token
from oversight.models import AuthorityGrant
from oversight.roles import COMPLIANCE_OFFICER
from oversight.services.authority import grant_authority, revoke_grant
from tests.factories import AuthorityGrantFactory, TrainingCompletionFactory, UserFactory
from tests.oversight.authority_world import DAY, NOW, queue_permissions, snapshot, world

pytestmark = pytest.mark.django_db

ADD = reverse("admin:oversight_authoritygrant_add")
REGISTER = reverse("admin:oversight_authoritygrant_register")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def w(clock):
    return world()


@pytest.fixture
def manager_client(client, w):
    client.force_login(w.manager)
    return client


@pytest.fixture
def compliance_client(client, w):
    officer = UserFactory(username="hannah", is_staff=True)
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    return client


def url(view, *args):
    return reverse(f"admin:oversight_authoritygrant_{view}", args=args)


def grant_form(w, **changes):
    return {
        "user": w.rhea.pk,
        "level": w.reviewer.pk,
        "scope": f"journey:{w.refunds.pk}",
        "valid_from": "",
        "valid_until": "2026-09-01T09:00",
        "justification": "Covers the refunds queue.",
        **changes,
    }


def rhea_grant(w, **changes):
    arguments = {
        "granter": w.manager,
        "user": w.rhea,
        "level": w.reviewer,
        "journey": w.refunds,
        "valid_until": NOW + 90 * DAY,
        "justification": "Covers the refunds queue.",
        **changes,
    }
    return grant_authority(**arguments)


# Granting ------------------------------------------------------------------------------------


def test_the_add_form_offers_only_what_the_manager_may_grant(manager_client, w):
    form = manager_client.get(ADD).context["form"]

    scopes = dict(form.fields["scope"].choices[1:])
    assert scopes["AI systems (every journey)"] == [
        (f"ai_system:{w.assistant.pk}", "Support assistant")
    ]
    assert scopes["Journeys"] == [
        (f"journey:{w.billing.pk}", "Support assistant / Billing"),
        (f"journey:{w.refunds.pk}", "Support assistant / Refunds"),
    ]
    assert list(form.fields["level"].queryset) == [w.reviewer, w.senior]
    people = {user.username for user in form.fields["user"].queryset}
    assert people == {"admin", "rhea", "sam", "una"}  # not themselves, not guardian's anonymous


def test_a_manager_grants_from_the_admin_through_the_service(manager_client, w):
    response = manager_client.post(ADD, grant_form(w))

    grant = AuthorityGrant.objects.get(user=w.rhea)
    assert response.status_code == 302
    assert response.url == url("change", grant.pk)
    assert (grant.level, grant.journey, grant.granted_by) == (w.reviewer, w.refunds, w.manager)
    assert grant.valid_from == NOW
    assert grant.valid_until == datetime.datetime(2026, 9, 1, 9, 0, tzinfo=datetime.UTC)
    assert grant.history.get().history_user == w.manager
    assert queue_permissions(w.rhea) == {("rhea", "refunds", "decide_journey")}


def test_a_refusal_by_the_service_shows_on_the_form_and_nothing_is_saved(manager_client, w):
    before = snapshot()

    response = manager_client.post(ADD, grant_form(w, user=w.untrained.pk))

    assert response.status_code == 200
    assert (
        "Una Lane does not have the training Reviewer requires current on 2026-06-01: "
        "Overriding the assistant." in response.content.decode()
    )
    assert snapshot() == before


def test_a_refusal_for_training_shows_the_persons_last_failed_attempt(manager_client, w):
    TrainingCompletionFactory(
        user=w.untrained,
        module_version=w.course_version,
        completed_on=datetime.date(2026, 5, 20),
        score=55,
        passed=False,
    )
    before = snapshot()

    response = manager_client.post(ADD, grant_form(w, user=w.untrained.pk))

    assert response.status_code == 200
    assert (
        "Last attempt at Overriding the assistant (version 1): failed with 55 % on 20 May 2026."
        in response.content.decode()
    )
    assert snapshot() == before


def test_a_refusal_for_lapsed_training_says_when_it_expired(manager_client, w):
    TrainingCompletionFactory(
        user=w.untrained,
        module_version=w.course_version,
        completed_on=datetime.date(2025, 4, 2),
        expires_on=datetime.date(2026, 4, 2),
        score=80,
    )
    before = snapshot()

    response = manager_client.post(ADD, grant_form(w, user=w.untrained.pk))

    assert (
        "Last attempt at Overriding the assistant (version 1): passed with 80 % on 2 Apr 2025; "
        "it expired on 2 Apr 2026." in response.content.decode()
    )
    assert snapshot() == before


def test_a_refusal_for_training_never_taken_says_so(manager_client, w):
    before = snapshot()

    response = manager_client.post(ADD, grant_form(w, user=w.untrained.pk))

    assert "No attempt at Overriding the assistant is recorded." in response.content.decode()
    assert snapshot() == before


def test_the_person_list_shows_the_names_the_refusals_use(manager_client, w):
    form = manager_client.get(ADD).context["form"]

    labels = [label for _, label in form.fields["user"].choices][1:]
    assert labels == ["admin", "Rhea Stone (rhea)", "Sam Okafor (sam)", "Una Lane (una)"]


def test_a_scope_or_level_not_offered_is_refused_and_nothing_is_saved(manager_client, w):
    before = snapshot()

    other_scope = manager_client.post(ADD, grant_form(w, scope=f"journey:{w.credit.pk}"))
    higher_level = manager_client.post(ADD, grant_form(w, level=w.lead.pk))
    themselves = manager_client.post(ADD, grant_form(w, user=w.manager.pk))

    for response, field in [
        (other_scope, "scope"),
        (higher_level, "level"),
        (themselves, "user"),
    ]:
        assert response.status_code == 200
        assert response.context["form"].errors[field]
    assert snapshot() == before


def test_someone_without_the_add_permission_cannot_open_the_add_form(compliance_client):
    assert compliance_client.get(ADD).status_code == 403


# Extending and revoking ------------------------------------------------------------------------


def button(href, label):
    return f'<a class="button" href="{href}">{label}</a>'


def test_the_change_page_shows_extend_and_revoke_buttons_at_the_top_but_stays_read_only(
    manager_client, w
):
    grant = rhea_grant(w)

    page = manager_client.get(url("change", grant.pk)).content.decode()

    extend = button(url("extend", grant.pk), "Extend")
    revoke = button(url("revoke", grant.pk), "Revoke")
    assert extend in page
    assert revoke in page
    # Above the grant's fields, not small links below them.
    assert page.index(extend) < page.index("<fieldset")
    assert page.index(revoke) < page.index("<fieldset")
    assert manager_client.post(url("change", grant.pk), {}).status_code == 403


def test_a_grant_until_revoked_shows_only_the_revoke_button(manager_client, w):
    grant = rhea_grant(w, valid_until=None)

    page = manager_client.get(url("change", grant.pk)).content.decode()

    assert button(url("revoke", grant.pk), "Revoke") in page
    assert url("extend", grant.pk) not in page


def test_no_buttons_for_a_grant_outside_the_managers_scope(manager_client, w):
    grant = grant_authority(
        granter=w.admin,
        user=w.rhea,
        level=w.reviewer,
        journey=w.credit,
        justification="Credit queue.",
    )

    page = manager_client.get(url("change", grant.pk)).content.decode()

    assert url("revoke", grant.pk) not in page
    assert url("extend", grant.pk) not in page


def test_no_buttons_for_a_compliance_officer(compliance_client, w):
    grant = rhea_grant(w)

    response = compliance_client.get(url("change", grant.pk))

    assert response.status_code == 200
    assert url("revoke", grant.pk) not in response.content.decode()


def test_a_manager_extends_a_grant_from_the_admin(manager_client, w):
    grant = rhea_grant(w)

    response = manager_client.post(
        url("extend", grant.pk),
        {
            "valid_until": "2026-12-31T18:00",
            "justification": "Queue stays busy.",
            "_loaded_version": history_token(grant),
        },
        follow=True,
    )

    assert response.redirect_chain == [(url("change", grant.pk), 302)]
    grant.refresh_from_db()
    assert f"Extended: {grant}." in response.content.decode()
    assert grant.valid_until == datetime.datetime(2026, 12, 31, 18, 0, tzinfo=datetime.UTC)
    assert grant.history.latest().history_change_reason == "extended: Queue stays busy."


def test_a_manager_revokes_a_grant_from_the_admin(manager_client, w):
    grant = rhea_grant(w)

    response = manager_client.post(
        url("revoke", grant.pk),
        {"reason": "Left the team.", "_loaded_version": history_token(grant)},
        follow=True,
    )

    assert response.redirect_chain == [(url("change", grant.pk), 302)]
    grant.refresh_from_db()
    assert f"Revoked: {grant}." in response.content.decode()
    assert (grant.revoked_at, grant.revoked_by, grant.revocation_reason) == (
        NOW,
        w.manager,
        "Left the team.",
    )
    assert queue_permissions(w.rhea) == set()
    page = manager_client.get(url("change", grant.pk)).content.decode()
    assert url("revoke", grant.pk) not in page


def test_revoking_without_a_reason_shows_the_error_and_changes_nothing(manager_client, w):
    grant = rhea_grant(w)
    before = snapshot()

    response = manager_client.post(url("revoke", grant.pk), {"reason": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["This field is required."]
    assert snapshot() == before


def test_a_refused_revocation_shows_the_services_message_and_changes_nothing(manager_client, w):
    grant = grant_authority(
        granter=w.admin,
        user=w.rhea,
        level=w.reviewer,
        journey=w.credit,
        justification="Credit queue.",
    )
    before = snapshot()

    response = manager_client.post(
        url("revoke", grant.pk),
        {"reason": "Not needed.", "_loaded_version": history_token(grant)},
    )

    assert response.status_code == 200
    assert "You do not manage authority on Credit checker / Credit limits" in (
        response.content.decode()
    )
    assert snapshot() == before


def test_a_compliance_officer_may_not_revoke(compliance_client, w):
    grant = rhea_grant(w)

    assert compliance_client.post(url("revoke", grant.pk), {"reason": "x"}).status_code == 403
    assert AuthorityGrant.objects.get(pk=grant.pk).revoked_at is None


# Effective authority ---------------------------------------------------------------------------


def test_the_effective_authority_page_says_which_grant_counts_and_why_others_do_not(
    manager_client, w, clock
):
    current = rhea_grant(w, valid_until=None)
    revoked = rhea_grant(w, journey=w.billing)
    revoke_grant(revoker=w.manager, grant=revoked, reason="Billing team is full.")
    later = rhea_grant(w, valid_from=NOW + 10 * DAY, journey=w.billing)

    response = manager_client.get(url("effective", w.rhea.pk))

    statuses = {status.grant.pk: status for status in response.context["statuses"]}
    assert statuses[current.pk].effective
    assert statuses[revoked.pk].reasons == (
        "revoked 2026-06-01 09:00 by Mark Ellison: Billing team is full.",
    )
    assert statuses[later.pk].reasons == ("not yet in force: starts 2026-06-11 09:00",)
    page = response.content.decode()
    assert "Authority of Rhea Stone" in page
    assert "Billing team is full." in page
    assert "In step with the grants." in page


def test_the_effective_authority_page_names_the_expired_training(manager_client, w, clock):
    grant = rhea_grant(w, valid_until=None)
    clock.move_to(datetime.datetime(2027, 3, 2, 9, 0, tzinfo=datetime.UTC))
    manager_client.force_login(w.manager)  # the session from nine months ago has expired

    response = manager_client.get(url("effective", w.rhea.pk))

    [status] = response.context["statuses"]
    assert status.grant == grant
    assert status.reasons == ("training missing — Overriding the assistant: expired on 2027-03-01",)
    page = response.content.decode()
    assert "expired on 2027-03-01" in page
    assert "Out of step with the grants" in page  # the decide row outlived the training


def test_the_grant_list_links_each_holder_to_their_effective_authority(manager_client, w):
    rhea_grant(w)

    page = manager_client.get(url("changelist")).content.decode()

    assert url("effective", w.rhea.pk) in page
    assert REGISTER in page


def test_the_grant_list_names_people_not_usernames(manager_client, w):
    rhea_grant(w)

    page = manager_client.get(url("changelist")).content.decode()

    assert '<td class="field-given_by">Mark Ellison</td>' in page
    assert ">Rhea Stone</a>" in page  # the first column links to the grant
    assert ">rhea<" not in page and ">mark<" not in page
    found = manager_client.get(url("changelist"), {"q": "Stone"}).content.decode()
    assert ">Rhea Stone</a>" in found


def test_grant_times_print_in_the_viewers_zone_with_the_zone_named(manager_client, w, settings):
    settings.TIME_ZONE = "Europe/Paris"
    grant = rhea_grant(w)

    listed = manager_client.get(url("changelist")).content.decode()
    detail = manager_client.get(url("change", grant.pk)).content.decode()

    assert "1 Jun 2026, 11:00 CEST" in listed  # valid from NOW, 09:00 UTC
    assert "30 Aug 2026, 11:00 CEST" in detail  # valid until 90 days on
    assert "a.m." not in listed and "a.m." not in detail


# The register ----------------------------------------------------------------------------------


def test_the_register_page_shows_who_held_what_on_that_day(compliance_client, w, clock):
    grant = rhea_grant(w)
    clock.move_to(NOW + 5 * DAY)
    revoke_grant(revoker=w.manager, grant=grant, reason="Left the team.")

    on_day_two = compliance_client.get(REGISTER, {"at": "2026-06-02"})
    after = compliance_client.get(REGISTER, {"at": "2026-06-07T12:00"})

    assert [
        (row.user.username, row.level.name, row.scope) for row in on_day_two.context["rows"]
    ] == [
        ("mark", "Senior reviewer", "Support assistant (every journey)"),
        ("rhea", "Reviewer", "Support assistant / Refunds"),
    ]
    assert on_day_two.context["at"] == datetime.datetime(
        2026, 6, 2, 23, 59, 59, 999999, tzinfo=datetime.UTC
    )
    page = on_day_two.content.decode()
    assert "Overriding the assistant" not in page  # everyone's training was current
    assert "rhea" in page
    assert [row.user.username for row in after.context["rows"]] == ["mark"]


def test_a_malformed_moment_is_explained_and_the_register_shows_now(compliance_client, w):
    response = compliance_client.get(REGISTER, {"at": "yesterday"})

    assert response.status_code == 200
    assert "“yesterday” is not a date (YYYY-MM-DD)" in response.content.decode()
    assert response.context["at"] == NOW


def test_the_register_page_costs_the_same_queries_for_two_or_twenty_rows(
    compliance_client, w, clock
):
    rhea_grant(w)
    compliance_client.get(REGISTER)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        few_rows = compliance_client.get(REGISTER).context["rows"]

    for n in range(18):
        AuthorityGrantFactory(
            user=UserFactory(username=f"reviewer{n}"), level=w.lead, journey=w.billing
        )
    with CaptureQueriesContext(connection) as many:
        # Their training is missing: the record already holds the modules' titles.
        many_rows = compliance_client.get(REGISTER).context["rows"]

    assert (len(few_rows), len(many_rows)) == (2, 20)
    assert len(many) == len(few), [q["sql"][:100] for q in many.captured_queries]
