"""The pages load under the Content-Security-Policy with nothing refused: Chromium reports each
refusal on the console ("Refused to ... because it violates the following Content Security
Policy directive") and as a `securitypolicyviolation` event; both are listened to."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from oversight.roles import COMPLIANCE_OFFICER
from tests.factories import UserFactory

# serialized_rollback: the roles (groups) come from a data migration, which the flush after
# each transaction=True test would otherwise leave empty for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


class CspWatch:
    """What the browser refused on this page, from its console and from the DOM events."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._heard)

    def _heard(self, message):
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        return self.console + self.page.evaluate("window.__cspViolations")


def test_the_login_page_and_the_admin_home_load_with_nothing_refused(page, live_server):
    user = UserFactory(username="olivia", is_staff=True)
    user.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    watch = CspWatch(page)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert watch.violations() == []

    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    page.wait_for_load_state("load")
    expect(page.locator(".compliance-home")).to_be_visible()
    assert watch.violations() == []

    # The watch hears a refusal when there is one: an inline script without the nonce.
    page.evaluate(
        "document.body.append(Object.assign(document.createElement('script'),"
        " {textContent: 'window.__ran = true'}))"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in violation for violation in watch.violations())
