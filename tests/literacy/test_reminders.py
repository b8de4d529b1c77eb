"""Training expiry reminders: once per threshold per completion, to the person and managers."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django_q.models import Schedule
from guardian.shortcuts import assign_perm

from audit.models import AuditEvent
from literacy.models import TrainingReminder
from literacy.services.reminders import send_training_reminders
from literacy.tasks import send_training_reminders as task
from oversight.roles import MANAGER
from tests.factories import (
    AuthorityGrantFactory,
    AuthorityLevelFactory,
    JourneyFactory,
    TrainingCompletionFactory,
    TrainingModuleFactory,
    TrainingModuleVersionFactory,
    TrainingRequirementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def on(year, month, day):
    return time_machine.travel(
        datetime.datetime(year, month, day, 6, tzinfo=datetime.UTC), tick=False
    )


@pytest.fixture
def setup():
    """Ada holds a grant on a refunds journey whose level needs 'Oversight basics'; her
    completion expires on 30 June 2026. Max manages the AI system; Mo manages another one."""
    level = AuthorityLevelFactory()
    module = TrainingModuleFactory(title="Oversight basics")
    version = TrainingModuleVersionFactory(module=module, published_on=datetime.date(2025, 1, 1))
    TrainingRequirementFactory(module=module, authority_level=level)
    journey = JourneyFactory()
    ada = UserFactory(username="ada", email="ada@example.com")
    with on(2025, 6, 1):
        AuthorityGrantFactory(user=ada, level=level, journey=journey, sync_permissions=False)
    completion = TrainingCompletionFactory(
        user=ada, module_version=version, completed_on=datetime.date(2025, 6, 30)
    )
    managers = Group.objects.get(name=MANAGER)
    max_ = UserFactory(username="max", email="max@example.com")
    max_.groups.add(managers)
    assign_perm("oversight.manage_authority_ai_system", max_, journey.ai_system)
    mo = UserFactory(username="mo", email="mo@example.com")
    mo.groups.add(managers)
    assign_perm("oversight.manage_authority_ai_system", mo, JourneyFactory().ai_system)
    return completion


def test_the_daily_schedule_exists():
    schedule = Schedule.objects.get(name="Training expiry reminders")
    assert (schedule.func, schedule.schedule_type) == (
        "literacy.tasks.send_training_reminders",
        Schedule.DAILY,
    )


def test_each_threshold_sends_once_to_the_person_and_their_managers(setup, settings):
    settings.TRAINING_REMINDER_DAYS = [30, 7]
    with on(2026, 5, 30):  # 31 days left: nothing yet
        assert send_training_reminders() == 0
    with on(2026, 5, 31):
        assert send_training_reminders() == 1
        assert send_training_reminders() == 0
    [message] = mail.outbox
    assert (message.to, message.cc) == (["ada@example.com"], ["max@example.com"])
    assert message.subject == "Training expiring: Oversight basics"
    assert "- Oversight basics: expires on 2026-06-30 (in 30 days)" in message.body
    reminder = TrainingReminder.objects.get()
    assert (reminder.completion, reminder.threshold_days) == (setup, 30)
    assert reminder.recipients == ["ada@example.com", "max@example.com"]

    with on(2026, 6, 1):
        assert send_training_reminders() == 0
    with on(2026, 6, 23):
        assert task() == "1 reminder(s) sent"
    with on(2026, 6, 24):
        assert send_training_reminders() == 0
    assert len(mail.outbox) == 2
    assert "(in 7 days)" in mail.outbox[1].body
    assert sorted(TrainingReminder.objects.values_list("threshold_days", flat=True)) == [7, 30]
    assert AuditEvent.objects.filter(action="training.reminders_sent").count() == 2


def test_first_seen_inside_several_thresholds_sends_one_email_recording_each(setup, settings):
    settings.TRAINING_REMINDER_DAYS = [30, 7]
    with on(2026, 6, 29):
        assert send_training_reminders() == 1
        assert send_training_reminders() == 0
    assert "(in 1 day)" in mail.outbox[0].body
    assert sorted(TrainingReminder.objects.values_list("threshold_days", flat=True)) == [7, 30]


def test_expired_training_and_people_not_required_get_nothing(setup, settings):
    settings.TRAINING_REMINDER_DAYS = [30]
    # Bea completed the same module but holds no grant or role that requires it.
    TrainingCompletionFactory(
        user=UserFactory(email="bea@example.com"),
        module_version=setup.module_version,
        completed_on=datetime.date(2025, 6, 30),
    )
    with on(2026, 6, 30):  # Ada's expired today
        assert send_training_reminders() == 0
    assert mail.outbox == []
    assert not TrainingReminder.objects.exists()


def test_thresholds_come_from_the_setting(setup, settings):
    settings.TRAINING_REMINDER_DAYS = [14]
    with on(2026, 6, 1):
        assert send_training_reminders() == 0
    with on(2026, 6, 16):
        assert send_training_reminders() == 1
    assert TrainingReminder.objects.get().threshold_days == 14
