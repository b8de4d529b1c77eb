"""Raising and moving serious incidents: permissions, forward-only states, history, ledger."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from oversight.exceptions import InvalidInput, NotAllowed, StaleState
from oversight.models import Incident, IncidentClass, IncidentSource, IncidentState
from oversight.services.incidents import advance_incident, move_deadline
from tests import factories
from tests.oversight.incidents.world import incident_world, raise_one

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 9, 15, 10, 0, tzinfo=datetime.UTC)
S = IncidentState


@pytest.fixture
def w():
    with time_machine.travel(NOW, tick=False):
        yield incident_world()


def counts():
    return (
        Incident.objects.count(),
        Incident.history.count(),
        AuditEvent.objects.filter(action__startswith="incident.").count(),
    )


def snapshot(incident):
    row = Incident.objects.get(pk=incident.pk)
    return (
        row.state,
        row.deadline,
        row.deadline_reason,
        row.reported_to_authority_at,
        row.history.count(),
        AuditEvent.objects.count(),
    )


def test_a_compliance_officer_raises_an_incident_from_a_case_and_the_clock_starts(w):
    with time_machine.travel(NOW, tick=False):
        incident = raise_one(w)

    assert incident.state == S.SUSPECTED
    assert incident.became_aware_at == NOW
    assert incident.deadline == NOW + datetime.timedelta(days=15)  # UTC: no clock change
    assert list(incident.related_cases.all()) == [w.case]
    assert incident.history.get().history_user == w.officer
    event = AuditEvent.objects.get(action="incident.raised")
    assert event.actor_label == w.officer.username
    assert event.payload["deadline"].startswith("2026-09-30T10:00")
    assert event.payload["related_cases"] == [str(w.case.pk)]


def test_a_manager_raises_on_a_system_they_manage_from_a_decision_outcome_or_breach(w):
    decision = factories.DecisionFactory(case=w.case)
    outcome = factories.OutcomeFactory(case=w.case, complaint=True)
    breach = factories.GuardrailEvaluationFactory(
        guardrail=factories.GuardrailFactory(journey=w.case.journey), breached=True
    )
    raised = [
        raise_one(w, by=w.manager, source=IncidentSource.DECISION, case=None, decision=decision),
        raise_one(w, by=w.manager, source=IncidentSource.OUTCOME, case=None, outcome=outcome),
        raise_one(
            w,
            by=w.manager,
            source=IncidentSource.GUARDRAIL,
            case=None,
            guardrail_evaluation=breach,
        ),
    ]

    assert [list(i.related_cases.all()) for i in raised] == [[w.case], [w.case], []]
    assert raised[2].source_guardrail_evaluation == breach


@pytest.mark.parametrize("who", ["reviewer", "trainer", "other_manager"])
def test_people_without_the_role_or_scope_may_not_raise_and_nothing_changes(w, who):
    before = counts()

    with pytest.raises(NotAllowed, match="compliance officer or a manager of Refund assistant"):
        raise_one(w, by=getattr(w, who))

    assert counts() == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "  "}, "The title is required"),
        ({"affected": ""}, "Who was affected is required"),
        ({"incident_class": "minor"}, "Unknown incident class"),
        ({"source": "suggestion"}, "Raise an incident from a case"),
        ({"case": None}, "Name the case it arose from"),
        ({"time_zone": "Mars/Olympus"}, "is not a time zone name"),
        ({"became_aware_at": NOW + datetime.timedelta(hours=1)}, "is in the future"),
        ({"became_aware_at": datetime.datetime(2026, 9, 1, 8, 0)}, "must carry its time zone"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_changes(w, overrides, message):
    before = counts()

    with time_machine.travel(NOW, tick=False), pytest.raises(InvalidInput, match=message):
        raise_one(w, **overrides)

    assert counts() == before


def test_a_source_or_related_case_of_another_ai_system_is_refused(w):
    before = counts()

    with pytest.raises(InvalidInput, match="is not of Refund assistant"):
        raise_one(w, case=w.other_case)
    with pytest.raises(InvalidInput, match="is not of Refund assistant"):
        raise_one(w, related_cases=[w.other_case])

    assert counts() == before


def test_a_guardrail_evaluation_that_was_no_breach_is_refused(w):
    calm = factories.GuardrailEvaluationFactory(
        guardrail=factories.GuardrailFactory(journey=w.case.journey), breached=False
    )
    before = counts()

    with pytest.raises(InvalidInput, match="was not a breach"):
        raise_one(w, source=IncidentSource.GUARDRAIL, case=None, guardrail_evaluation=calm)

    assert counts() == before


def test_the_full_path_forward_keeps_each_step_in_history_and_the_ledger(w):
    with time_machine.travel(NOW, tick=False):
        incident = raise_one(w, incident_class=IncidentClass.DEATH)
    later = NOW + datetime.timedelta(days=2)
    with time_machine.travel(later, tick=False):
        incident = advance_incident(incident=incident, by=w.officer, to_state=S.CONFIRMED)
        incident = advance_incident(
            incident=incident, by=w.manager, to_state=S.REPORTED_TO_PROVIDER
        )
        incident = advance_incident(
            incident=incident,
            by=w.officer,
            to_state=S.REPORTED_TO_AUTHORITY,
            authority_reference="MSA-2026-0042",
        )
        incident = advance_incident(
            incident=incident, by=w.officer, to_state=S.CLOSED, note="Final report sent."
        )

    assert incident.state == S.CLOSED
    assert incident.reported_to_provider_at == later
    assert incident.reported_to_authority_at == later
    assert incident.deadline_met is True
    states = list(incident.history.order_by("history_id").values_list("state", flat=True))
    assert states == [S.SUSPECTED, S.CONFIRMED, S.REPORTED_TO_PROVIDER,
                      S.REPORTED_TO_AUTHORITY, S.CLOSED]  # fmt: skip
    steps = AuditEvent.objects.filter(action="incident.state_changed").order_by("sequence")
    assert [(e.payload["from"], e.payload["to"]) for e in steps] == [
        (S.SUSPECTED, S.CONFIRMED),
        (S.CONFIRMED, S.REPORTED_TO_PROVIDER),
        (S.REPORTED_TO_PROVIDER, S.REPORTED_TO_AUTHORITY),
        (S.REPORTED_TO_AUTHORITY, S.CLOSED),
    ]
    assert steps[2].payload["deadline_met"] is True
    assert steps[1].actor_label == w.manager.username


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], S.REPORTED_TO_PROVIDER),  # skipping confirmation
        ([S.CONFIRMED], S.SUSPECTED),  # backwards
        ([S.CONFIRMED, S.REPORTED_TO_PROVIDER], S.CONFIRMED),
        ([], "nonsense"),
    ],
)
def test_a_step_that_is_not_forward_is_refused_and_nothing_changes(w, path, target):
    incident = raise_one(w)
    for state in path:
        incident = advance_incident(incident=incident, by=w.officer, to_state=state)
    before = snapshot(incident)

    with pytest.raises(StaleState, match="cannot become"):
        advance_incident(incident=incident, by=w.officer, to_state=target)

    assert snapshot(incident) == before


def test_documented_steps_need_a_note(w):
    incident = raise_one(w)
    before = snapshot(incident)

    with pytest.raises(InvalidInput, match="needs a note"):
        advance_incident(incident=incident, by=w.officer, to_state=S.CLOSED)
    assert snapshot(incident) == before

    closed = advance_incident(
        incident=incident, by=w.officer, to_state=S.CLOSED, note="No harm: a test order."
    )
    assert closed.state == S.CLOSED
    assert closed.note == "No harm: a test order."


def test_telling_the_authority_without_the_provider_is_a_documented_skip(w):
    incident = advance_incident(incident=raise_one(w), by=w.officer, to_state=S.CONFIRMED)
    before = snapshot(incident)

    with pytest.raises(InvalidInput, match="needs a note"):
        advance_incident(
            incident=incident, by=w.officer, to_state=S.REPORTED_TO_AUTHORITY,
            authority_reference="X-1",
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="reference for the report is required"):
        advance_incident(
            incident=incident, by=w.officer, to_state=S.REPORTED_TO_AUTHORITY,
            note="The provider could not be reached (Art. 26(5)).",
        )  # fmt: skip
    assert snapshot(incident) == before

    reported = advance_incident(
        incident=incident,
        by=w.officer,
        to_state=S.REPORTED_TO_AUTHORITY,
        note="The provider could not be reached (Art. 26(5)).",
        authority_reference="MSA-7",
    )
    assert reported.state == S.REPORTED_TO_AUTHORITY
    assert reported.authority_reference == "MSA-7"


def test_a_report_dated_in_the_future_or_before_awareness_is_refused(w):
    with time_machine.travel(NOW, tick=False):
        incident = advance_incident(incident=raise_one(w), by=w.officer, to_state=S.CONFIRMED)
        before = snapshot(incident)
        for moment, message in (
            (NOW + datetime.timedelta(days=1), "in the future"),
            (NOW - datetime.timedelta(days=1), "before the moment of awareness"),
        ):
            with pytest.raises(InvalidInput, match=message):
                advance_incident(
                    incident=incident, by=w.officer, to_state=S.REPORTED_TO_PROVIDER, at=moment
                )
    assert snapshot(incident) == before


def test_a_late_report_to_the_authority_is_recorded_as_deadline_missed(w):
    with time_machine.travel(NOW, tick=False):
        incident = raise_one(w, incident_class=IncidentClass.WIDESPREAD)
        incident = advance_incident(incident=incident, by=w.officer, to_state=S.CONFIRMED)
    with time_machine.travel(NOW + datetime.timedelta(days=3), tick=False):
        assert Incident.objects.get(pk=incident.pk).is_overdue()
        incident = advance_incident(
            incident=incident, by=w.officer, to_state=S.REPORTED_TO_PROVIDER
        )
        incident = advance_incident(
            incident=incident, by=w.officer, to_state=S.REPORTED_TO_AUTHORITY,
            authority_reference="MSA-9",
        )  # fmt: skip

    assert incident.deadline_met is False
    assert not incident.is_overdue()
    event = AuditEvent.objects.filter(action="incident.state_changed").latest("sequence")
    assert event.payload["deadline_met"] is False


@pytest.mark.parametrize("who", ["reviewer", "other_manager"])
def test_people_without_the_role_or_scope_may_not_move_an_incident(w, who):
    incident = raise_one(w)
    before = snapshot(incident)

    with pytest.raises(NotAllowed):
        advance_incident(incident=incident, by=getattr(w, who), to_state=S.CONFIRMED)
    with pytest.raises(NotAllowed):
        move_deadline(
            incident=incident,
            by=getattr(w, who),
            deadline=incident.deadline + datetime.timedelta(days=1),
            reason="More time",
        )

    assert snapshot(incident) == before


def test_the_deadline_moves_only_with_a_recorded_reason(w):
    incident = raise_one(w)
    old = incident.deadline
    new = old - datetime.timedelta(days=5)
    before = snapshot(incident)

    with pytest.raises(InvalidInput, match="reason for moving the deadline is required"):
        move_deadline(incident=incident, by=w.officer, deadline=new, reason="  ")
    with pytest.raises(InvalidInput, match="is the current one"):
        move_deadline(incident=incident, by=w.officer, deadline=old, reason="Same")
    with pytest.raises(InvalidInput, match="with its time zone"):
        move_deadline(
            incident=incident, by=w.officer, deadline=new.replace(tzinfo=None), reason="Naive"
        )
    assert snapshot(incident) == before

    moved = move_deadline(
        incident=incident,
        by=w.officer,
        deadline=new,
        reason="Death confirmed later: the 10-day clock applies from awareness.",
    )

    assert moved.deadline == new
    assert moved.deadline_reason.startswith("Death confirmed later")
    latest = moved.history.order_by("-history_id").first()
    assert (latest.deadline, latest.history_user) == (new, w.officer)
    event = AuditEvent.objects.get(action="incident.deadline_moved")
    assert event.payload["reason"].startswith("Death confirmed later")
    assert event.payload["from"].startswith(timezone.localtime(old).strftime("%Y-%m-%d"))


def test_the_deadline_of_a_reported_incident_is_final(w):
    incident = advance_incident(incident=raise_one(w), by=w.officer, to_state=S.CONFIRMED)
    incident = advance_incident(
        incident=incident, by=w.officer, to_state=S.REPORTED_TO_AUTHORITY, note="Provider gone",
        authority_reference="R-1",
    )  # fmt: skip
    before = snapshot(incident)

    with pytest.raises(StaleState, match="its deadline is final"):
        move_deadline(
            incident=incident,
            by=w.officer,
            deadline=incident.deadline + datetime.timedelta(days=1),
            reason="Too late now",
        )

    assert snapshot(incident) == before


def test_who_handles_which_ai_systems(w):
    from oversight.services.incidents import ai_systems_handled_by

    handled = {
        who: set(ai_systems_handled_by(getattr(w, who)))
        for who in ("officer", "manager", "reviewer", "trainer", "admin")
    }

    assert handled["officer"] == handled["admin"] == {w.system, w.other_system}
    assert handled["manager"] == {w.system}
    assert handled["reviewer"] == handled["trainer"] == set()


@pytest.mark.postgres
def test_moving_through_the_services_passes_the_databases_history_check(postgres_only, w):
    from django.db import connection

    incident = raise_one(w)
    incident = advance_incident(incident=incident, by=w.officer, to_state=S.CONFIRMED)
    move_deadline(
        incident=incident,
        by=w.officer,
        deadline=incident.deadline - datetime.timedelta(days=1),
        reason="Checked",
    )

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # raises if a row lacks its history
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert Incident.history.filter(id=incident.pk).count() == 3
