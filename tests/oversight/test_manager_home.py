"""The manager's admin home: journeys with their stop button, grants ending soon with Extend,
the dashboard; only what the manager manages, and nothing for other roles."""

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from oversight.services.automation import pause_journey
from tests.factories import AuthorityGrantFactory, JourneyFactory, UserFactory
from tests.oversight.authority_world import DAY, NOW, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield world()


def home(client, user) -> str:
    client.force_login(user)
    return client.get("/admin/").content.decode()


def test_the_managers_home_puts_journeys_grants_and_the_dashboard_first(client, w, settings):
    settings.TIME_ZONE = "Europe/London"
    with time_machine.travel(NOW, tick=False):
        pause_journey(journey=w.refunds, by=w.manager, reason="Refund errors reported by finance.")
        ending = AuthorityGrantFactory(
            user=w.rhea,
            level=w.reviewer,
            journey=w.billing,
            ai_system=None,
            granted_by=w.manager,
            valid_from=NOW - DAY,
            valid_until=NOW + 10 * DAY,
        )
        AuthorityGrantFactory(  # ends later than the window: not listed
            user=w.sam,
            level=w.reviewer,
            journey=w.billing,
            ai_system=None,
            granted_by=w.manager,
            valid_from=NOW - DAY,
            valid_until=NOW + 90 * DAY,
        )
        page = home(client, w.manager)

    panel = page.index('id="manager-home"')
    assert panel < page.index('id="reviewer-queue-panel"') < page.index('class="app-oversight')
    # journeys: the paused one first, with who, when and why, and its Resume button
    assert page.index("Support assistant / Refunds") < page.index("Support assistant / Billing")
    assert (
        "Paused by a person</strong> since 1 Jun 2026, 10:00 BST by Mark Ellison: "
        "Refund errors reported by finance." in page
    )
    assert f'href="/admin/oversight/journey/{w.refunds.pk}/resume/">Resume automation' in page
    assert f'href="/admin/oversight/journey/{w.billing.pk}/pause/">Pause automation' in page
    assert "Credit limits" not in page  # a journey Mark does not manage
    # grants ending within 30 days, by name, with Extend
    assert "Rhea Stone" in page and "Sam Okafor" not in page
    assert "Reviewer on Support assistant / Billing" in page
    assert "11 Jun 2026, 10:00 BST" in page
    assert f'href="/admin/oversight/authoritygrant/{ending.pk}/extend/">Extend' in page
    assert 'href="/admin/oversight/authoritygrant/add/">Grant authority' in page
    # the dashboard and its two companions
    for url in ["dashboard", "oversight-watch", "calibration"]:
        assert f'class="button" href="/admin/oversight/{url}/"' in page


def test_the_buttons_lead_to_pages_that_open_for_the_manager(client, w):
    with time_machine.travel(NOW, tick=False):
        client.force_login(w.manager)
        assert client.get(f"/admin/oversight/journey/{w.billing.pk}/pause/").status_code == 200
        assert client.get("/admin/oversight/dashboard/").status_code == 200


def test_a_manager_of_nothing_is_told_how_to_become_one(client, w):
    with time_machine.travel(NOW, tick=False):
        newcomer = UserFactory(is_staff=True)
        newcomer.groups.add(Group.objects.get(name="Manager"))
        page = home(client, newcomer)

    assert "You manage no journey yet" in page
    assert "Support assistant" not in page.split('id="manager-home"')[1].split("</table>")[0]


@pytest.mark.parametrize("role", [REVIEWER, COMPLIANCE_OFFICER])
def test_other_roles_see_no_manager_panel(client, w, role):
    someone = UserFactory(is_staff=True)
    someone.groups.add(Group.objects.get(name=role))

    with time_machine.travel(NOW, tick=False):
        page = home(client, someone)

    assert "manager-home" not in page
    assert "/pause/" not in page


def test_the_managers_home_costs_the_same_queries_for_more_journeys_and_grants(
    client, w, django_assert_max_num_queries
):
    def index_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/admin/").status_code == 200
        return len(queries)

    with time_machine.travel(NOW, tick=False):
        client.force_login(w.manager)
        client.get("/admin/")
        few = index_queries()
        for n in range(5):
            journey = JourneyFactory(ai_system=w.assistant, slug=f"extra-{n}", name=f"Extra {n}")
            pause_journey(journey=journey, by=w.manager, reason="Checking.")
            AuthorityGrantFactory(
                user=w.sam,
                level=w.reviewer,
                journey=journey,
                ai_system=None,
                granted_by=w.manager,
                valid_from=NOW - DAY,
                valid_until=NOW + 5 * DAY,
            )
        assert index_queries() == few
        with django_assert_max_num_queries(17):
            client.get("/admin/")
