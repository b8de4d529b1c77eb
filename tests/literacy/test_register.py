"""The AI-literacy register: per-person status, coverage per AI system, filters, CSV, queries."""

import csv
import datetime
import io

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from literacy.selectors import literacy_register
from oversight.roles import COMPLIANCE_OFFICER, REVIEWER
from tests.factories import (
    AISystemFactory,
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    StaffUserFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("admin:literacy_trainingcompletion_register")


@pytest.fixture(autouse=True)
def today_is_1_june_2026():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def world():
    """Refund bot (one journey) and Chat bot; a level needing 'Oversight basics'."""
    level = AuthorityLevelFactory()
    version = TrainingModuleVersionFactory(
        module=TrainingModuleFactory(title="Oversight basics"),
        published_on=datetime.date(2025, 1, 1),
    )
    TrainingRequirementFactory(module=version.module, authority_level=level)
    refunds = JourneyFactory(ai_system=AISystemFactory(name="Refund bot"))
    chat = AISystemFactory(name="Chat bot")
    return level, version, refunds, chat


def overseer(level, version, *, journey=None, ai_system=None, trained=True, name=None):
    user = UserFactory(**({"username": name} if name else {}))
    AuthorityGrantFactory(
        user=user, level=level, journey=journey, ai_system=ai_system, sync_permissions=False
    )
    if trained:
        TrainingCompletionFactory(
            user=user, module_version=version, completed_on=datetime.date(2026, 3, 1)
        )
    return user


def test_rows_and_coverage_per_ai_system(world):
    level, version, refunds, chat = world
    ada = overseer(level, version, journey=refunds, name="ada")
    bob = overseer(level, version, journey=refunds, trained=False, name="bob")
    cyd = overseer(level, version, ai_system=chat, name="cyd")
    reviewers = Group.objects.get(name=REVIEWER)
    cyd.groups.add(reviewers)
    UserFactory(username="nobody")  # no grant, no required role: not listed

    register = literacy_register()

    rows = {row.user.username: row for row in register.rows}
    assert list(rows) == ["ada", "bob", "cyd"]
    assert [(s.title, s.state) for s in rows["bob"].statuses] == [("Oversight basics", "missing")]
    assert (rows["ada"].all_current, rows["bob"].all_current) == (True, False)
    assert rows["cyd"].roles == ["Reviewer"]
    assert rows["ada"].ai_systems == ["Refund bot"]
    coverage = {
        c.ai_system.name: (c.overseers, c.fully_trained, c.share) for c in register.coverage
    }
    assert coverage == {"Chat bot": (1, 1, 1.0), "Refund bot": (2, 1, 0.5)}

    by_system = literacy_register(ai_system=refunds.ai_system)
    assert [row.user for row in by_system.rows] == [ada, bob]
    assert [c.ai_system for c in by_system.coverage] == [refunds.ai_system]
    assert [row.user for row in literacy_register(group=reviewers).rows] == [cyd]


def test_admin_page_shows_the_register_and_filters(admin_client, world):
    level, version, refunds, chat = world
    overseer(level, version, journey=refunds, name="ada")
    overseer(level, version, ai_system=chat, trained=False, name="bob")

    page = admin_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Oversight basics: current (expires 2027-03-01)" in html
    assert "Oversight basics: missing" in html
    assert "<td>Refund bot</td><td>1</td><td>1</td>" in html
    assert "<td>Chat bot</td><td>1</td><td>0</td>" in html

    filtered = admin_client.get(URL, {"ai_system": str(chat.pk)})
    assert [row.user.username for row in filtered.context["register"].rows] == ["bob"]


def test_csv_export_has_the_same_rows_and_coverage(admin_client, world):
    level, version, refunds, chat = world
    overseer(level, version, journey=refunds, name="ada")

    response = admin_client.get(URL, {"format": "csv"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="literacy-register-2026-06-01.csv"' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == [
        "person", "roles", "oversees", "required", "status", "expires_on", "all_current"
    ]  # fmt: skip
    assert lines[1] == ["ada", "", "Refund bot", "Oversight basics", "current", "2027-03-01", "yes"]
    assert ["Refund bot", "1", "1", "1.00"] in lines
    assert ["Chat bot", "0", "0", ""] in lines


def test_people_without_view_permission_are_refused(client, world):
    user = StaffUserFactory()
    client.force_login(user)
    assert client.get(URL).status_code == 403
    officer = StaffUserFactory()
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("people", [3, 30])
def test_the_page_query_count_does_not_grow_with_people(admin_client, world, people):
    level, version, refunds, chat = world
    for n in range(people):
        overseer(
            level,
            version,
            journey=refunds if n % 2 else None,
            ai_system=chat if not n % 2 else None,
        )
    admin_client.get(URL)  # warm caches (content types, session)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(URL)

    assert response.status_code == 200
    assert len(response.context["register"].rows) == people
    assert len(queries) == 17
