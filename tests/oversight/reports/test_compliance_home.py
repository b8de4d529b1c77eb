"""The compliance officer's admin home: ordering, recent requests, verifying; nothing hidden
that they may view."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group

from audit.models import VerificationTrigger
from audit.services.verification import run_verification
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from tests.factories import AISystemFactory, IssuedReportFactory, ReportRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def person(role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_home_puts_the_officers_work_first(client, django_assert_max_num_queries):
    officer = person(COMPLIANCE_OFFICER)
    client.force_login(officer)
    AISystemFactory(slug="support-assistant", name="Support assistant")
    done = IssuedReportFactory(
        request__kind="oversight",
        request__params={"system": "support-assistant", "start": "2026-05-01", "end": "2026-05-31"},
    )
    ReportRequestFactory(status="running", progress=40)
    run_verification(triggered_by=VerificationTrigger.SCHEDULE)
    client.get("/admin/")

    with django_assert_max_num_queries(20):
        page = client.get("/admin/").content.decode()

    home = page.index('class="compliance-home"')
    assert home < page.index('class="app-oversight')
    for kind in ["oversight", "authority", "literacy", "dossier"]:
        assert f'href="/admin/oversight/reportrequest/order/{kind}/"' in page
    assert "AI system: Support assistant (support-assistant)" in page
    assert f'href="/admin/oversight/issuedreport/{done.pk}/download/">Download PDF' in page
    assert "Running (40 %)" in page
    assert 'href="/admin/oversight/issuedreport/verify/">Verify a PDF' in page
    assert 'href="/admin/audit/auditevent/verify/">Verify the ledger' in page
    assert "(Daily schedule):" in page and ">OK</strong>" in page


def test_every_list_the_officer_may_view_is_still_linked_from_the_home(client):
    officer = person(COMPLIANCE_OFFICER)
    client.force_login(officer)

    response = client.get("/admin/")

    listed = {
        f"{app['app_label']}.view_{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    viewable = {perm for perm in officer.get_all_permissions() if ".view_" in perm}
    viewable.discard("oversight.view_all_cases")  # a scope, not a model
    assert viewable <= listed
    page = response.content.decode()
    assert "django_q" not in page


def test_a_reviewer_sees_no_compliance_panel(client):
    client.force_login(person(REVIEWER))

    page = client.get("/admin/").content.decode()

    assert "compliance-home" not in page
    assert "/admin/oversight/issuedreport/verify/" not in page
