"""The manager's path in a real browser: grant authority to a trained person, extend the grant,
revoke it, then pause a journey's automation and resume it, each with its reason. Every step
checks what the page shows afterwards and what the database holds: the grant's end and
revocation, the journey's automation state, the history rows and the audit ledger event."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from oversight.models import AuthorityGrant, AutomationState, Journey
from oversight.roles import MANAGER
from oversight.services.authority import assign_manager
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    SuperUserFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

# serialized_rollback: the roles (groups) come from a data migration, which the flush after
# each transaction=True test would otherwise leave empty for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DAY = datetime.timedelta(days=1)


@pytest.fixture
def team():
    """A manager of the support assistant holding Senior reviewer on it, and Rhea, trained for
    the Reviewer level; both trained a month ago on a course valid for a year."""
    today = timezone.localdate()
    admin = SuperUserFactory(username="admin")
    manager = UserFactory(username="mark", first_name="Mark", last_name="Ellison", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    rhea = UserFactory(username="rhea", first_name="Rhea", last_name="Stone", is_staff=True)
    reviewer = AuthorityLevelFactory(name="Reviewer", rank=1)
    senior = AuthorityLevelFactory(name="Senior reviewer", rank=2, may_override=True)
    course = TrainingModuleFactory(slug="override-course", title="Overriding the assistant")
    version = TrainingModuleVersionFactory(
        module=course, published_on=today - 60 * DAY, validity_months=12
    )
    for level in (reviewer, senior):
        TrainingRequirementFactory(module=course, authority_level=level)
    for person in (manager, rhea):
        TrainingCompletionFactory(
            user=person, module_version=version, completed_on=today - 30 * DAY
        )
    assistant = AISystemFactory(slug="support-assistant", name="Support assistant")
    refunds = JourneyFactory(ai_system=assistant, slug="refunds", name="Refunds")
    assign_manager(assigned_by=admin, manager=manager, ai_system=assistant)
    AuthorityGrantFactory(
        user=manager,
        level=senior,
        ai_system=assistant,
        journey=None,
        granted_by=admin,
        valid_from=timezone.now() - 30 * DAY,
        justification="Owner of the support assistant.",
    )
    return {"manager": manager, "rhea": rhea, "reviewer": reviewer, "refunds": refunds}


def ledger(action: str, object_id) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(object_id)))


def local_input(moment: datetime.datetime) -> str:
    """A moment as a datetime-local field takes it: the site's time zone, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_manager_grants_extends_and_revokes_authority(page, live_server, sign_in, team):
    rhea, refunds = team["rhea"], team["refunds"]
    first_end = (timezone.now() + 30 * DAY).replace(second=0, microsecond=0)
    later_end = first_end + 60 * DAY
    sign_in(page, "mark")

    # Grant: the add form offers the trained person, the level and the scope the manager holds.
    page.goto(f"{live_server.url}/admin/oversight/authoritygrant/add/")
    expect(page.get_by_role("heading", name="Grant authority")).to_be_visible()
    page.get_by_label("Person").select_option(value=str(rhea.pk))
    page.get_by_label("Level").select_option(value=str(team["reviewer"].pk))
    page.get_by_label("Scope").select_option(value=f"journey:{refunds.pk}")
    page.get_by_label("Valid until").fill(local_input(first_end))
    page.get_by_label("Justification").fill("Covers the refunds queue this quarter.")
    page.get_by_role("button", name="Grant", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Granted: ")
    grant = AuthorityGrant.objects.get(user=rhea)
    assert page.url.endswith(f"/admin/oversight/authoritygrant/{grant.pk}/change/")
    assert (grant.level, grant.journey, grant.valid_until, grant.revoked_at) == (
        team["reviewer"],
        refunds,
        first_end,
        None,
    )
    assert grant.granted_by == team["manager"]
    assert grant.history.count() == 1
    assert len(ledger("grant.created", grant.pk)) == 1
    expect(page.locator(".field-justification")).to_contain_text("Covers the refunds queue")
    end_shown = page.locator(".field-valid_until .readonly").inner_text()
    assert str(first_end.year) in end_shown
    buttons = page.locator(".grant-actions")
    expect(buttons.get_by_role("link", name="Extend")).to_be_visible()
    expect(buttons.get_by_role("link", name="Revoke")).to_be_visible()

    # Extend: a later end, with the reason kept in the grant's history.
    buttons.get_by_role("link", name="Extend").click()
    expect(page.get_by_role("heading", name="Extend a grant")).to_be_visible()
    page.get_by_label("New end").fill(local_input(later_end))
    page.get_by_label("Justification").fill("The queue stays busy into spring.")
    page.get_by_role("button", name="Extend", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Extended: ")
    expect(page.locator(".field-valid_until .readonly")).not_to_have_text(end_shown)
    expect(page.locator(".field-valid_until")).to_contain_text(str(later_end.year))
    assert page.url.endswith(f"/admin/oversight/authoritygrant/{grant.pk}/change/")
    grant.refresh_from_db()
    assert grant.valid_until == later_end
    assert grant.revoked_at is None
    assert grant.history.count() == 2
    assert grant.history.latest().history_change_reason == (
        "extended: The queue stays busy into spring."
    )
    assert len(ledger("grant.extended", grant.pk)) == 1

    # Revoke: ends it now, with the reason; the page then offers neither button.
    page.locator(".grant-actions").get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", name="Revoke a grant")).to_be_visible()
    page.get_by_label("Reason").fill("Moved to the billing team.")
    page.get_by_role("button", name="Revoke", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Revoked: ")
    expect(page.locator(".grant-actions")).to_have_count(0)
    expect(page.locator(".field-revocation_reason")).to_contain_text("Moved to the billing team.")
    # The manager, by username or by name.
    expect(page.locator(".field-revoked_by")).to_contain_text(re.compile("mark", re.IGNORECASE))
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert (grant.revoked_by, grant.revocation_reason) == (
        team["manager"],
        "Moved to the billing team.",
    )
    assert grant.valid_until == later_end
    assert grant.history.count() == 3
    assert len(ledger("grant.revoked", grant.pk)) == 1


def test_the_manager_pauses_and_resumes_a_journey(page, live_server, sign_in, team):
    refunds = team["refunds"]
    versions = Journey.history.filter(id=refunds.pk).count()
    sign_in(page, "mark")

    # From the journey list to the journey's own page, where the stop button is.
    page.goto(f"{live_server.url}/admin/oversight/journey/")
    page.locator("#result_list").get_by_role("link", name="Refunds").click()
    expect(page.locator(".automation-actions")).to_be_visible()
    page.locator(".automation-actions").get_by_role("link", name="Pause automation").click()

    # Pausing without a reason is refused and changes nothing.
    page.get_by_role("button", name="Pause automation").click()
    expect(page.locator(".errorlist")).to_be_visible()
    refunds.refresh_from_db()
    assert refunds.automation_state == AutomationState.RUNNING
    assert ledger("automation.paused", refunds.pk) == []

    page.get_by_label("Reason for pausing").fill("Refund complaints doubled since Monday.")
    page.get_by_role("button", name="Pause automation").click()

    expect(page.locator(".messagelist")).to_contain_text("Paused automation of ")
    assert page.url.endswith(f"/admin/oversight/journey/{refunds.pk}/change/")
    expect(page.locator(".field-automation_state")).to_contain_text("Paused by a person")
    expect(page.locator(".field-paused_reason")).to_contain_text(
        "Refund complaints doubled since Monday."
    )
    resume = page.locator(".automation-actions").get_by_role("link", name="Resume automation")
    expect(resume).to_be_visible()
    refunds.refresh_from_db()
    assert refunds.automation_state == AutomationState.PAUSED_BY_PERSON
    assert refunds.paused_reason == "Refund complaints doubled since Monday."
    assert refunds.paused_by == team["manager"]
    assert Journey.history.filter(id=refunds.pk).count() == versions + 1
    assert len(ledger("automation.paused", refunds.pk)) == 1

    resume.click()
    page.get_by_label("Why automation may resume").fill("The return-window fix is deployed.")
    page.get_by_role("button", name="Resume automation").click()

    expect(page.locator(".messagelist")).to_contain_text("Resumed automation of ")
    expect(page.locator(".field-automation_state")).to_contain_text("Running")
    expect(
        page.locator(".automation-actions").get_by_role("link", name="Pause automation")
    ).to_be_visible()
    refunds.refresh_from_db()
    assert refunds.automation_state == AutomationState.RUNNING
    assert refunds.paused_by is None
    assert Journey.history.filter(id=refunds.pk).count() == versions + 2
    assert len(ledger("automation.resumed", refunds.pk)) == 1
