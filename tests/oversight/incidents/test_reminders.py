"""Reminders before each incident deadline: once per threshold, to the right people."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from oversight.models import IncidentClass, IncidentReminder, IncidentState
from oversight.services.incidents import advance_incident, move_deadline
from oversight.services.incidents.reminders import send_incident_reminders
from tests.oversight.incidents.world import incident_world, raise_one

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 9, 15, 10, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def w(settings):
    settings.INCIDENT_REMINDER_HOURS = [24, 4]
    with time_machine.travel(NOW, tick=False):
        world = incident_world()
        world.incident = raise_one(world, incident_class=IncidentClass.WIDESPREAD)
        yield world


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return send_incident_reminders(now=timezone.now())


def test_no_reminder_before_the_first_threshold(w, mailoutbox):
    assert run_at(NOW + 23 * HOUR) == 0  # 25 hours left
    assert mailoutbox == []


def test_one_email_per_threshold_to_officers_and_the_systems_managers(w, mailoutbox):
    deadline = w.incident.deadline

    sent = [run_at(deadline - 24 * HOUR), run_at(deadline - 23 * HOUR)]
    sent += [run_at(deadline - 4 * HOUR), run_at(deadline - 3 * HOUR)]

    assert sent == [1, 0, 1, 0]
    assert len(mailoutbox) == 2
    message = mailoutbox[0]
    assert sorted(message.to) == sorted([w.officer.email, w.manager.email])
    assert w.other_manager.email not in message.to and w.reviewer.email not in message.to
    assert "report due in 1 day" in message.subject
    assert "Refund assistant" in message.body and "Widespread" in message.body
    assert "4 h left" in mailoutbox[1].body
    assert set(IncidentReminder.objects.values_list("threshold_hours", flat=True)) == {24, 4}


def test_an_overdue_incident_gets_one_overdue_email(w, mailoutbox):
    after = w.incident.deadline + HOUR

    assert run_at(after) == 1
    assert run_at(after + HOUR) == 0

    assert len(mailoutbox) == 1  # first seen past every threshold: one e-mail records all
    assert mailoutbox[0].subject.startswith("Overdue:")
    assert "1 h overdue" in mailoutbox[0].body
    assert set(IncidentReminder.objects.values_list("threshold_hours", flat=True)) == {24, 4, 0}


def test_a_moved_deadline_gets_its_reminders_afresh(w, mailoutbox):
    assert run_at(w.incident.deadline - 3 * HOUR) == 1
    with time_machine.travel(w.incident.deadline - 3 * HOUR, tick=False):
        move_deadline(
            incident=w.incident,
            by=w.officer,
            deadline=w.incident.deadline + 2 * HOUR,
            reason="Authority granted an extension by phone (ref. T-3).",
        )

    assert run_at(w.incident.deadline - 2 * HOUR) == 1
    assert "extension by phone" in mailoutbox[-1].body


def test_reported_or_closed_incidents_get_no_reminder(w, mailoutbox):
    incident = advance_incident(incident=w.incident, by=w.officer, to_state="confirmed")
    advance_incident(
        incident=incident, by=w.officer, to_state=IncidentState.REPORTED_TO_AUTHORITY,
        note="Provider unreachable", authority_reference="A-1",
    )  # fmt: skip

    assert run_at(w.incident.deadline + HOUR) == 0
    assert mailoutbox == []


def test_the_hourly_schedules_exist_and_the_tasks_call_the_services(w, mailoutbox):
    from django_q.models import Schedule

    from oversight import tasks

    schedules = dict(
        Schedule.objects.filter(func__in=[
            "oversight.tasks.send_incident_reminders", "oversight.tasks.suggest_incidents",
        ]).values_list("func", "schedule_type")
    )  # fmt: skip
    assert schedules == {
        "oversight.tasks.send_incident_reminders": Schedule.HOURLY,
        "oversight.tasks.suggest_incidents": Schedule.HOURLY,
    }
    with time_machine.travel(w.incident.deadline - 3 * HOUR, tick=False):
        assert tasks.send_incident_reminders() == "1 reminder(s) sent"
        assert tasks.send_incident_reminders() == "0 reminder(s) sent"
        assert tasks.suggest_incidents() == "0 incident(s) suggested"
    assert len(mailoutbox) == 1
