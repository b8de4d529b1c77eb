"""The manager's home and dashboard in a real browser at 1366×768: the work first (journeys
with their stop button, grants ending soon, the dashboard), nothing wider than the window, and
no chart label running out of its picture. Screenshots land in the pytest temporary folder
(`--basetemp` to keep them) for a person to look at."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from oversight.models import CaseStatus, DecisionOutcome
from oversight.roles import MANAGER
from oversight.services.authority import assign_manager
from oversight.services.automation import pause_journey
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    CaseFactory,
    DecisionFactory,
    JourneyFactory,
    JudgementPointFactory,
    OverrideReasonFactory,
    SuperUserFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WINDOW = {"width": 1366, "height": 768}
LONG_POINT = "Refund above the customer's usual amount in the last twelve months"

# Every <text> of every chart inside its SVG's viewBox: [offending text, ...].
LABELS_OUTSIDE = """() => {
  const outside = [];
  for (const svg of document.querySelectorAll("svg[viewBox]")) {
    const [x0, y0, w, h] = svg.getAttribute("viewBox").split(" ").map(Number);
    for (const text of svg.querySelectorAll("text")) {
      const box = text.getBBox();
      if (box.x < x0 - 0.5 || box.y < y0 - 0.5 || box.x + box.width > x0 + w + 0.5
          || box.y + box.height > y0 + h + 0.5) {
        outside.push(text.textContent);
      }
    }
  }
  return outside;
}"""


@pytest.fixture
def manager():
    now = timezone.now()
    admin = SuperUserFactory(username="root")
    mark = UserFactory(username="mark", first_name="Mark", last_name="Ellison", is_staff=True)
    mark.groups.add(Group.objects.get(name=MANAGER))
    rhea = UserFactory(username="rhea", first_name="Rhea", last_name="Stone", is_staff=True)
    assistant = AISystemFactory(slug="support-assistant", name="Support assistant")
    refunds = JourneyFactory(ai_system=assistant, slug="refunds", name="Refunds")
    billing = JourneyFactory(ai_system=assistant, slug="billing", name="Billing")
    level = AuthorityLevelFactory(name="Reviewer", rank=1, may_override=True)
    assign_manager(assigned_by=admin, manager=mark, ai_system=assistant)
    pause_journey(journey=refunds, by=mark, reason="Refund errors reported by finance.")
    AuthorityGrantFactory(
        user=rhea,
        level=level,
        journey=billing,
        granted_by=mark,
        valid_from=now - datetime.timedelta(days=60),
        valid_until=now + datetime.timedelta(days=9),
    )
    points = [
        JudgementPointFactory(journey=refunds, slug="usual", name=LONG_POINT, required_level=level),
        JudgementPointFactory(journey=billing, slug="dispute", name="Disputed invoice"),
    ]
    reason = OverrideReasonFactory(code="policy", label="Company policy")
    for n in range(12):
        opened = now - datetime.timedelta(days=1 + n % 10, hours=2)
        case = CaseFactory(
            journey=points[n % 2].journey,
            required_level=level,
            opened_at=opened,
            sla_deadline=opened + datetime.timedelta(hours=4),
            status=CaseStatus.DECIDED,
            decided_at=opened + datetime.timedelta(hours=1, minutes=8),
        )
        case.judgement_points.set([points[n % 2]])
        override = n % 3 == 0
        DecisionFactory(
            case=case,
            reviewer=rhea,
            authority_level=level,
            outcome=DecisionOutcome.REJECT if override else DecisionOutcome.APPROVE,
            is_override=override,
            override_reason=reason if override else None,
            rationale="Policy." if override else "",
            decided_at=case.decided_at,
        )
    return mark


def test_the_managers_home_and_dashboard_fit_a_laptop_screen(
    page, live_server, sign_in, manager, tmp_path
):
    page.set_viewport_size(WINDOW)
    sign_in(page, "mark")

    home = page.locator("#manager-home")
    expect(home.get_by_role("link", name="Resume automation")).to_be_visible()
    expect(home.get_by_role("link", name="Pause automation")).to_be_visible()
    expect(home.get_by_text("Paused by a person")).to_be_visible()
    expect(home.get_by_role("link", name="Rhea Stone")).to_be_visible()
    expect(home.get_by_role("link", name="Extend")).to_be_visible()
    expect(page.get_by_role("link", name="Gate evaluations")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= WINDOW["width"]
    page.screenshot(path=tmp_path / "manager-home.png", full_page=True)

    home.get_by_role("link", name="Oversight dashboard").click()
    expect(page.get_by_role("heading", name="Overall")).to_be_visible()
    expect(page.get_by_text("median 1 h 8 min")).to_be_visible()
    assert page.evaluate(LABELS_OUTSIDE) == []
    bars = page.locator('svg[aria-label="Override rate per judgement point"]')
    shortened = bars.locator("text", has_text="Refunds / Refund above the customer's…")
    expect(shortened).to_have_count(1)
    assert shortened.locator("title").text_content() == f"Refunds / {LONG_POINT}"
    assert page.evaluate("document.documentElement.scrollWidth") <= WINDOW["width"]
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
