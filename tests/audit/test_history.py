"""Evidence history: any object as it was at a moment, and field-level changes in the admin."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from audit.history import as_of
from audit.models import AuditEvent
from oversight.models import AuthorityLevel, Journey
from tests.factories import AuthorityLevelFactory, JourneyFactory, SuperUserFactory

pytestmark = pytest.mark.django_db

MARCH = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
APRIL = datetime.datetime(2026, 4, 1, 9, 0, tzinfo=datetime.UTC)
MAY = datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def level():
    """A level created in March, renamed and raised in April, current values since."""
    with time_machine.travel(MARCH, tick=False):
        level = AuthorityLevelFactory(name="Reviewer", rank=1, monetary_limit=100)
    with time_machine.travel(APRIL, tick=False):
        level.name = "Senior reviewer"
        level.monetary_limit = 500
        level.save()
    return level


def test_an_instance_is_rebuilt_with_the_values_it_had_then(level):
    in_march = as_of(level, MARCH + datetime.timedelta(days=1))
    in_may = as_of(level, MAY)

    assert (in_march.pk, in_march.name, in_march.monetary_limit) == (level.pk, "Reviewer", 100)
    assert (in_may.name, in_may.monetary_limit) == ("Senior reviewer", 500)
    assert isinstance(in_march, AuthorityLevel)


def test_an_instance_that_did_not_exist_yet_is_none(level):
    assert as_of(level, MARCH - datetime.timedelta(seconds=1)) is None


def test_a_model_gives_every_object_as_it_was_then(level):
    with time_machine.travel(MAY, tick=False):
        AuthorityLevelFactory(name="Manager", rank=2)

    in_march = as_of(AuthorityLevel, MARCH + datetime.timedelta(days=1))
    in_may = as_of(AuthorityLevel, MAY)

    assert sorted(obj.name for obj in in_march) == ["Reviewer"]
    assert sorted(obj.name for obj in in_may) == ["Manager", "Senior reviewer"]
    assert in_may.filter(name="Manager").count() == 1  # still a queryset


def test_it_reads_history_even_after_the_current_row_changed_behind_its_back(level):
    # A change that skipped the history (QuerySet.update) does not rewrite the past.
    AuthorityLevel.objects.filter(pk=level.pk).update(name="Renamed quietly")
    assert as_of(level, MAY).name == "Senior reviewer"


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware datetime"):
        as_of(AuthorityLevel, datetime.datetime(2026, 3, 1))


def test_a_model_without_history_is_refused():
    with pytest.raises(TypeError, match="audit.AuditEvent keeps no history"):
        as_of(AuditEvent, MAY)


def test_the_admin_history_lists_each_change_field_by_field(client):
    with time_machine.travel(MARCH, tick=False):
        journey = JourneyFactory(name="Refunds", description="Small refunds")
    with time_machine.travel(APRIL, tick=False):
        journey.name = "Refunds <EU>"
        journey.save()
    client.force_login(SuperUserFactory())

    response = client.get(reverse("admin:oversight_journey_history", args=[journey.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Refunds &lt;EU&gt;" in html  # escaped
    newest, oldest = response.context["page_obj"]
    assert newest.history_delta_changes == [
        {"field": "Name", "old": "Refunds", "new": "Refunds &lt;EU&gt;"}
    ]
    assert "<strong>Name:</strong>" in html  # the "Changes" column shows it
    assert not hasattr(oldest, "history_delta_changes")  # created: nothing before it
    assert Journey.history.filter(id=journey.pk).count() == 2
