"""Each role's admin home links to its work: the app list and the nav sidebar follow
`ROLE_ADMIN_LINKS`, without changing what anyone may open."""

import pytest
from django.contrib.auth.models import Group, Permission

from oversight.roles import COMPLIANCE_OFFICER, MANAGER, REVIEWER, ROLE_ADMIN_LINKS, TRAINER
from tests.factories import SuperUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def person(*roles):
    user = UserFactory(is_staff=True)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


def linked(app_list) -> set[str]:
    return {
        f"{app['app_label']}.{model['object_name']}" for app in app_list for model in app["models"]
    }


@pytest.mark.parametrize("role", [REVIEWER, MANAGER, COMPLIANCE_OFFICER, TRAINER])
def test_the_index_and_the_sidebar_link_only_the_roles_table(client, role):
    client.force_login(person(role))

    index = client.get("/admin/")
    other_page = client.get("/admin/password_change/")

    assert linked(index.context["app_list"]) <= ROLE_ADMIN_LINKS[role]
    assert linked(other_page.context["available_apps"]) == linked(index.context["app_list"])


def test_a_reviewers_home_shows_none_of_the_machine_tables(client):
    client.force_login(person(REVIEWER))

    page = client.get("/admin/").content.decode()

    assert linked(client.get("/admin/").context["app_list"]) == {
        "oversight.Case",
        "oversight.Decision",
        "literacy.TrainingModule",
    }
    for hidden in [
        "Webhook deliveries",
        "Gate evaluations",
        "Outcomes",
        "Trigger conditions",
        "Judgement points",
        "Training module versions",
    ]:
        assert hidden not in page
    assert page.index('id="reviewer-queue-panel"') < page.index('class="app-oversight')


def test_a_managers_home_hides_the_machine_tables_but_keeps_grants_and_journeys(client):
    client.force_login(person(MANAGER))

    page = client.get("/admin/").content.decode()

    for shown in ["Journeys", "Authority grants", "Override reasons", "Training completions"]:
        assert f">{shown}<" in page
    for hidden in ["Gate evaluations", "Outcomes", "Training module versions"]:
        assert hidden not in page


def test_hidden_is_not_refused_a_hidden_list_still_opens(client):
    client.force_login(person(REVIEWER))

    assert client.get("/admin/oversight/gateevaluation/").status_code == 200
    assert client.get("/admin/oversight/").status_code == 200
    app_index = client.get("/admin/oversight/")
    assert "oversight.GateEvaluation" in linked(app_index.context["app_list"])


def test_a_person_in_two_roles_sees_both_tables(client):
    client.force_login(person(REVIEWER, TRAINER))

    shown = linked(client.get("/admin/").context["app_list"])

    assert {"oversight.Case", "literacy.TrainingModuleVersion", "auth.User"} <= shown


def test_a_superuser_sees_every_list(client):
    client.force_login(SuperUserFactory())

    shown = linked(client.get("/admin/").context["app_list"])

    assert {"oversight.WebhookDelivery", "oversight.GateEvaluation", "django_q.Failure"} <= shown


def test_a_person_in_no_role_sees_every_list_their_permissions_give(client):
    someone = person()
    someone.user_permissions.add(
        Permission.objects.get(content_type__app_label="oversight", codename="view_gateevaluation")
    )
    client.force_login(someone)

    shown = linked(client.get("/admin/").context["app_list"])

    assert shown == {"oversight.GateEvaluation"}


def test_the_index_costs_no_more_queries_for_the_table(client, django_assert_max_num_queries):
    client.force_login(person(REVIEWER))
    client.get("/admin/")

    with django_assert_max_num_queries(15):
        client.get("/admin/")


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        (REVIEWER, "/admin/oversight/case/queue/"),
        (MANAGER, "/admin/"),
        (COMPLIANCE_OFFICER, "/admin/"),
    ],
)
def test_signing_in_lands_a_reviewer_on_the_queue_and_others_on_their_home(client, role, lands_on):
    user = person(role)
    user.set_password("pw-for-the-test")
    user.save()

    response = client.post(
        "/admin/login/",
        {"username": user.username, "password": "pw-for-the-test", "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == lands_on


def test_a_reviewer_asked_to_sign_in_for_another_page_goes_there(client):
    user = person(REVIEWER)
    user.set_password("pw-for-the-test")
    user.save()
    wanted = "/admin/oversight/decision/"

    response = client.post(
        "/admin/login/", {"username": user.username, "password": "pw-for-the-test", "next": wanted}
    )

    assert response["Location"] == wanted
