"""Incidents the product suggests: only from automated actions reversed with a complaint, and
only a person's confirmation makes one an incident (with its clock)."""

import datetime

import pytest
import time_machine

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.models import Incident, IncidentClass, IncidentState, Route
from oversight.services.incidents import advance_incident
from oversight.services.incidents.suggestions import suggest_incidents
from tests import factories
from tests.oversight.incidents.world import incident_world

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 9, 15, 10, 0, tzinfo=datetime.UTC)
S = IncidentState


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield incident_world()


def automated(w, route=Route.AUTOMATE):
    journey = factories.JourneyFactory(ai_system=w.system)
    return factories.GateEvaluationFactory(journey=journey, route=route, subject_ref="cust-77")


def test_an_automated_action_reversed_with_a_complaint_is_suggested_once(w):
    evaluation = automated(w)
    factories.OutcomeFactory(case=None, evaluation=evaluation, reversed=True)
    factories.OutcomeFactory(case=None, evaluation=evaluation, complaint=True)

    first = suggest_incidents()
    again = suggest_incidents()

    assert len(first) == 1 and again == []
    suggestion = first[0]
    assert suggestion.state == S.SUGGESTED
    assert suggestion.deadline is None and suggestion.raised_by is None
    assert suggestion.ai_system == w.system
    assert "cust-77" in suggestion.affected
    event = AuditEvent.objects.get(action="incident.suggested")
    assert event.payload["evaluation"] == str(evaluation.pk)


@pytest.mark.parametrize(
    ("route", "signals"),
    [
        (Route.AUTOMATE, {"reversed": True}),  # reversed, no complaint
        (Route.AUTOMATE, {"complaint": True}),  # complaint, not reversed
        (Route.HUMAN, {"reversed": True, "complaint": True}),  # a person decided
    ],
)
def test_other_patterns_are_not_suggested(w, route, signals):
    evaluation = automated(w, route)
    factories.OutcomeFactory(case=None, evaluation=evaluation, **signals)

    assert suggest_incidents() == []
    assert Incident.objects.count() == 0


def one_suggestion(w):
    evaluation = automated(w)
    factories.OutcomeFactory(case=None, evaluation=evaluation, reversed=True, complaint=True)
    return suggest_incidents()[0]


def test_a_person_confirms_a_suggestion_and_only_then_the_clock_starts(w):
    suggestion = one_suggestion(w)
    later = NOW + datetime.timedelta(hours=3)

    with time_machine.travel(later, tick=False):
        incident = advance_incident(
            incident=suggestion,
            by=w.officer,
            to_state=S.SUSPECTED,
            incident_class=IncidentClass.WIDESPREAD,
        )

    assert incident.state == S.SUSPECTED
    assert incident.raised_by == w.officer
    assert incident.became_aware_at == later
    assert incident.deadline == later + datetime.timedelta(days=2)
    event = AuditEvent.objects.get(action="incident.state_changed")
    assert (event.payload["from"], event.payload["to"]) == (S.SUGGESTED, S.SUSPECTED)


def test_a_suggestion_is_dismissed_only_with_a_note_and_never_suggested_again(w):
    suggestion = one_suggestion(w)

    with pytest.raises(InvalidInput, match="needs a note"):
        advance_incident(incident=suggestion, by=w.officer, to_state=S.DISMISSED)
    assert Incident.objects.get(pk=suggestion.pk).state == S.SUGGESTED

    dismissed = advance_incident(
        incident=suggestion, by=w.officer, to_state=S.DISMISSED, note="Goodwill refund only."
    )

    assert dismissed.state == S.DISMISSED and dismissed.deadline is None
    assert suggest_incidents() == []


def test_a_reviewer_may_not_confirm_a_suggestion(w):
    suggestion = one_suggestion(w)
    events = AuditEvent.objects.count()

    with pytest.raises(NotAllowed):
        advance_incident(incident=suggestion, by=w.reviewer, to_state=S.SUSPECTED)

    assert Incident.objects.get(pk=suggestion.pk).state == S.SUGGESTED
    assert AuditEvent.objects.count() == events
