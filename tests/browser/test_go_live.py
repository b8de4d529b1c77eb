"""A manager's go-live sign-off in a real browser: the journey's page shows shadow mode and its
agreement, "Sign off go-live" opens the form, and the journey is live after it."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from oversight.models import AutomationState, GoLiveSignOff, Journey, JourneyMode
from oversight.roles import MANAGER
from oversight.services.authority import assign_manager
from tests.factories import AISystemFactory, JourneyFactory, SuperUserFactory, UserFactory
from tests.oversight.shadow_cases import shadow_history

# serialized_rollback: the roles (groups) come from a data migration (see the other tests here).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_manager_signs_off_a_journey_in_shadow(page, live_server, sign_in):
    manager = UserFactory(username="mark", first_name="Mark", last_name="Ellison", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    system = AISystemFactory(name="Support assistant")
    assign_manager(assigned_by=SuperUserFactory(), manager=manager, ai_system=system)
    journey = JourneyFactory(
        ai_system=system, name="Plan changes", automation_state=AutomationState.SHADOW
    )
    shadow_history(journey, agreed=29, disagreed=1)
    sign_in(page, "mark")

    page.goto(f"{live_server.url}/admin/oversight/journey/{journey.pk}/change/")
    expect(page.get_by_role("heading", name="Mode: Shadow")).to_be_visible()
    expect(page.get_by_text("96.7 %").first).to_be_visible()
    page.get_by_role("link", name="Sign off go-live").click()
    page.get_by_label("Target agreement").fill("0.95")
    page.get_by_label("At least this many shadow decisions").fill("30")
    page.get_by_label("Note").fill("Thirty shadow decisions reviewed")
    page.get_by_role("button", name="Sign off go-live").click()

    expect(page.get_by_text("Support assistant / Plan changes is live.")).to_be_visible()
    expect(page.get_by_role("heading", name="Mode: Live")).to_be_visible()
    expect(page.get_by_role("link", name="Back to shadow")).to_be_visible()
    assert Journey.objects.get(pk=journey.pk).mode == JourneyMode.LIVE
    assert GoLiveSignOff.objects.get().note == "Thirty shadow decisions reviewed"
