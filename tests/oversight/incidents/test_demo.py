"""The demo's incident register: one incident in each state, dated inside the 90-day story."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.services.ledger import verify_ledger
from oversight.models import Incident, IncidentState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_demo")]
S = IncidentState


def test_the_demo_holds_one_incident_in_each_state():
    states = sorted(Incident.objects.values_list("state", flat=True))

    expected = [S.SUSPECTED, S.CONFIRMED, S.REPORTED_TO_PROVIDER, S.REPORTED_TO_AUTHORITY, S.CLOSED]
    assert set(expected) <= set(states)
    assert all(states.count(state) == 1 for state in expected)
    assert S.SUGGESTED in states


def test_the_demo_incidents_are_dated_inside_the_story_and_in_order():
    now = timezone.now()
    for incident in Incident.objects.exclude(state=S.SUGGESTED):
        assert now - datetime.timedelta(days=90) < incident.became_aware_at < now
        assert incident.related_cases.exists()
        dates = list(incident.history.order_by("history_id").values_list("history_date", flat=True))
        assert dates == sorted(dates) and dates[-1] <= now
        assert dates[0] >= incident.became_aware_at
        for reported in (incident.reported_to_provider_at, incident.reported_to_authority_at):
            assert reported is None or incident.became_aware_at <= reported <= now
        if incident.reported_to_authority_at:
            assert incident.deadline_met is True
    assert verify_ledger().ok


def test_seeding_again_adds_no_incident():
    before = Incident.objects.count(), Incident.history.count()

    call_command("seed_demo", stdout=StringIO())

    assert (Incident.objects.count(), Incident.history.count()) == before
