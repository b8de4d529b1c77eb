"""Training completions in the admin: recorded and corrected only through the service."""

import datetime
import hashlib
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.history import history_token
from audit.models import AuditEvent
from literacy.models import TrainingCompletion
from literacy.services.completions import record_completion
from oversight.roles import COMPLIANCE_OFFICER, TRAINER
from tests.factories import StaffUserFactory, TrainingModuleVersionFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:literacy_trainingcompletion_add")


@pytest.fixture(autouse=True)
def today_is_1_june_2026():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def trainer():
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=TRAINER))
    return user


@pytest.fixture
def trainer_client(client, trainer):
    client.force_login(trainer)
    return client


@pytest.fixture
def version():
    return TrainingModuleVersionFactory(validity_months=12, pass_mark=80)


def counts():
    return (
        TrainingCompletion.objects.count(),
        TrainingCompletion.history.count(),
        AuditEvent.objects.count(),
    )


def test_trainer_records_a_completion_with_derived_fields_and_audit_event(
    trainer_client, trainer, version
):
    learner = UserFactory()

    response = trainer_client.post(
        ADD_URL,
        {
            "user": learner.pk,
            "module_version": version.pk,
            "completed_on": "2026-05-31",
            "score": "85",
            # Read-only fields: whatever is posted for them is ignored.
            "passed": "",
            "expires_on": "2030-01-01",
            "recorded_by": learner.pk,
        },
    )

    assert response.status_code == 302
    completion = TrainingCompletion.objects.get(user=learner)
    assert completion.recorded_by == trainer
    assert completion.passed is True
    assert completion.expires_on == datetime.date(2027, 5, 31)
    assert completion.history.get().history_user == trainer
    event = AuditEvent.objects.get(object_id=str(completion.pk))
    assert (event.action, event.actor_user) == ("training.recorded", trainer)
    assert response["Location"] == reverse("admin:literacy_trainingcompletion_changelist")


@pytest.mark.parametrize(
    ("completed_on", "score", "message"),
    [
        ("2026-06-02", "90", "The completion date 2026-06-02 is in the future."),
        (
            "2026-05-31",
            "150",
            "The score 150 is out of range: it must be between 0 and 100.",
        ),
        ("2026-05-31", "", "Give a score, or say whether the training was passed."),
    ],
)
def test_refused_completion_shows_the_message_and_saves_nothing(
    trainer_client, version, completed_on, score, message
):
    before = counts()

    response = trainer_client.post(
        ADD_URL,
        {
            "user": UserFactory().pk,
            "module_version": version.pk,
            "completed_on": completed_on,
            "score": score,
        },
    )

    assert response.status_code == 200
    assert message in response.context["adminform"].form.non_field_errors()
    assert message in response.content.decode()
    assert counts() == before


def test_result_without_score_is_recorded_as_given(trainer_client, version):
    learner = UserFactory()

    response = trainer_client.post(
        ADD_URL,
        {
            "user": learner.pk,
            "module_version": version.pk,
            "completed_on": "2026-05-31",
            "result_without_score": "passed",
        },
    )

    assert response.status_code == 302
    completion = TrainingCompletion.objects.get(user=learner)
    assert (completion.score, completion.passed) == (None, True)


def test_result_contradicting_the_score_is_refused(trainer_client, version):
    before = counts()

    response = trainer_client.post(
        ADD_URL,
        {
            "user": UserFactory().pk,
            "module_version": version.pk,
            "completed_on": "2026-05-31",
            "score": "50",
            "result_without_score": "passed",
        },
    )

    assert response.status_code == 200
    assert "means passed=False, not True" in response.content.decode()
    assert counts() == before


def test_evidence_is_stored_with_its_sha256(trainer_client, version, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = b"%PDF-1.4 certificate"
    learner = UserFactory()

    response = trainer_client.post(
        ADD_URL,
        {
            "user": learner.pk,
            "module_version": version.pk,
            "completed_on": "2026-05-31",
            "score": "90",
            "evidence": SimpleUploadedFile("certificate.pdf", content),
        },
    )

    assert response.status_code == 302
    completion = TrainingCompletion.objects.get(user=learner)
    assert completion.evidence_sha256 == hashlib.sha256(content).hexdigest()
    assert completion.evidence.read() == content


def test_correction_goes_through_the_service_and_keeps_the_old_values(
    trainer_client, trainer, version
):
    learner = UserFactory()
    completion = record_completion(
        user=learner,
        module_version=version,
        completed_on=datetime.date(2026, 5, 1),
        score=Decimal("70"),
        recorded_by=trainer,
    )
    url = reverse("admin:literacy_trainingcompletion_change", args=[completion.pk])

    response = trainer_client.post(
        url,
        {
            "completed_on": "2026-05-02",
            "score": "88",
            # The learner and module are read-only on a correction.
            "user": UserFactory().pk,
            "_loaded_version": history_token(completion),
        },
    )

    assert response.status_code == 302
    completion.refresh_from_db()
    assert (completion.user, completion.score, completion.passed) == (learner, 88, True)
    assert completion.expires_on == datetime.date(2027, 5, 2)
    assert completion.history.count() == 2
    assert completion.history.earliest().score == 70
    event = AuditEvent.objects.order_by("sequence").last()
    assert (event.action, event.actor_user) == ("training.corrected", trainer)


def test_refused_correction_changes_nothing(trainer_client, trainer, version):
    completion = record_completion(
        user=UserFactory(),
        module_version=version,
        completed_on=datetime.date(2026, 5, 1),
        score=Decimal("70"),
        recorded_by=trainer,
    )
    url = reverse("admin:literacy_trainingcompletion_change", args=[completion.pk])
    before = counts()

    response = trainer_client.post(url, {"completed_on": "2026-07-01", "score": "90"})

    assert response.status_code == 200
    assert "The completion date 2026-07-01 is in the future." in response.content.decode()
    assert counts() == before
    completion.refresh_from_db()
    assert (completion.completed_on, completion.score) == (datetime.date(2026, 5, 1), 70)


def test_compliance_officer_sees_completions_read_only(client, trainer, version):
    completion = record_completion(
        user=UserFactory(),
        module_version=version,
        completed_on=datetime.date(2026, 5, 1),
        score=Decimal("90"),
        recorded_by=trainer,
    )
    officer = StaffUserFactory()
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
    client.force_login(officer)
    url = reverse("admin:literacy_trainingcompletion_change", args=[completion.pk])

    page = client.get(url)

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(url, {"completed_on": "2026-05-02", "score": "95"}).status_code == 403
    assert client.get(ADD_URL).status_code == 403
