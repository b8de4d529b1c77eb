"""Recording training: expiry derived, pass decided by the pass mark, refusals change nothing."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from literacy.expiry import add_months
from literacy.models import TrainingCompletion
from literacy.services.completions import correct_completion, record_completion
from oversight.exceptions import InvalidInput, NotAllowed
from oversight.roles import TRAINER
from tests.factories import TrainingModuleVersionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime.date(2026, 1, 31), 1, datetime.date(2026, 2, 28)),
        (datetime.date(2028, 1, 31), 1, datetime.date(2028, 2, 29)),
        (datetime.date(2028, 2, 29), 12, datetime.date(2029, 2, 28)),
        (datetime.date(2026, 11, 30), 3, datetime.date(2027, 2, 28)),
        (datetime.date(2026, 5, 15), 12, datetime.date(2027, 5, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.fixture
def trainer():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=TRAINER))
    return user


def counts():
    return (
        TrainingCompletion.objects.count(),
        TrainingCompletion.history.count(),
        AuditEvent.objects.count(),
    )


@time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_recording_derives_expiry_and_pass_and_is_audited(trainer):
    version = TrainingModuleVersionFactory(validity_months=12, pass_mark=80)
    learner = UserFactory()
    completion = record_completion(
        user=learner,
        module_version=version,
        completed_on=datetime.date(2026, 5, 31),
        score=Decimal("85"),
        recorded_by=trainer,
    )
    assert completion.passed is True
    assert completion.expires_on == datetime.date(2027, 5, 31)
    assert completion.recorded_by == trainer
    assert completion.history.first().history_user == trainer
    event = AuditEvent.objects.get(action="training.recorded")
    assert event.object_id == str(completion.pk)
    assert event.payload["after"]["score"] == "85.00"


@time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize(
    ("completed_on", "score", "message"),
    [
        (datetime.date(2026, 6, 2), Decimal("90"), "is in the future"),
        (datetime.date(2026, 5, 1), Decimal("150"), "between 0 and 100"),
        (datetime.date(2026, 5, 1), None, "Give a score"),
    ],
)
def test_bad_completion_is_refused_and_nothing_changes(trainer, completed_on, score, message):
    version = TrainingModuleVersionFactory()
    before = counts()
    with pytest.raises(InvalidInput, match=message):
        record_completion(
            user=UserFactory(),
            module_version=version,
            completed_on=completed_on,
            score=score,
            recorded_by=trainer,
        )
    assert counts() == before


def test_recording_without_permission_is_refused():
    version = TrainingModuleVersionFactory()
    before = counts()
    with pytest.raises(NotAllowed, match="may not record"):
        record_completion(
            user=UserFactory(),
            module_version=version,
            completed_on=datetime.date(2026, 1, 5),
            score=Decimal("90"),
            recorded_by=UserFactory(),
        )
    assert counts() == before


def test_a_correction_is_a_new_version_with_the_old_values_kept(trainer):
    version = TrainingModuleVersionFactory(pass_mark=80)
    completion = record_completion(
        user=UserFactory(),
        module_version=version,
        completed_on=datetime.date(2026, 1, 5),
        score=Decimal("70"),
        recorded_by=trainer,
    )
    assert completion.passed is False
    corrected = correct_completion(
        completion=completion,
        corrected_by=trainer,
        completed_on=datetime.date(2026, 1, 5),
        score=Decimal("82"),
    )
    assert corrected.passed is True
    assert [h.score for h in corrected.history.order_by("history_date")] == [
        Decimal("70"),
        Decimal("82"),
    ]
    event = AuditEvent.objects.get(action="training.corrected")
    assert event.payload["before"]["score"] == "70.00"
    assert event.payload["after"]["score"] == "82.00"
